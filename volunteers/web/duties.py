"""Duty pages for officers: weekly patterns (护学岗, night patrols), the week's schedule (周调度) to print,
and the `flask remind` command that sends shift reminders. Volunteers see their shifts under /tasks."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import click
from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required
from sqlmodel import Session, select

from volunteers import duties, sms, tasks
from volunteers.errors import N_
from volunteers.models import Checkpoint, Team
from volunteers.web import jobs
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, staff_required, submit

# cli_group=None: `flask --app app remind`, not `flask duties remind`.
bp = Blueprint("duties", __name__, url_prefix="/duties", cli_group=None)

WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
LABELS = {"kind_labels": tasks.KIND_LABELS, "weekday_names": WEEKDAY_NAMES}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


# --- Patterns ------------------------------------------------------------------------------------------

@bp.get("/")
@login_required
@staff_required
def index():
    """The weekly patterns of my grids, each with a button to make the next two weeks' shifts."""
    db = get_session()
    grids = {g.id: g for g in tasks.manageable_grids(db, current_user)}
    return page("duties/index.html", "duties/_list.html", items=duties.patterns(db, user=current_user), grids=grids)


def pattern_data(form) -> dict[str, Any]:
    """The form's fields as duties.parse_pattern reads them."""
    data = {k: form.get(k, "") for k in form.keys() if k != "weekdays"}
    data["weekdays"] = form.getlist("weekdays")
    return data


def render_form(*, form: dict[str, Any], weekdays: list[str], error: str | None = None, status: int = 200,
                duty_id: int | None = None):
    """The pattern form (new, or editing duty_id), filled with what was typed."""
    db = get_session()
    grids = tasks.manageable_grids(db, current_user)
    ids = [g.id for g in grids]
    chosen = str(form.get("checkpoint_id") or "")  # a duty already at a since-retired point still shows it
    checkpoints = [cp for cp in db.exec(select(Checkpoint).where(Checkpoint.grid_id.in_(ids))
                                        .order_by(Checkpoint.grid_id, Checkpoint.id))
                   if cp.retired_at is None or str(cp.id) == chosen] if ids else []
    teams = list(db.exec(select(Team).where(Team.station_id == current_user.station_id).order_by(Team.name)))
    codes = {g.id: g.code for g in grids}
    action = url_for("duties.update", duty_id=duty_id) if duty_id else url_for("duties.create")
    return page("duties/new.html", "duties/_form.html", status, form=form, weekdays=weekdays, error=error, grids=grids,
                teams=teams, checkpoints=checkpoints, codes=codes, kinds=tasks.KINDS, action=action, duty_id=duty_id)


@bp.get("/new")
@login_required
@staff_required
def new():
    """The form for a weekly pattern: days, up to three time windows, first and last day, dates to skip."""
    start = duties.today()
    return render_form(form={"capacity": "1", "first_day": start.isoformat(),
                             "last_day": (start + timedelta(days=90)).isoformat()}, weekdays=[])


@bp.post("/new")
@login_required
@staff_required
def create():
    """Save the pattern, make two weeks of shifts, and show them in the week view."""
    return submit(lambda db: duties.create_pattern(db, user=current_user, data=pattern_data(request.form),
                                                   ip=client_ip()),
                  done=lambda made: _("The duty “%(title)s” was saved with %(count)d shifts.", title=made[0].title,
                                      count=len(made[1])),
                  redirect_to=lambda made: url_for("duties.week", grid=made[0].grid_id), hx_redirect=True, reraise=(),
                  answer=lambda status, error: again(status, error))


def form_of(duty) -> dict[str, str]:
    """A saved pattern as the form's fields."""
    form = {"title": duty.title, "kind": duty.kind, "grid": str(duty.grid_id), "team_id": str(duty.team_id or ""),
            "checkpoint_id": str(duty.checkpoint_id or ""), "place": duty.place, "capacity": str(duty.capacity),
            "first_day": duty.first_day.isoformat(), "last_day": duty.last_day.isoformat(),
            "skip_dates": ", ".join(duty.skip_dates)}
    for n, (start, end) in enumerate(duty.windows, start=1):
        form[f"start_{n}"], form[f"end_{n}"] = start, end
    return form


def again(status: int, error: str, **extra: Any):
    """The pattern's form again, as it was typed, with the reason it was refused."""
    return render_form(form=request.form.to_dict(), weekdays=request.form.getlist("weekdays"), error=error,
                       status=status, **extra)


@bp.get("/<int:duty_id>/edit")
@login_required
@staff_required
def edit(duty_id: int):
    """The pattern's form, to change its days, times, dates to skip or size."""
    duty = duties.managed_duty(get_session(), user=current_user, duty_id=duty_id)
    return render_form(form=form_of(duty), weekdays=[str(n) for n in duty.weekdays], duty_id=duty.id)


