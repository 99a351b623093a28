"""The start page for each role, and the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, url_for
from flask_login import current_user, login_required

from volunteers import coverage, dashboard, patrols, tasks
from volunteers.web.extensions import get_session
from volunteers.web.views import page

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """Volunteers see the big 开始巡逻 button; officers and coordinators see their grids today."""
    db = get_session()
    if not current_user.is_staff:
        state = patrols.home_state(db, current_user) | {"urls": {
            "start": url_for("api.start_patrol"), "mine": url_for("patrols.index"),
            "checkins": url_for("api.create_checkin", patrol_id=0).replace("/0/", "/{id}/"),
            "end": url_for("api.end_patrol", patrol_id=0).replace("/0/", "/{id}/"),
            "positions": url_for("api.create_positions", patrol_id=0).replace("/0/", "/{id}/")},
            "breadcrumb_every_s": current_app.config.get("BREADCRUMB_EVERY_S", 180)}
        return page("home/volunteer.html", current=patrols.open_patrol(db, current_user),
                    recent=patrols.history(db, current_user, limit=3), patrol_data=state,
                    today_tasks=tasks.today_for(db, current_user), state_labels=tasks.STATE_LABELS)
    return page("home/officer.html", grids=dashboard.grids_today(db, current_user), labels=coverage.STATUS_LABELS)


@bp.get("/healthz")
def healthz():
    """200 ok when the database answers."""
    get_session().exec(sa.select(1)).one()
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
