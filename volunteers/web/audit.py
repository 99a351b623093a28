"""The audit log for the coordinator: who did what to which object, when, from where — in words, a batch of the same
action as one line that opens to its items; filtered through htmx, 50 lines a page."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from volunteers import audit
from volunteers.web.extensions import get_session
from volunteers.web.views import page

bp = Blueprint("audit", __name__, url_prefix="/audit")

# Pages an object of each type has, so a line links to what was changed.
OBJECT_LINKS = {"user": ("people.show", "person_id"), "team": ("teams.show", "team_id"),
                "hazard": ("hazards.show", "hazard_id"), "patrol": ("patrols.show", "patrol_id"),
                "servicerecord": ("hours.show", "record_id"), "grid": ("grids.show", "grid_id"),
                "certificate": ("certificates.show", "certificate_id")}


@bp.get("/")
@login_required
def index():
    """The newest lines first; ?before=<id> is the next page."""
    db = get_session()
    filters = audit.Filters.parse(request.args.to_dict())
    lines, next_before = audit.lines(db, current_user, filters)
    context = dict(lines=lines, names=audit.object_names(db, [e for line in lines for e in line.events]),
                   next_before=next_before, chosen=filters, links=OBJECT_LINKS, action_label=audit.action_label,
                   kinds=audit.OBJECT_KINDS, **audit.choices(db, current_user))
    return page("audit/index.html", "audit/_list.html", **context)
