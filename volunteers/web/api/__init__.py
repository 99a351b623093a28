"""JSON API /api/v1 — the contract in DESIGN.md. Auth: Bearer token, or the session plus X-CSRFToken.

One blueprint; each noun adds its routes in its own module (patrols.py, …), imported at the bottom.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, request

from volunteers.errors import Invalid, N_
from volunteers.web.views import iso, token_user  # noqa: F401  (iso: the API modules take it from here)
from volunteers.web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def check_csrf() -> None:
    """A script authenticated by a valid Bearer token needs no CSRF token; anything else (a session cookie, with or
    without some other Authorization header such as a proxy's Basic auth) does."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not bearer_authenticated():
        csrf.protect()


def bearer_authenticated() -> bool:
    """Whether this request carries a Bearer token that belongs to an active user."""
    return token_user() is not None


BAD_JSON = N_("The request body must be a JSON object.")


def body() -> dict[str, Any]:
    """The request body as a dict, from JSON or a form. The one guard every API write reads its body through: JSON
    that is malformed, not UTF-8, nested too deep (RecursionError) or holding numbers Python refuses to parse is a
    400 bad_json, never a 500."""
    if request.mimetype == "application/json" or (request.data and not request.form):
        raw = request.get_data(cache=True)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise Invalid("bad_json", BAD_JSON, status=400) from None
        if not isinstance(data, dict):
            raise Invalid("bad_json", BAD_JSON, status=400)
        return data
    return request.form.to_dict()


from volunteers.web.api import breadcrumb, hazards, hours, patrols, tasks  # noqa: E402,F401  (they register routes on bp)
