"""Tasks: what a grid officer asks of volunteers, and who said yes, did it, and was seen doing it (a duty's weekly
pattern and the shifts it makes are in duties.py).

Assignment states (DESIGN.md): offered → accepted | declined → done → verified | no_show.
Times are entered and shown in Asia/Shanghai (no daylight saving) and stored in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import accounts, audit, clientids, db, fields, geo, hours, notifications, photos, voice
from volunteers.errors import NP_, Conflict, Forbidden, Invalid, N_, NotFound
from volunteers.models import (Assignment, Checkpoint, Grid, GridOfficer, Photo, Task, Team, TeamMember, User,
                               VoiceNote, utcnow)
from volunteers.patrols import parse_time

KINDS = ("patrol", "school_gate", "publicity", "event_security", "home_visit", "hazard_followup")
KIND_LABELS = {"patrol": N_("Patrol shift"), "school_gate": N_("School gate post"), "publicity": N_("Anti-fraud publicity"),
               "event_security": N_("Event security"), "home_visit": N_("Home visit"),
               "hazard_followup": N_("Hazard follow-up")}
STATE_LABELS = {"offered": N_("Offered"), "accepted": NP_("assignment", "Accepted"), "declined": N_("Declined"), "done": N_("Done"),
                "verified": N_("Verified"), "no_show": N_("Did not come")}
# action → (states it may start from, state it leads to, who may take it)
ACTIONS = {
    "accept": (("offered",), "accepted", "volunteer"),
    "decline": (("offered", "accepted"), "declined", "volunteer"),
    "done": (("accepted",), "done", "volunteer"),
    "verify": (("done",), "verified", "officer"),
    "no_show": (("accepted", "done"), "no_show", "officer"),
}
TAKING_PLACES = ("accepted", "done", "verified")  # these fill a shift and block the person's time
REACH_FIELDS = ("people", "leaflets", "app_installs")
MAX_CAPACITY = 200


# --- Who may do what ----------------------------------------------------------------------------------

def may_manage(session: Session, user: User, grid_id: int) -> bool:
    """Officers of the grid and the station's coordinator give and verify its tasks."""
    if user.is_manager:
        grid = db.get(session, Grid, grid_id)
        return grid is not None and grid.station_id == user.station_id
    return user.role == "officer" and grid_id in accounts.grid_ids(session, user)


def visible_task(session: Session, user: User, task_id: int) -> Task:
    """A task its grid's managers may see, and any volunteer offered it or able to claim it; else 404."""
    task = db.get(session, Task, task_id)
    if task is None:
        raise NotFound(N_("This task does not exist."))
    if may_manage(session, user, task.grid_id) or _eligible(session, user, task):
        return task
    if session.exec(select(Assignment.id).where(Assignment.task_id == task.id, Assignment.volunteer_id == user.id)).first():
        return task
    raise NotFound(N_("This task does not exist."))


def _eligible(session: Session, user: User, task: Task) -> bool:
    """A volunteer of the task's team, or of its grid when it names no team, may claim an open place."""
    if user.role != "volunteer" or user.status != "active":
        return False
    if task.team_id is not None:
        return session.get(TeamMember, (task.team_id, user.id)) is not None
    return user.home_grid_id == task.grid_id


# --- Creating -------------------------------------------------------------------------------------------

def _volunteer_ids(data: dict[str, Any]) -> list[int]:
    raw = data.get("volunteer_ids") or []
    if isinstance(raw, str):
        raw = [part for part in raw.replace(",", " ").split() if part]
    if not isinstance(raw, list):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field="volunteer_ids")
    return sorted({fields.integer({"v": v}, "v") for v in raw})


