"""API: minutes of service per volunteer, approved and pending, for a period (DESIGN.md)."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from volunteers import hours
from volunteers.web.api import bp
from volunteers.web.extensions import get_session


@bp.get("/hours")
@login_required
def list_hours():
    """?from=&to=[&volunteer=|&team=|&grid=] → [{volunteer_id, name, approved_minutes, pending_minutes}], within the
    caller's scope (a volunteer: themself; an officer: their grids; the coordinator: the station)."""
    args = request.args
    rows, _first, _last = hours.scoped_tally(get_session(), current_user, args.get("from"), args.get("to"), "volunteer",
                                             volunteer=args.get("volunteer"), team=args.get("team"),
                                             grid=args.get("grid"))
    return jsonify([{"volunteer_id": r.id, "name": r.name, "approved_minutes": r.approved_minutes,
                     "pending_minutes": r.pending_minutes} for r in rows])
