"""Task pages: a volunteer's tasks today first with accept / decline / done, open places to claim, the officer's
list with verify and no-show, and the form that gives a new task (also as a hazard's follow-up)."""
from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from volunteers import db as dbs, duties, hazards, hours, tasks
from volunteers.errors import N_
from volunteers.models import Assignment, Task, utcnow
from volunteers.web.extensions import get_session
from volunteers.web.views import (allowance, client_ip, page, photo_store, staff_required, submit, translate, voice_store, voice_upload)

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

REACH_LABELS = {"people": N_("People reached"), "leaflets": N_("Leaflets handed out"),
                "app_installs": N_("Anti-fraud app installs")}
LABELS = {"kind_labels": tasks.KIND_LABELS, "state_labels": tasks.STATE_LABELS, "reach_fields": tasks.REACH_FIELDS,
          "reach_labels": REACH_LABELS, "flag_labels": hours.FLAG_LABELS}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


def list_context(*, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """A volunteer's own tasks and the open places; a manager's tasks with everyone on them."""
    db = get_session()
    if current_user.is_staff:
        items = tasks.for_manager(db, current_user)
        rows = tasks.assignments_of(db, [t.id for t in items])
        ids = [a.id for found in rows.values() for a, _v in found]
        evidence, now = tasks.evidence_of(db, ids), utcnow()
        return dict(manager=True, groups=manager_groups(items, rows), rows=rows, message=message, error=error,
                    now=now, done_photos=tasks.done_photos(db, ids),
                    done_voice=tasks.done_voice_notes(db, ids), evidence=evidence,
                    counts=tasks.needs_action(items, rows, evidence, now), shown=SHOWN_PER_FOLD)
    return dict(manager=False, mine=tasks.for_volunteer(db, current_user), now=utcnow(),
                open_days=open_by_day(tasks.open_for(db, current_user)), message=message, error=error)


def listing(status: int = 200, **notes: Any):
    """The tasks page, or its list for htmx, with what happened."""
    return page("tasks/index.html", "tasks/_list.html", status, **list_context(**notes))


def now_is(assignment: Assignment) -> str:
    """What a step on an assignment says: the task's state now."""
    return _("Saved. The task is now: %(state)s.", state=translate(tasks.STATE_LABELS[assignment.state]))


def day_label(day: date) -> str:
    """A day named short and plain: "今天 12月3日周四", "昨天 …", "明天 …", else just "12月5日周六"."""
    today = duties.today()
    named = {today - timedelta(days=1): _("Yesterday"), today: _("Today"), today + timedelta(days=1): _("Tomorrow")}
    return " ".join(filter(None, (named.get(day), format_skeleton("MMMEd", day, locale=get_locale()))))


def local_day(task: Task) -> date:
    """The Beijing day a task starts on."""
    return task.starts_at.astimezone(hours.SHANGHAI).date()


SHOWN_PER_FOLD = 2  # on a phone a fold shows its first few tasks; the rest is one tap away ("show more")


def manager_groups(items: list[Task], rows: dict[int, list]) -> list[dict[str, Any]]:
    """An officer's tasks in folds: first those with work done waiting to be verified, then today and tomorrow,
    then one fold holding a fold per other day, so a month of duty shifts is not one long scroll on a phone.
    The tasks come in time order, so each day's tasks are consecutive."""
    waiting = {t.id for t in items if any(a.state == "done" for a, _v in rows.get(t.id, []))}
    groups = [{"key": "to-verify", "label": _("Done, waiting for you to verify"), "open": True,
               "items": [t for t in items if t.id in waiting]}] if waiting else []
    today = duties.today()
    rest = [t for t in items if t.id not in waiting]
    # Today opens by itself only when nothing waits to be verified: on a phone the first screen is for what needs doing.
    days = [{"key": day.isoformat(), "label": day_label(day), "items": list(found), "open": day == today and not waiting}
            for day, found in groupby(rest, key=local_day)]
    near = {today.isoformat(), (today + timedelta(days=1)).isoformat()}
    others = [d for d in days if d["key"] not in near]
    groups += [d for d in days if d["key"] in near]
    if others:
        groups.append({"key": "other-days", "label": _("Other days"), "open": False, "days": others,
                       "items": [t for d in others for t in d["items"]]})
    return groups


def open_by_day(rows: list[tuple[Task, int]]) -> list[dict[str, Any]]:
    """Open places (in time order) grouped by their Beijing day, so a week of shifts folds into a few rows."""
    return [{"day": day, "items": list(found), "label": day_label(day)}
            for day, found in groupby(rows, key=lambda row: local_day(row[0]))]


@bp.get("/")
@login_required
def index():
    """My tasks (today first) and open places to claim; for officers, their grids' tasks to verify.
    ?step=<assignment id> (where the phone's outbox lands after sending a step) says what the task is now."""
    message = None
    step = request.args.get("step", "")
    if step.isdigit():
        mine = dbs.get(get_session(), Assignment, int(step))
        if mine is not None and mine.volunteer_id == current_user.id:
            message = now_is(mine)
    return listing(message=message)


# --- Giving a task ----------------------------------------------------------------------------------------

def iso(day: str, clock: str) -> str:
    """A date and a time of day typed in Asia/Shanghai as ISO 8601 with +08:00 (empty when either is missing)."""
    day, clock = (day or "").strip(), (clock or "").strip()
    return f"{day}T{clock}+08:00" if day and clock else ""


def task_data(form) -> dict[str, Any]:
    """The form's fields as tasks.create reads them."""
    data = {k: form.get(k, "") for k in ("client_id", "kind", "title", "grid", "capacity", "place", "notes",
                                          "hazard_id", "team_id")}
    data["starts_at"] = iso(form.get("start_date"), form.get("start_time"))
    data["ends_at"] = iso(form.get("end_date") or form.get("start_date"), form.get("end_time"))
    data["volunteer_ids"] = [] if data["team_id"] else form.getlist("volunteer_ids")
    return data


def render_form(*, form: dict[str, Any], chosen: list[str] | None = None, error: str | None = None, status: int = 200):
    """The new-task form, filled with what was typed."""
    db = get_session()
    people, teams = tasks.offer_choices(db, current_user)
    # What was typed is untrusted text: a hazard id that is not a number cannot be linked (url_for would fail).
    if not str(form.get("hazard_id") or "").isdigit():
        form = {k: v for k, v in form.items() if k != "hazard_id"}
    return page("tasks/new.html", "tasks/_form.html", status, form=form, chosen=chosen or [], error=error,
                today_iso=duties.today().isoformat(),
                grids=tasks.manageable_grids(db, current_user), people=people, teams=teams, kinds=tasks.KINDS)


def follow_up(hazard_id: str) -> dict[str, Any]:
    """A follow-up task pre-filled from a hazard the officer can see (404 for any other)."""
    if not hazard_id.isdigit():
        abort(404)
    hazard = hazards.visible(get_session(), current_user, int(hazard_id))
    title = _("Follow-up of report #%(id)d: %(category)s", id=hazard.id,
              category=_(hazards.CATEGORY_LABELS[hazard.category]))
    return {"kind": "hazard_followup", "title": title[:100], "grid": str(hazard.grid_id or ""),
            "hazard_id": str(hazard.id), "place": hazard.address, "notes": hazard.description[:1000], "capacity": "1"}


@bp.get("/new")
@login_required
@staff_required
def new():
    """The form an officer gives a task with; ?hazard=<id> pre-fills a follow-up of that report."""
    form = follow_up(request.args["hazard"]) if request.args.get("hazard") else {"capacity": "1"}
    return render_form(form=form)


@bp.post("/new")
@login_required
@staff_required
def create():
    """Give the task; on a problem, the form again with the reason and what was typed."""
    return submit(lambda db: tasks.create(db, user=current_user, data=task_data(request.form), ip=client_ip())[0],
                  done=lambda task: _("The task “%(title)s” was given.", title=task.title),
                  redirect_to=url_for("tasks.index"), reraise=(),
                  answer=lambda status, error: render_form(form=request.form.to_dict(), error=error, status=status,
                                                           chosen=request.form.getlist("volunteer_ids")))


# --- Steps on an assignment -------------------------------------------------------------------------------

def card(assignment: Assignment, status: int = 200, **notes: Any):
    """The piece (for htmx) that shows this assignment to this viewer: the volunteer's card, or the task card."""
    db = get_session()
    task = db.get(Task, assignment.task_id)
    if assignment.volunteer_id == current_user.id:
        return render_template("tasks/_card.html", task=task, a=assignment, now=utcnow(), **notes), status
    rows = tasks.assignments_of(db, [task.id])[task.id]
    ids = [a.id for a, _v in rows]
    return render_template("tasks/_task.html", task=task, rows=rows, **notes, now=utcnow(),
                           done_photos=tasks.done_photos(db, ids), done_voice=tasks.done_voice_notes(db, ids),
                           evidence=tasks.evidence_of(db, ids)), status


@bp.post("/assignments/<int:assignment_id>/<action>")
@login_required
def act(assignment_id: int, action: str):
    """accept, decline (reason), done (GPS, reach), verify, no_show; htmx gets the card back in place."""
    upload = request.files.get("photo")

    def again(status: int, **notes: Any):
        return card(dbs.get(get_session(), Assignment, assignment_id), status, **notes)

    return submit(lambda db: tasks.act(db, user=current_user, assignment_id=assignment_id, action=action,
                                       data=request.form.to_dict(), ip=client_ip(),
                                       photo=upload.read() if upload and upload.filename else None,
                                       store=photo_store(), allowance=allowance(),
                                       voice_note=voice_upload(), voice_store=voice_store()),
                  done=now_is, redirect_to=url_for("tasks.index"), piece=True, reraise=(404,), answer=again)


@bp.post("/<int:task_id>/cancel")
@login_required
def cancel(task_id: int):
    """Call off a task that has not started (with a reason its people are told); htmx gets the list back."""
    return submit(lambda db: tasks.cancel(db, user=current_user, task_id=task_id, data=request.form.to_dict(),
                                          ip=client_ip()),
                  done=lambda task: _("“%(title)s” was called off; everyone on it was told.", title=task.title),
                  redirect_to=url_for("tasks.index"), piece=True, reraise=(404,), answer=listing)


@bp.post("/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    """Take an open place; htmx gets the whole list back (the task moves up to my tasks)."""
    return submit(lambda db: tasks.claim(db, user=current_user, task_id=task_id, ip=client_ip()),
                  done=_("You have taken this place. Thank you!"), redirect_to=url_for("tasks.index"), piece=True,
                  reraise=(404,), answer=listing)
