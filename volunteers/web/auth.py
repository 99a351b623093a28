"""Logging in and out by phone number, API tokens, and the language switch."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, jsonify, redirect, request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from volunteers import accounts, audit, people
from volunteers.models import User
from volunteers.web.extensions import get_session, htmx, login_manager
from volunteers.web.views import client_ip, page, render_page, submit, token_user, translate

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in user from the session or remember cookie ("<user id>:<login id>:<nonce>"), as long as the
    account is active and that login was not ended (logout, password change or reset, idle or too old)."""
    cfg = current_app.config
    found = accounts.session_user(get_session(), user_id, idle=timedelta(days=cfg["SESSION_IDLE_DAYS"]),
                                  lifetime=timedelta(days=cfg["SESSION_MAX_DAYS"]))
    if found is None:
        return None
    g.login_session_id = found[1].id
    return found[0]


def current_login_id() -> int | None:
    """The UserSession id of this request's cookie login (None for a Bearer token or nobody)."""
    return g.get("login_session_id")


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """An `Authorization: Bearer TOKEN` header logs in for this one request."""
    return token_user()


def return_path() -> str | None:
    """Where to come back after logging in: this page for a GET; for a form or htmx POST, the page it was sent from
    (the POST's own URL would answer a GET with 405)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    source = urlsplit(request.headers.get("HX-Current-URL") or request.referrer or "")
    if source.netloc != request.host:
        return None
    return safe_next(source.path + (f"?{source.query}" if source.query else ""))


@login_manager.unauthorized_handler
def unauthorized():
    """API → 401 JSON; htmx → HX-Redirect to the login page; pages → redirect to log in."""
    login_url = url_for("auth.login", next=return_path())
    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthorized", "message": _("Please log in.")}), 401
    if htmx:
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log in with phone number and password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    error, status = None, 200
    phone = request.form.get("phone", "")
    if request.method == "POST":
        cfg = current_app.config
        try:
            user = accounts.authenticate(get_session(), phone=phone, password=request.form.get("password", ""),
                                         ip=client_ip(), max_failures=cfg["LOGIN_MAX_FAILURES"],
                                         window_minutes=cfg["LOGIN_WINDOW_MINUTES"])
        except accounts.LoginRefused as refused:
            error, status = translate(refused.message, refused.params), refused.status
        else:
            login_user(user, remember=True)
            # The cookie (and the remember cookie, written from it after the request) names this one login.
            session["_user_id"] = accounts.open_session(get_session(), user=user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    return render_page("auth/login.html", error=error, phone=phone), status


@bp.post("/logout")
@login_required
def logout():
    """Log out and go back to the login page."""
    db = get_session()
    audit.record(db, actor_id=current_user.id, action="logout", obj=current_user, ip=client_ip())
    accounts.revoke_session(db, current_login_id())  # a copy of this session or remember cookie no longer works
    db.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


# What someone whose password was reset may still reach before choosing a new one (the phone's outbox keeps
# sending through /api: nothing saved offline is held back).
BEFORE_NEW_PASSWORD = {"auth.change_password", "auth.logout", "auth.set_language", "static", "home.healthz",
                       "pwa.service_worker", "pwa.manifest", "pwa.offline", "pwa.csrf_token"}


@bp.before_app_request
def password_first():
    """After a reset by someone else, every page leads to 'choose your own password' until it is done."""
    if (current_user.is_authenticated and getattr(current_user, "must_change_password", False)
            and request.endpoint not in BEFORE_NEW_PASSWORD):
        if request.path.startswith("/api/"):
            # The API too: only GET /api/v1/me answers, so the app can tell the person what to do.
            if request.method in ("GET", "HEAD") and request.endpoint == "api.me":
                return None
            message = _("Your password was reset. Please choose your own password before you go on.")
            return jsonify(error={"code": "password_change_required", "message": message}), 403
        target = url_for("auth.change_password")
        return ("", 204, {"HX-Redirect": target}) if htmx else redirect(target)
    return None


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Choose a new password, with the current (or temporary) one."""
    def form(status: int = 200, error: str | None = None):
        return page("auth/password.html", status=status, error=error,
                    tokens=accounts.tokens_of(get_session(), user=current_user))

    if request.method != "POST":
        return form()
    return submit(lambda db: people.change_own_password(db, user=current_user, data=request.form.to_dict(),
                                                        ip=client_ip(), keep_session_id=current_login_id()),
                  done=_("Your new password is saved."), redirect_to=url_for("home.index"), reraise=(), answer=form)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of my API tokens (a lost phone, a retired script); someone else's is 404."""
    row = accounts.revoke_token(get_session(), user=current_user, token_id=token_id, ip=client_ip())
    flash(_("The token “%(label)s” no longer works.", label=row.label or _("without a name")), "success")
    return redirect(url_for("auth.change_password"))


@bp.post("/lang")
def set_language():
    """Switch the interface language (中文 / English) and go back where we were."""
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