@bp.post("/<int:duty_id>/edit")
@login_required
@staff_required
def update(duty_id: int):
    """Save the changed pattern; shifts to come follow it, and their people are told."""
    return submit(lambda db: duties.update_pattern(db, user=current_user, duty_id=duty_id,
                                                   data=pattern_data(request.form), ip=client_ip()),
                  done=lambda changed: _("“%(title)s” was changed: %(kept)d shifts kept, %(cancelled)d cancelled, "
                                         "%(made)d new.", title=changed[0].title, kept=changed[1],
                                         cancelled=changed[2], made=len(changed[3])),
                  redirect_to=lambda changed: url_for("duties.week", grid=changed[0].grid_id), hx_redirect=True,
                  reraise=(404,), answer=lambda status, error: again(status, error, duty_id=duty_id))


@bp.post("/<int:duty_id>/stop")
@login_required
@staff_required
def stop(duty_id: int):
    """Stop the duty: shifts to come are cancelled; shifts already done stay with their hours."""
    db = get_session()
    duty = duties.managed_duty(db, user=current_user, duty_id=duty_id)
    title = duty.title
    deleted, cancelled = duties.stop_pattern(db, user=current_user, duty_id=duty_id, ip=client_ip())
    message = (_("“%(title)s” was deleted.", title=title) if deleted
               else _("“%(title)s” was stopped; %(count)d shifts to come were cancelled.", title=title, count=cancelled))
    flash(message, "success")
    return redirect(url_for("duties.index"))


@bp.post("/<int:duty_id>/generate")
@login_required
@staff_required
def generate(duty_id: int):
    """Make the pattern's shifts for the next two weeks (shifts already made stay as they are)."""
    db = get_session()
    duty = duties.managed_duty(db, user=current_user, duty_id=duty_id)
    made = duties.generate_ahead(db, user=current_user, duty=duty)
    flash(_("%(count)d new shifts for “%(title)s”.", count=len(made), title=duty.title), "success")
    return redirect(url_for("duties.index"))


# --- Week view -------------------------------------------------------------------------------------------

def chosen_week() -> dict[str, Any]:
    """Grid, team and week from the query string; malformed values fall back to all grids, all teams, this week."""
    args = request.args
    try:
        monday = duties.monday_of(date.fromisoformat(args.get("week", "")))
    except ValueError:
        monday = duties.monday_of(duties.today())
    grid, team = args.get("grid", ""), args.get("team", "")
    return {"monday": monday, "grid": int(grid) if grid.isdigit() else None,
            "team": int(team) if team.isdigit() else None}


@bp.get("/week")
@login_required
@staff_required
def week():
    """周调度: every post and shift of the week, who is on it, and the gaps in red — printable on one A4 page."""
    db = get_session()
    chosen = chosen_week()
    grid_ids = duties.week_grids(db, user=current_user, grid_id=chosen["grid"])
    rows = duties.week_rows(db, grid_ids=grid_ids, monday=chosen["monday"], team_id=chosen["team"])
    teams = list(db.exec(select(Team).where(Team.station_id == current_user.station_id).order_by(Team.name)))
    days = [chosen["monday"] + timedelta(days=n) for n in range(7)]
    coming, past = duties.week_days(rows, chosen["monday"], duties.today())
    return page("duties/week.html", "duties/_week.html", rows=rows, chosen=chosen, days=days, teams=teams,
                coming=coming, past=past,
                grids=tasks.manageable_grids(db, current_user), prev=chosen["monday"] - timedelta(days=7),
                next=chosen["monday"] + timedelta(days=7), today=duties.today())


# --- Reminders -------------------------------------------------------------------------------------------

def send_reminders(minutes: int = 60) -> int:
    """Remind (in-app and SMS) each accepted volunteer of a shift starting within `minutes`; each shift once."""
    adapter = sms.backend(current_app.config.get("SMS_BACKEND"))

    def render(message: str, params: dict) -> str:
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
            return _(message, **params)

    with Session(current_app.extensions["volunteers.engine"], expire_on_commit=False) as session:
        return duties.remind_upcoming(session, within=timedelta(minutes=minutes), sms=adapter, render=render)


@bp.cli.command("remind")
@click.option("--minutes", default=60, show_default=True, help="Remind of shifts starting within this many minutes.")
def remind(minutes: int) -> None:
    """Send the shift reminders once (`flask jobs` does it every few minutes)."""
    click.echo(f"Reminders sent: {send_reminders(minutes)}")


@bp.record_once
def set_up(state) -> None:
    """An unknown SMS_BACKEND stops the app at start-up rather than at the first reminder; reminders join the jobs."""
    sms.backend(state.app.config.get("SMS_BACKEND"))
    jobs.register(state.app, "remind", send_reminders)
