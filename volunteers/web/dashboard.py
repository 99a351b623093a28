"""The officer's dashboard (who patrols where, must-visit points, hazards, shifts), the 统计 charts page, a patrol's
replay, and the `flask missed` command that tells officers about missed must-visit points."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import Session

from volunteers import accounts, breadcrumb, charts, coverage, dashboard, hazards, patrols, roles, tasks
from volunteers.grids import whereabouts
from volunteers.models import Grid, User, utcnow
from volunteers.web import jobs, views
from volunteers.web.extensions import get_session
from volunteers.web.views import fragment_wanted, page

# cli_group=None: `flask --app app missed`, not `flask dashboard missed`.
bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", cli_group=None)


def refresh_seconds() -> float:
    """How often the live part of the dashboard reloads itself (config DASHBOARD_REFRESH_S, default 15 s)."""
    return float(current_app.config.get("DASHBOARD_REFRESH_S", 15))


def map_data(board: dashboard.Dashboard) -> dict[str, Any]:
    """What the map draws: grid outlines, must-visit points with their state, people on patrol, open hazards."""
    return views.map_data(
        board.grids,
        points=[{"lat": cp.lat, "lon": cp.lon, "status": status, "name": cp.name,
                 "label": f"{cp.name} · {_(coverage.STATUS_LABELS[status])}"} for cp, status in board.points],
        people=[{"lat": p.position[0], "lon": p.position[1], "id": p.patrol.id,
                 "label": f"{p.volunteer.name} · {p.position[3].astimezone(coverage.SHANGHAI):%H:%M}",
                 "url": url_for("dashboard.track", patrol_id=p.patrol.id)}
                for p in board.on_patrol if p.position],
        hazards=[{"lat": h.lat, "lon": h.lon, "overdue": overdue,
                  "label": f"#{h.id} {_(hazards.CATEGORY_LABELS[h.category])}",
                  "url": url_for("hazards.show", hazard_id=h.id)}
                 for h, overdue in board.open_hazards if h.lat is not None])


def small_charts() -> dict[str, str]:
    """The three charts, as SVG text."""
    db = get_session()
    weeks = dashboard.turnouts_per_week(db, current_user)
    months = dashboard.hazards_per_month(db, current_user)
    teams = dashboard.hours_per_team(db, current_user)
    return {
        "turnouts": charts.bars(_("Turn-outs per week"), [(f"{d.month}/{d.day}", n) for d, n in weeks],
                                chart_id="chart-turnouts"),
        "hazards": charts.paired_bars(_("Hazards found and closed per month"),
                                      [(m[5:].lstrip("0") + _("mo"), f, c) for m, f, c in months],
                                      (_("Found"), _("Closed")), chart_id="chart-hazards"),
        "hours": charts.bars(_("Hours per team this month"), [(name, round(m / 60, 1)) for name, m in teams],
                             chart_id="chart-hours", unit="h"),
    }


@bp.get("/")
@login_required
@views.role_required(roles.STAFF, dashboard.STAFF_ONLY)
def index():
    """The dashboard: a map and lists of today's facts; htmx polls get only the live part."""
    db = get_session()
    # lazily, so officers hear of missed points even without the jobs process — for this station only
    coverage.alert_missed(db, station_id=current_user.station_id)
    board = dashboard.dashboard(db, current_user)
    nearby = whereabouts(db, current_user.station_id, [(p.patrol.id, p.position[0], p.position[1])
                                                        for p in board.on_patrol if p.position])
    context = dict(board=board, map_data=map_data(board), refresh=refresh_seconds(), labels=coverage.STATUS_LABELS,
                   nearby=nearby,
                   kind_labels=tasks.KIND_LABELS, category_labels=hazards.CATEGORY_LABELS)
    if fragment_wanted():  # the live part, and the folded lists below the map out of band
        return render_template("dashboard/_live.html", oob=True, **context)
    routes, grids = coverage.weekly(db, [g.id for g in board.grids], coverage.local_day(utcnow()))
    return render_template("dashboard/index.html", charts=small_charts(), routes=routes, grid_coverage=grids, **context)


@bp.get("/stats")
@login_required
@views.role_required(roles.STAFF, dashboard.STAFF_ONLY)
def stats():
    """统计: the charts large, and this week's and last week's coverage per route and grid."""
    db = get_session()
    ids = accounts.grid_ids(db, current_user)
    today = coverage.local_day(utcnow())
    weeks = [(label, *coverage.weekly(db, ids, day)) for label, day in
             ((_("This week"), today), (_("Last week"), today - timedelta(days=7)))]
    context = dict(charts=small_charts(), weeks=weeks)
    return page("dashboard/stats.html", "dashboard/_stats.html", **context)


@bp.get("/patrols/<int:patrol_id>")
@login_required
@views.role_required(roles.STAFF, dashboard.STAFF_ONLY)
def track(patrol_id: int):
    """Replay one patrol: its breadcrumb as a line on the map, with its check-ins."""
    db = get_session()
    patrol = patrols.visible_patrol(db, current_user, patrol_id)
    positions = breadcrumb.track(db, patrol)
    checkins = patrols.checkins_of(db, patrol.id)
    points = patrols.patrol_checkpoints(db, current_user, patrol)
    names = {cp.id: cp.name for cp in points}
    volunteer = db.get(User, patrol.user_id)
    grids = [db.get(Grid, i) for i in sorted({cp.grid_id for cp in points})]
    data = views.map_data(grids, line=[[p.lat, p.lon] for p in positions],
                          checkins=[{"lat": c.lat, "lon": c.lon, "label": f"{names.get(c.checkpoint_id, '')} "
                                     f"{c.recorded_at.astimezone(coverage.SHANGHAI):%H:%M}"}
                                    for c in checkins if c.lat is not None])
    nearby = whereabouts(db, current_user.station_id, [(p.id, p.lat, p.lon) for p in positions])
    context = dict(patrol=patrol, volunteer=volunteer, positions=positions, checkins=checkins, names=names, nearby=nearby,
                   track_data=data, minutes=patrols.minutes(patrol))
    return page("dashboard/track.html", "dashboard/_track.html", **context)


def alert_round() -> int:
    """One round of missed-point alerts on the app's database (for `flask missed` and `flask jobs`)."""
    with Session(current_app.extensions["volunteers.engine"], expire_on_commit=False) as session:
        return coverage.alert_missed(session)


@bp.cli.command("missed")
def missed() -> None:
    """Tell grid officers once about each ended patrol shift's missed must-visit points."""
    click.echo(f"Shifts with missed must-visit points: {alert_round()}")


bp.record_once(lambda state: jobs.register(state.app, "missed-checkpoints", alert_round))
