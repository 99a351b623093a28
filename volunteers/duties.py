"""Recurring duties (weekly patterns), the week's schedule (周调度) and shift reminders."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import audit, clientids, db, fields, notifications, tasks
from volunteers.errors import Forbidden, Invalid, N_, NotFound
from volunteers.models import Assignment, Checkpoint, Duty, Notification, Task, Team, User, utcnow
from volunteers.sms import Sms
from volunteers.localtime import SHANGHAI, today  # noqa: F401 (duties.today is used by callers)
from volunteers.tasks import TAKING_PLACES

MAX_WINDOWS = 3
WEEKDAY_VALUES = {str(n) for n in range(7)}
GENERATE_DAYS = 14
REMINDER = N_("Reminder: “%(title)s” starts at %(time)s.")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# --- Patterns ------------------------------------------------------------------------------------------

def monday_of(day: date) -> date:
    """The Monday of the week a day falls in."""
    return day - timedelta(days=day.weekday())


def _day(value: Any, field_name: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid("bad_date", N_("“%(value)s” is not a date like 2025-09-01."), status=400,
                      value=str(value)[:20]) from None


def _hhmm(value: str) -> str:
    """A time of day written like 07:20: the one check for a pattern's windows, typed into the form or saved."""
    value = str(value).strip()
    if not _HHMM.match(value):
        raise Invalid("bad_time", N_("“%(value)s” is not a time of day like 07:20."), value=value[:20])
    return value


def parse_pattern(session: Session, *, user: User, data: dict[str, Any]) -> Duty:
    """Check a weekly pattern typed into the form and return it unsaved; every rule breaks with its own message."""
    kind = data.get("kind")
    if kind not in tasks.KINDS:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field="kind", value=str(kind)[:40])
    title = fields.text(data, "title", 100, required=True)
    grid_id = fields.integer(data, "grid", required=True)
    if not tasks.may_manage(session, user, grid_id):
        raise Forbidden(N_("You can only give tasks in your own grids."))
    team_id = fields.integer(data, "team_id")
    if team_id is not None:
        team = db.get(session, Team, team_id)
        if team is None or team.station_id != user.station_id:
            raise Invalid("unknown_team", N_("There is no such team at this station."))
    checkpoint_id = fields.integer(data, "checkpoint_id")
    if checkpoint_id is not None:
        cp = db.get(session, Checkpoint, checkpoint_id)
        if cp is None or cp.grid_id != grid_id:
            raise Invalid("unknown_checkpoint", N_("This point is not in the chosen grid."))
    weekdays = sorted({int(d) for d in data.get("weekdays") or [] if str(d) in WEEKDAY_VALUES})
    if not weekdays:
        raise Invalid("no_weekday", N_("Choose at least one day of the week."))
    windows = []
    for n in range(1, MAX_WINDOWS + 1):
        start, end = (data.get(f"start_{n}") or "").strip(), (data.get(f"end_{n}") or "").strip()
        if not start and not end:
            continue
        start, end = _hhmm(start), _hhmm(end)
        if end <= start:
            raise Invalid("ends_before_start", N_("The end must be after the start."))
        windows.append([start, end])
    if not windows:
        raise Invalid("no_window", N_("Enter at least one time window, like 07:20–08:00."))
    first = _day(data.get("first_day") or "", "first_day")
    last = _day(data.get("last_day") or "", "last_day")
    if last < first:
        raise Invalid("last_before_first", N_("The last day must not be before the first day."))
    skips = sorted({_day(part, "skip_dates").isoformat()
                    for part in re.split(r"[,，\s]+", data.get("skip_dates") or "") if part})
    capacity = fields.integer(data, "capacity", required=True)
    if not 1 <= capacity <= tasks.MAX_CAPACITY:
        raise Invalid("bad_capacity", N_("The number of people needed must be between 1 and %(max)d."),
                      max=tasks.MAX_CAPACITY)
    return Duty(station_id=user.station_id, grid_id=grid_id, team_id=team_id, created_by_id=user.id, kind=kind,
                title=title, place=fields.text(data, "place", 200), checkpoint_id=checkpoint_id, weekdays=weekdays,
                windows=windows, skip_dates=skips, first_day=first, last_day=last, capacity=capacity)


