"""JSON API /api/v1 — the contract in DESIGN.md. Auth: Bearer token, or the session plus X-CSRFToken.

One blueprint; each noun adds its routes in its own module (patrols.py, …), imported at the bottom.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from volunteers.errors import Invalid, N_
from volunteers.web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def check_csrf() -> None:
    """A token-authenticated script needs no CSRF token; a browser session does."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.headers.get("Authorization"):
        csrf.protect()


def body() -> dict[str, Any]:
    """The request body as a dict, from JSON or a form; malformed JSON is a 400."""
    if request.mimetype == "application/json" or (request.data and not request.form):
        data = request.get_json(silent=True) if request.data else {}
        if not isinstance(data, dict):
            raise Invalid("bad_json", N_("The request body must be a JSON object."), status=400)
        return data
    return request.form.to_dict()


def iso(value) -> str | None:
    """An aware time as ISO 8601 UTC with a Z."""
    return value.isoformat().replace("+00:00", "Z") if value else None


from volunteers.web.api import breadcrumb, hazards, hours, patrols, tasks  # noqa: E402,F401  (they register routes on bp)