def create(session: Session, *, user: User, data: dict[str, Any], ip: str | None = None) -> tuple[Task, bool]:
    """Create a task in one of the officer's grids and offer it to volunteers or a whole team; a retry returns it."""
    cid = clientids.parse(data.get("client_id"))
    kind = data.get("kind")
    if kind not in KINDS:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field="kind", value=str(kind)[:40])
    title = fields.text(data, "title", 100, required=True)
    grid_id = fields.integer(data, "grid", required=True)
    starts = parse_time(data.get("starts_at"), "starts_at")
    ends = parse_time(data.get("ends_at"), "ends_at")
    if starts is None or ends is None:
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400,
                      field="starts_at" if starts is None else "ends_at")
    team_id = fields.integer(data, "team_id")
    volunteer_ids = _volunteer_ids(data)
    capacity = fields.integer(data, "capacity")
    if capacity is None:
        capacity = max(1, len(volunteer_ids))
    content = {"kind": kind, "title": title, "grid": grid_id, "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
               "team_id": team_id, "volunteer_ids": volunteer_ids, "capacity": capacity,
               "notes": fields.text(data, "notes", 1000), "place": fields.text(data, "place", 200),
               "checkpoint_id": fields.integer(data, "checkpoint_id"), "hazard_id": fields.integer(data, "hazard_id")}
    fp, saved = clientids.earlier(session, Task, cid, user.id, content)
    if saved is not None:
        return saved, False
    if not may_manage(session, user, grid_id):
        raise Forbidden(N_("You can only give tasks in your own grids."))
    if ends <= starts:
        raise Invalid("ends_before_start", N_("The end must be after the start."))
    if ends <= utcnow():
        raise Invalid("in_the_past", N_("This time window is already over."))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise Invalid("bad_capacity", N_("The number of people needed must be between 1 and %(max)d."), max=MAX_CAPACITY)
    people = _offer_list(session, user, grid_id, team_id, volunteer_ids)
    task = Task(client_id=cid, fingerprint=fp, station_id=user.station_id, grid_id=grid_id, team_id=team_id,
                created_by_id=user.id, kind=kind, title=title, notes=content["notes"], place=content["place"],
                checkpoint_id=content["checkpoint_id"], hazard_id=content["hazard_id"], starts_at=starts, ends_at=ends,
                capacity=capacity)
    # A copy of this submit sent at the same instant that passed the check above and saved first: its task (200).
    saved = clientids.insert(session, task, model=Task, cid=cid, creator_id=user.id, fp=fp)
    if saved is not None:
        return saved, False
    for person in people:
        session.add(Assignment(task_id=task.id, volunteer_id=person.id))
        notifications.notify(session, user_id=person.id, link="/tasks/", message=N_("New task for you: %(title)s"),
                             title=title)
    audit.record(session, actor_id=user.id, action="task.create", obj=task, ip=ip, offered=len(people))
    session.commit()
    return task, True


def _offer_list(session: Session, user: User, grid_id: int, team_id: int | None, volunteer_ids: list[int]) -> list[User]:
    """The active volunteers a new task is offered to: named ones of this grid, or a team's members."""
    if team_id is not None:
        team = db.get(session, Team, team_id)
        if team is None or team.station_id != user.station_id:
            raise Invalid("unknown_team", N_("There is no such team at this station."))
        return list(session.exec(select(User).join(TeamMember, TeamMember.user_id == User.id)
                                 .where(TeamMember.team_id == team_id, User.status == "active", User.role == "volunteer")))
    people = []
    for volunteer_id in volunteer_ids:
        person = db.get(session, User, volunteer_id)
        if person is None or person.role != "volunteer" or person.station_id != user.station_id:
            raise Invalid("unknown_volunteer", N_("Volunteer #%(id)d is not known here."), id=volunteer_id)
        if person.home_grid_id != grid_id:
            raise Forbidden(N_("%(name)s is not a volunteer of this grid."), name=person.name)
        if person.status != "active":
            raise Invalid("not_active", N_("%(name)s cannot be given tasks now (account not active)."), name=person.name)
        people.append(person)
    return people


# --- Saying yes, doing it, being seen doing it -------------------------------------------------------------

def places_taken(session: Session, task_id: int) -> int:
    """How many people fill the task now."""
    return session.exec(select(sa.func.count()).select_from(Assignment)
                        .where(Assignment.task_id == task_id, Assignment.state.in_(TAKING_PLACES))).one()


def _check_free(session: Session, volunteer_id: int, task: Task, except_id: int | None = None) -> None:
    """A volunteer cannot be on two shifts that overlap."""
    clash = session.exec(
        select(Task.title).join(Assignment, Assignment.task_id == Task.id)
        .where(Assignment.volunteer_id == volunteer_id, Assignment.state.in_(TAKING_PLACES),
               Assignment.id != (except_id or -1), Task.starts_at < task.ends_at, Task.ends_at > task.starts_at)
    ).first()
    if clash is not None:
        raise Conflict("overlap", N_("This overlaps “%(title)s”, which you already have."), title=clash)