def expand(duty: Duty, first: date | None = None, last: date | None = None) -> list[tuple[datetime, datetime]]:
    """Every shift the weekly pattern makes between two days (inclusive), skipping listed dates, in UTC."""
    first = max(first or duty.first_day, duty.first_day)
    last = min(last or duty.last_day, duty.last_day)
    skipped = {date.fromisoformat(d) for d in duty.skip_dates}
    windows = [(time.fromisoformat(_hhmm(a)), time.fromisoformat(_hhmm(b))) for a, b in duty.windows]
    shifts = []
    day = first
    while day <= last:
        if day.weekday() in duty.weekdays and day not in skipped:
            for start, end in windows:
                begin = datetime.combine(day, start, SHANGHAI)
                finish = datetime.combine(day, end, SHANGHAI)
                if finish <= begin:  # a night shift ends the next morning
                    finish += timedelta(days=1)
                shifts.append((begin.astimezone(timezone.utc), finish.astimezone(timezone.utc)))
        day += timedelta(days=1)
    return shifts


def create_pattern(session: Session, *, user: User, data: dict[str, Any], now: datetime | None = None,
                   ip: str | None = None) -> tuple[Duty, list[Task]]:
    """Save a weekly pattern and make its shifts for the next two weeks. A retry under the same client_id
    gives the saved duty and its shifts again."""
    cid = clientids.optional(data)
    new = parse_pattern(session, user=user, data=data)
    duty, created = clientids.create(session, Duty, cid, user.id, {k: getattr(new, k) for k in PATTERN_FIELDS},
                                     make=lambda: new)
    if not created:
        return duty, list(session.exec(select(Task).where(Task.duty_id == duty.id).order_by(Task.starts_at)))
    audit.record(session, actor_id=user.id, action="duty.create", obj=duty, ip=ip)
    return duty, generate_ahead(session, user=user, duty=duty, now=now)


def generate_ahead(session: Session, *, user: User, duty: Duty, now: datetime | None = None) -> list[Task]:
    """Make the duty's shifts from today to two weeks ahead (shifts already made are kept as they are)."""
    start = today(now)
    return generate(session, user=user, duty=duty, first=start, last=start + timedelta(days=GENERATE_DAYS - 1))


def generate(session: Session, *, user: User, duty: Duty, first: date, last: date) -> list[Task]:
    """Create the tasks (open shifts) a duty's pattern makes between two days; existing ones are kept."""
    if not tasks.may_manage(session, user, duty.grid_id):
        raise Forbidden(N_("You can only give tasks in your own grids."))
    made = []
    for begin, end in expand(duty, first, last):
        # The shift's id is its duty and start, so a shift made meanwhile (another officer, the jobs) is kept.
        cid = f"duty-{duty.id}-{begin.isoformat()}"
        if clientids.saved(session, Task, cid, None, "duty") is not None:
            continue
        task = Task(client_id=cid, fingerprint="duty", station_id=duty.station_id, grid_id=duty.grid_id,
                    team_id=duty.team_id, created_by_id=user.id, duty_id=duty.id, kind=duty.kind, title=duty.title,
                    place=duty.place, checkpoint_id=duty.checkpoint_id, starts_at=begin, ends_at=end,
                    capacity=duty.capacity)
        if clientids.insert(session, task, model=Task, cid=cid, creator_id=None, fp="duty") is None:
            made.append(task)
    audit.record(session, actor_id=user.id, action="duty.generate", obj=duty, count=len(made))
    session.commit()
    return made


PATTERN_FIELDS = ("grid_id", "team_id", "kind", "title", "place", "checkpoint_id", "weekdays", "windows", "skip_dates",
                  "first_day", "last_day", "capacity")
SHIFT_FIELDS = ("grid_id", "team_id", "kind", "title", "place", "checkpoint_id", "capacity")
CANCELLED = N_("The shift “%(title)s” on %(time)s was cancelled.")
CHANGED = N_("The shift “%(title)s” on %(time)s was changed. Please look at it again.")


def _shift_time(task: Task) -> str:
    return task.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _people_on(session: Session, task: Task) -> list[int]:
    """Who was offered or holds a place on a shift (they are told when it changes)."""
    return list(session.exec(select(Assignment.volunteer_id).where(
        Assignment.task_id == task.id, Assignment.state.in_(("offered",) + TAKING_PLACES))))


def _cancel_shift(session: Session, task: Task) -> None:
    """Remove a shift that has not started; everyone on it is told."""
    for volunteer_id in _people_on(session, task):
        notifications.notify(session, user_id=volunteer_id, link="/tasks/", message=CANCELLED, title=task.title,
                             time=_shift_time(task))
    session.delete(task)


