"""Errors become a clear, translated message with the right status: JSON on the API, a page elsewhere."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from volunteers.errors import DomainError
from volunteers.web.views import translate, wants_json

# The only forms a stranger may post; every other POST needs a login.
OPEN_TO_STRANGERS = {"auth.login", "auth.set_language", "signup.create"}

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "unprocessable", 429: "throttled"}


def http_message(status: int) -> str:
    """A plain sentence for each HTTP status a person may meet."""
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You are not allowed to do that."),
        404: _("This page does not exist."),
        405: _("This address does not accept that kind of request."),
        409: _("This conflicts with what is already saved."),
        413: _("What you sent is too large."),
        415: _("This kind of content is not accepted here."),
        422: _("Some of what you entered is not valid."),
        429: _("Too many attempts. Please wait a little and try again."),
    }.get(status, _("Something went wrong on our side. Please try again later."))


def error_response(code: str, message: str, status: int):
    """The DESIGN.md error shape for the API, or the error page."""
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("errors/error.html", message=message, status=status), status


def init_app(app: Flask) -> None:
    """Register the handlers for domain errors, CSRF failures and HTTP errors."""

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        return error_response(err.code, translate(err.message, err.params), err.status)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        # Without a login the real answer is "log in" (401 JSON, HX-Redirect, or the login page), not "reload":
        # the CSRF check runs before login_required, and a caller with no session has no token to send.
        if not current_user.is_authenticated and request.endpoint not in OPEN_TO_STRANGERS:
            return app.login_manager.unauthorized()
        return error_response("csrf", _("The form has expired. Please reload the page and try again."), 400)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        status = err.code or 500
        return error_response(CODES.get(status, "error"), http_message(status), status)