def _check_room(session: Session, task: Task) -> None:
    if places_taken(session, task.id) >= task.capacity:
        raise Conflict("full", N_("This task already has all the people it needs."))


def act(session: Session, *, user: User, assignment_id: int, action: str, data: dict[str, Any] | None = None,
        ip: str | None = None, photo: bytes | None = None, store: photos.PhotoStore | None = None,
        allowance: photos.Allowance = photos.Allowance(), voice_note: bytes | None = None,
        voice_store: voice.VoiceStore | None = None) -> Assignment:
    """Take one step on an assignment; repeating the step just taken is a harmless retry.

    "done" may carry a photo of the post and a voice note (checked, re-encoded or re-muxed before anything is
    written)."""
    data = data or {}
    assignment = db.get(session, Assignment, assignment_id)
    if assignment is None or action not in ACTIONS:
        raise NotFound(N_("This task does not exist."))
    task = session.get(Task, assignment.task_id)
    sources, target, who = ACTIONS[action]
    allowed = assignment.volunteer_id == user.id if who == "volunteer" else may_manage(session, user, task.grid_id)
    if not allowed:
        if assignment.volunteer_id != user.id and not may_manage(session, user, task.grid_id):
            raise NotFound(N_("This task does not exist."))
        raise Forbidden(N_("This is not yours to do."))
    if assignment.state == target:
        return assignment
    if assignment.state not in sources:
        raise Conflict("illegal_action", N_("A task that is “%(current)s” cannot become “%(to)s”."),
                       current=STATE_LABELS[assignment.state], to=STATE_LABELS[target])
    now = utcnow()
    if action == "no_show" and task.starts_at > now:
        raise Conflict("not_started", N_("“%(title)s” has not started yet. Mark who did not come once it has."),
                       title=task.title)
    if action == "done" and task.starts_at > now:
        raise Conflict("not_started", N_("“%(title)s” has not started yet. Mark it done once it has begun (%(time)s)."),
                       title=task.title, time=task.starts_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"))
    if action == "accept":
        if user.status != "active":
            raise Forbidden(N_("Your account is not active."))
        _check_room(session, task)
        _check_free(session, user.id, task, except_id=assignment.id)
        assignment.answered_at = now
    elif action == "decline":
        assignment.reason = fields.text(data, "reason", 300)
        if not assignment.reason:
            raise Invalid("reason_required", N_("Please write the reason."))
        assignment.answered_at = now
        # The grid's officers need to find someone else: tell them who, what and why.
        for officer_id in session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == task.grid_id)):
            notifications.notify(session, user_id=officer_id, link=f"/tasks/#task-{task.id}",
                                 message=N_("%(name)s cannot do “%(title)s” (%(when)s): %(reason)s"),
                                 name=user.name, title=task.title, reason=assignment.reason,
                                 when=task.starts_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"))
    elif action == "done":
        if (photo and store is None) or (voice_note and voice_store is None):
            raise ValueError("a photo or voice note needs a store")
        # commits: first. A voice note counts as one upload against the photos' hourly allowance.
        photos.admit(session, user_id=user.id, uploads=[b for b in (photo, voice_note) if b], allowance=allowance)
        point = fields.point(data, required=False)
        assignment.no_location = point is None and _said_yes(data.get("no_location"))
        if point:
            assignment.lat, assignment.lon = point
            assignment.accuracy_m = fields.number(data, "accuracy_m", low=0, high=100_000, required=False)
            if task.checkpoint_id:
                cp = session.get(Checkpoint, task.checkpoint_id)
                assignment.distance_m = round(geo.distance_m(point, (cp.lat, cp.lon)), 1)
        if task.kind == "publicity":
            assignment.reach = {f: fields.number(data, f, low=0, high=1_000_000, required=False) or 0 for f in REACH_FIELDS}
        assignment.done_at = now
        processed = photos.process(photo) if photo else None
        spoken = voice.check(voice_note) if voice_note else None
    else:
        assignment.verified_at, assignment.verified_by_id = now, user.id
        if action == "verify":
            notifications.notify(session, user_id=assignment.volunteer_id, link="/tasks/",
                                 message=N_("Your task “%(title)s” was confirmed. Thank you!"), title=task.title)
    moved = session.execute(sa.update(Assignment).where(Assignment.id == assignment.id,
                                                        Assignment.state == assignment.state).values(state=target)).rowcount
    if moved != 1:
        raise Conflict("changed_meanwhile", N_("Someone else changed this just now. Please reload."))
    session.add(assignment)
    if target == "verified":
        hours.from_assignment(session, assignment)
    stored = stored_voice = None
    try:
        if action == "done" and processed:
            row = photos.keep(store, processed, created_at=now, assignment_id=assignment.id)
            stored = row.stored_name
            session.add(row)
        if action == "done" and spoken:
            note = voice.keep(voice_store, spoken, created_at=now, assignment_id=assignment.id)
            stored_voice = note.stored_name
            session.add(note)
        audit.record(session, actor_id=user.id, action=f"assignment.{action}", obj=assignment, ip=ip,
                     **({"photo": True} if stored else {}), **({"voice_s": spoken.seconds} if stored_voice else {}))
        session.commit()
    except BaseException:
        session.rollback()
        if stored:
            store.delete(stored)
        if stored_voice:
            voice_store.delete(stored_voice)
        raise
    session.refresh(assignment)
    return assignment


def _said_yes(value: Any) -> bool:
    """A ticked box or a JSON true."""
    return value is True or str(value or "").strip().lower() in ("1", "true", "on", "yes")


@dataclass(frozen=True)
class Evidence:
    """What a shift was marked done with, as the officer sees it beside the assignment and its service record."""
    located: bool
    distance_m: float | None
    accuracy_m: float | None
    done_at: datetime | None
    no_location: bool
    photo_ids: tuple[int, ...]
    flags: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def evidence_of(session: Session, assignment_ids: list[int], *, with_overlap: bool = True) -> dict[int, Evidence]:
    """The evidence of each done (or verified) assignment with its flags (hours.done_flags; and, unless it has a
    service record that says so itself, whether it overlaps the person's other service)."""
    if not assignment_ids:
        return {}
    found: dict[int, Evidence] = {}
    photos_of = done_photos(session, assignment_ids)
    rows = session.exec(select(Assignment, Task, Checkpoint).join(Task, Task.id == Assignment.task_id)
                        .outerjoin(Checkpoint, Checkpoint.id == Task.checkpoint_id)
                        .where(Assignment.id.in_(assignment_ids), Assignment.state.in_(("done", "verified"))))
    for a, task, checkpoint in rows:
        flags = hours.done_flags(ends_at=task.ends_at, done_at=a.done_at, located=a.lat is not None,
                                 photos=len(photos_of.get(a.id, [])), distance_m=a.distance_m,
                                 radius_m=checkpoint.radius_m if checkpoint else None, accuracy_m=a.accuracy_m)
        if with_overlap and a.state == "done" and hours.overlaps_other_service(session, a.volunteer_id, task.starts_at,
                                                                               task.ends_at):
            flags.append(hours.FLAG_OVERLAP)
        found[a.id] = Evidence(located=a.lat is not None, distance_m=a.distance_m, accuracy_m=a.accuracy_m,
                               done_at=a.done_at, no_location=a.no_location, photo_ids=tuple(photos_of.get(a.id, [])),
                               flags=tuple(flags))
    return found


CANCELLED = N_("The task “%(title)s” on %(time)s was cancelled: %(reason)s")


def cancel(session: Session, *, user: User, task_id: int, data: dict[str, Any], now: datetime | None = None,
           ip: str | None = None) -> Task:
    """The officer calls off a task that has not started; everyone offered it or on it is told why. A duty's
    shift is changed through its duty (skip the date), so the next two weeks' shifts do not bring it back."""
    now = now or utcnow()
    task = visible_task(session, user, task_id)
    if not may_manage(session, user, task.grid_id):
        raise Forbidden(N_("This is not yours to do."))
    if task.duty_id is not None:
        raise Conflict("duty_shift", N_("This shift belongs to a duty: change the duty (skip the date) instead."))
    if task.starts_at <= now:
        raise Conflict("already_started", N_("This task has already started and cannot be called off."))
    reason = fields.text(data, "reason", 300, required=True)
    when = task.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    people = session.exec(select(Assignment.volunteer_id).where(
        Assignment.task_id == task.id, Assignment.state.in_(("offered",) + TAKING_PLACES)))
    for volunteer_id in people:
        notifications.notify(session, user_id=volunteer_id, link="/tasks/", message=CANCELLED, title=task.title,
                             time=when, reason=reason)
    audit.record(session, actor_id=user.id, action="task.cancel", obj=task, ip=ip, reason=reason, title=task.title)
    session.delete(task)
    session.commit()
    return task


def done_photos(session: Session, assignment_ids: list[int]) -> dict[int, list[int]]:
    """The ids of the photos taken when each assignment was marked done."""
    found: dict[int, list[int]] = {}
    if assignment_ids:
        for photo_id, assignment_id in session.exec(select(Photo.id, Photo.assignment_id)
                                                    .where(Photo.assignment_id.in_(assignment_ids)).order_by(Photo.id)):
            found.setdefault(assignment_id, []).append(photo_id)
    return found


def done_voice_notes(session: Session, assignment_ids: list[int]) -> dict[int, list[VoiceNote]]:
    """The voice notes recorded when each assignment was marked done."""
    found: dict[int, list[VoiceNote]] = {}
    if assignment_ids:
        for note in session.exec(select(VoiceNote).where(VoiceNote.assignment_id.in_(assignment_ids))
                                 .order_by(VoiceNote.id)):
            found.setdefault(note.assignment_id, []).append(note)
    return found


def visible_voice(session: Session, user: User, note: VoiceNote) -> VoiceNote:
    """A done voice note, for the volunteer who recorded it and the managers of the task's grid (404 otherwise)."""
    assignment = session.get(Assignment, note.assignment_id) if note.assignment_id else None
    task = session.get(Task, assignment.task_id) if assignment else None
    if task is None or not (assignment.volunteer_id == user.id or may_manage(session, user, task.grid_id)):
        raise NotFound(N_("This voice note does not exist."))
    return note


def visible_photo(session: Session, user: User, photo: Photo) -> Photo:
    """A done photo, for the volunteer who took it and the managers of the task's grid (404 otherwise)."""
    assignment = session.get(Assignment, photo.assignment_id)
    task = session.get(Task, assignment.task_id) if assignment else None
    if task is None or not (assignment.volunteer_id == user.id or may_manage(session, user, task.grid_id)):
        raise NotFound(N_("This photo does not exist."))
    return photo


def claim(session: Session, *, user: User, task_id: int, ip: str | None = None) -> Assignment:
    """Take an open place on a task of one's grid or team, while there is room and no clash."""
    task = visible_task(session, user, task_id)
    if not _eligible(session, user, task):
        raise Forbidden(N_("This task is for another grid or team."))
    existing = session.exec(select(Assignment).where(Assignment.task_id == task.id,
                                                     Assignment.volunteer_id == user.id)).first()
    if existing is not None and existing.state in TAKING_PLACES:
        return existing
    _check_room(session, task)
    _check_free(session, user.id, task)
    # The same person taking it twice at the same instant: the one assignment per task and person refuses the second.
    with db.unique_or(session, Conflict("changed_meanwhile", N_("Someone else changed this just now. Please reload."))):
        if existing is None:
            existing = Assignment(task_id=task.id, volunteer_id=user.id)
            session.add(existing)
        existing.state, existing.answered_at = "accepted", utcnow()
    audit.record(session, actor_id=user.id, action="assignment.claim", obj=existing, ip=ip)
    session.commit()
    return existing


# --- Lists ------------------------------------------------------------------------------------------------

def for_volunteer(session: Session, user: User, now: datetime | None = None) -> list[tuple[Task, Assignment]]:
    """The volunteer's tasks still to come or from today, soonest first (so today is on top)."""
    now = now or utcnow()
    local = now.astimezone(SHANGHAI)
    since = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    rows = session.exec(select(Task, Assignment).join(Assignment, Assignment.task_id == Task.id)
                        .where(Assignment.volunteer_id == user.id, Task.ends_at >= since)
                        .order_by(Task.starts_at, Task.id))
    return list(rows)


def today_for(session: Session, user: User, now: datetime | None = None) -> list[tuple[Task, Assignment]]:
    """What the volunteer still has to do today (Beijing day): offered or accepted places that have not ended."""
    now = now or utcnow()
    end_of_day = datetime.combine(now.astimezone(SHANGHAI).date() + timedelta(days=1), time(0), SHANGHAI)
    return [(task, a) for task, a in for_volunteer(session, user, now)
            if a.state in ("offered", "accepted") and task.ends_at > now and task.starts_at < end_of_day]


def for_manager(session: Session, user: User, since: datetime | None = None) -> list[Task]:
    """Tasks in the grids the officer (or coordinator) manages, from `since` (default: today) on."""
    since = since or utcnow() - timedelta(days=1)
    grids = accounts.grid_ids(session, user) if user.is_staff else []
    if not grids:
        return []
    return list(session.exec(select(Task).where(Task.grid_id.in_(grids), Task.ends_at >= since)
                             .order_by(Task.starts_at, Task.id)))


OPEN_AHEAD = timedelta(days=7)  # open places further ahead are not shown yet: a short list for old eyes


def open_for(session: Session, user: User, now: datetime | None = None,
             ahead: timedelta = OPEN_AHEAD) -> list[tuple[Task, int]]:
    """Tasks of the coming week that this volunteer may claim (their grid, or a team they belong to) with room left,
    which they hold no live assignment on; with the places already taken."""
    if user.role != "volunteer" or user.status != "active":
        return []
    now = now or utcnow()
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    mine = select(Assignment.task_id).where(Assignment.volunteer_id == user.id, Assignment.state != "declined")
    taken = (select(sa.func.count()).select_from(Assignment)
             .where(Assignment.task_id == Task.id, Assignment.state.in_(TAKING_PLACES)).scalar_subquery())
    where_ok = sa.or_(Task.team_id.in_(teams), sa.and_(Task.team_id.is_(None), Task.grid_id == user.home_grid_id))
    # The station first: with ix_task_station_ends the search is this station's coming week, not the province's year.
    rows = session.exec(select(Task, taken).where(Task.station_id == user.station_id, where_ok, Task.ends_at > now,
                                                  Task.starts_at < now + ahead, Task.id.not_in(mine),
                                                  taken < Task.capacity)
                        .order_by(Task.starts_at, Task.id))
    return [(task, count) for task, count in rows]


def needs_action(items: list[Task], rows: dict[int, list[tuple[Assignment, User]]], evidence: dict[int, Evidence],
                 now: datetime) -> dict[str, int]:
    """What an officer's task list asks of them now: places done and waiting to be verified (and how many of those
    carry flagged evidence), today's (Beijing day) tasks, and the places still empty on those that have not ended."""
    day = now.astimezone(SHANGHAI).date()
    done = [a for found in rows.values() for a, _v in found if a.state == "done"]
    today = [t for t in items if t.starts_at.astimezone(SHANGHAI).date() == day]
    empty = sum(max(0, t.capacity - sum(a.state in TAKING_PLACES for a, _v in rows.get(t.id, [])))
                for t in today if t.ends_at > now)
    return {"to_verify": len(done), "flagged": sum(1 for a in done if a.id in evidence and evidence[a.id].flagged),
            "today": len(today), "empty_places": empty}


def manageable_grids(session: Session, user: User) -> list[Grid]:
    """The grids this officer (or the station's coordinator) may give tasks in."""
    if not user.is_staff:
        return []
    ids = accounts.grid_ids(session, user)
    return list(session.exec(select(Grid).where(Grid.id.in_(ids)).order_by(Grid.code))) if ids else []


def offer_choices(session: Session, user: User) -> tuple[list[User], list[Team]]:
    """Who a new task can be offered to: the active volunteers of the officer's grids, and the station's teams."""
    ids = [g.id for g in manageable_grids(session, user)]
    if not ids:
        return [], []
    people = session.exec(select(User).where(User.home_grid_id.in_(ids), User.role == "volunteer", User.status == "active")
                          .order_by(User.home_grid_id, User.name))
    teams = session.exec(select(Team).where(Team.station_id == user.station_id).order_by(Team.name))
    return list(people), list(teams)


def assignments_of(session: Session, task_ids: list[int]) -> dict[int, list[tuple[Assignment, User]]]:
    """Each task's assignments with the volunteer."""
    result: dict[int, list[tuple[Assignment, User]]] = {i: [] for i in task_ids}
    if task_ids:
        for a, u in session.exec(select(Assignment, User).join(User, User.id == Assignment.volunteer_id)
                                 .where(Assignment.task_id.in_(task_ids)).order_by(Assignment.id)):
            result[a.task_id].append((a, u))
    return result