def _future_shifts(session: Session, duty: Duty, now: datetime) -> list[Task]:
    return list(session.exec(select(Task).where(Task.duty_id == duty.id, Task.starts_at > now).order_by(Task.starts_at)))


def update_pattern(session: Session, *, user: User, duty_id: int, data: dict[str, Any], now: datetime | None = None,
                   ip: str | None = None) -> tuple[Duty, int, int, list[Task]]:
    """Change a pattern. Shifts already started stay as they were (they are history and hours). Shifts to come that
    the new pattern still has keep their people and take the new title, place and size; the others are cancelled
    (their people are told); missing ones for the next two weeks are made. → (duty, kept, cancelled, made)."""
    now = now or utcnow()
    duty = managed_duty(session, user=user, duty_id=duty_id)
    new = parse_pattern(session, user=user, data=data)
    for name in PATTERN_FIELDS:
        setattr(duty, name, getattr(new, name))
    wanted = set(expand(duty))
    kept = cancelled = 0
    for task in _future_shifts(session, duty, now):
        if (task.starts_at, task.ends_at) not in wanted:
            _cancel_shift(session, task)
            cancelled += 1
            continue
        changed = [name for name in SHIFT_FIELDS if getattr(task, name) != getattr(duty, name)]
        for name in changed:
            setattr(task, name, getattr(duty, name))
        if changed:
            for volunteer_id in _people_on(session, task):
                notifications.notify(session, user_id=volunteer_id, link="/tasks/", message=CHANGED, title=task.title,
                                     time=_shift_time(task))
        kept += 1
    session.add(duty)
    session.flush()
    audit.record(session, actor_id=user.id, action="duty.update", obj=duty, ip=ip, kept=kept, cancelled=cancelled)
    return duty, kept, cancelled, generate_ahead(session, user=user, duty=duty, now=now)


def stop_pattern(session: Session, *, user: User, duty_id: int, now: datetime | None = None,
                 ip: str | None = None) -> tuple[bool, int]:
    """Stop a duty: its shifts to come are cancelled (their people are told). A duty none of whose shifts has
    started is deleted; otherwise it ends today and its past shifts stay, with their hours. → (deleted, cancelled)."""
    now = now or utcnow()
    duty = managed_duty(session, user=user, duty_id=duty_id)
    future = _future_shifts(session, duty, now)
    for task in future:
        _cancel_shift(session, task)
    session.flush()
    started = session.exec(select(Task.id).where(Task.duty_id == duty.id).limit(1)).first() is not None
    audit.record(session, actor_id=user.id, action="duty.stop" if started else "duty.delete", obj=duty, ip=ip,
                 cancelled=len(future))
    if started:
        duty.last_day = max(duty.first_day, min(duty.last_day, today(now) - timedelta(days=1)))
        session.add(duty)
    else:
        session.delete(duty)
    session.commit()
    return not started, len(future)


def managed_duty(session: Session, *, user: User, duty_id: int) -> Duty:
    """A duty of a grid this person manages; anyone else gets a 404."""
    duty = db.get(session, Duty, duty_id)
    if duty is None or not tasks.may_manage(session, user, duty.grid_id):
        raise NotFound(N_("This duty does not exist."))
    return duty


def patterns(session: Session, *, user: User) -> list[Duty]:
    """The duties in the grids this person manages, by grid then title."""
    ids = [g.id for g in tasks.manageable_grids(session, user)]
    if not ids:
        return []
    return list(session.exec(select(Duty).where(Duty.grid_id.in_(ids)).order_by(Duty.grid_id, Duty.title, Duty.id)))


# --- The week view ---------------------------------------------------------------------------------------

@dataclass
class Cell:
    """One shift on one day: who is on it, and how many more are needed."""
    task: Task
    names: list[str] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return len(self.names)

    @property
    def missing(self) -> int:
        return max(0, self.task.capacity - self.filled)


@dataclass
class Row:
    """One post at one time of day (title + window) across the seven days."""
    title: str
    place: str
    start: str
    end: str
    cells: list[list[Cell]]


def week_rows(session: Session, *, grid_ids: list[int], monday: date, team_id: int | None = None) -> list[Row]:
    """The week's schedule: shifts starting Monday 00:00 to Sunday 24:00 Asia/Shanghai in these grids (and team),
    one row per title + local time window, one cell per day; people count when accepted, done or verified.
    One query for the whole table."""
    if not grid_ids:
        return []
    begin = datetime.combine(monday, time(0), SHANGHAI).astimezone(timezone.utc)
    end = begin + timedelta(days=7)
    where = [Task.grid_id.in_(grid_ids), Task.starts_at >= begin, Task.starts_at < end]
    if team_id is not None:
        where.append(Task.team_id == team_id)
    on = sa.and_(Assignment.task_id == Task.id, Assignment.state.in_(TAKING_PLACES))
    query = (select(Task, User.name).outerjoin(Assignment, on).outerjoin(User, User.id == Assignment.volunteer_id)
             .where(*where).order_by(Task.starts_at, Task.id, Assignment.id))
    cells: dict[int, Cell] = {}
    for task, name in session.exec(query):
        cell = cells.setdefault(task.id, Cell(task))
        if name is not None:
            cell.names.append(name)
    rows: dict[tuple[str, str, str], Row] = {}
    for cell in cells.values():
        start = cell.task.starts_at.astimezone(SHANGHAI)
        finish = cell.task.ends_at.astimezone(SHANGHAI)
        key = (start.strftime("%H:%M"), finish.strftime("%H:%M"), cell.task.title)
        row = rows.setdefault(key, Row(cell.task.title, cell.task.place, key[0], key[1], [[] for _ in range(7)]))
        row.cells[(start.date() - monday).days].append(cell)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[2], k[0], k[1]))]


@dataclass
class Day:
    """One day of the week as a phone lists it: its shifts in time order, and how many places are still empty."""
    day: date
    shifts: list[tuple[Row, Cell]]

    @property
    def missing(self) -> int:
        return sum(cell.missing for _row, cell in self.shifts)


def week_days(rows: list[Row], monday: date, today: date) -> tuple[list[Day], list[Day]]:
    """The week day by day for a phone: (from today to Sunday, the days already past) in this week; another week
    whole from Monday, nothing past."""
    days = [Day(monday + timedelta(days=n), sorted(((row, cell) for row in rows for cell in row.cells[n]),
                                                   key=lambda rc: (rc[1].task.starts_at, rc[0].title)))
            for n in range(7)]
    return [d for d in days if d.day >= today], [d for d in days if d.day < today]


def week_grids(session: Session, *, user: User, grid_id: int | None) -> list[int]:
    """The grids the week view shows: the chosen one if this person manages it (else 404), or all theirs."""
    mine = [g.id for g in tasks.manageable_grids(session, user)]
    if grid_id is None:
        return mine
    if grid_id not in mine:
        raise NotFound(N_("This grid does not exist."))
    return [grid_id]


# --- Reminders ---------------------------------------------------------------------------------------------

def reminder_link(assignment_id: int) -> str:
    """Where a reminder points; also how a reminder already sent is recognised."""
    return f"/tasks/#assignment-{assignment_id}"


def remind_upcoming(session: Session, now: datetime | None = None, within: timedelta = timedelta(minutes=60), *,
                    sms: Sms, render: Callable[[str, dict[str, Any]], str] | None = None) -> int:
    """Remind each volunteer with an accepted shift starting within the hour, once: an in-app message and an SMS."""
    now = now or utcnow()
    render = render or (lambda message, params: message % params)
    rows = list(session.exec(
        select(Assignment, Task, User).join(Task, Task.id == Assignment.task_id)
        .join(User, User.id == Assignment.volunteer_id)
        .where(Assignment.state == "accepted", Task.starts_at > now, Task.starts_at <= now + within)
        .order_by(Task.starts_at, Assignment.id)))
    if not rows:
        return 0
    links = [reminder_link(a.id) for a, _t, _u in rows]
    done = set(session.exec(select(Notification.user_id, Notification.link)
                            .where(Notification.message == REMINDER, Notification.link.in_(links))))
    sent = 0
    for assignment, task, person in rows:
        link = reminder_link(assignment.id)
        if (person.id, link) in done:
            continue
        params = {"title": task.title, "time": task.starts_at.astimezone(SHANGHAI).strftime("%H:%M")}
        # kind "reminder": not one of the SMS choices, since its SMS goes below in any case
        notifications.notify(session, user_id=person.id, message=REMINDER, link=link, kind="reminder", **params)
        session.commit()  # recorded before the SMS goes out, so a crash never sends it twice
        sms.send(person.phone, render(REMINDER, params))
        sent += 1
    return sent
