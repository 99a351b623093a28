"""Reading the audit trail: the coordinator's view of who did what to which object, when and from where."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import db, roles
from volunteers.errors import N_
from volunteers.models import AuditEvent, User

PAGE_SIZE = 50


@dataclass
class Filters:
    """What the log is narrowed to; `before` is the id the next page starts below (keyset paging)."""
    actor: int | None = None
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    since: date | None = None
    until: date | None = None
    before: int | None = None

    @classmethod
    def parse(cls, args: dict[str, Any]) -> "Filters":
        """Malformed values are dropped, not refused: the list still opens."""

        def number(field: str) -> int | None:
            raw = args.get(field)
            return int(raw) if isinstance(raw, str) and raw.isdigit() and 0 < int(raw) <= db.MAX_ID else None

        def day(field: str) -> date | None:
            try:
                return date.fromisoformat(args.get(field) or "")
            except (TypeError, ValueError):
                return None

        text = {k: (args.get(k) or "")[:64] if isinstance(args.get(k), str) else "" for k in ("action", "object_type")}
        return cls(actor=number("actor"), action=text["action"], object_type=text["object_type"],
                   object_id=number("object_id"), since=day("since"), until=day("until"), before=number("before"))

    def query_args(self, **overrides: Any) -> dict[str, Any]:
        """These filters as URL parameters (empty ones left out)."""
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "object_id": self.object_id,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None, "before": self.before}
        values.update(overrides)
        return {k: v for k, v in values.items() if v not in (None, "")}


MANAGERS_ONLY = N_("Only the coordinator reads the audit log.")


def _station_actors(user: User):
    return select(User.id).where(User.station_id == user.station_id)


def events(session: Session, user: User, filters: Filters) -> tuple[list[tuple[AuditEvent, User]], int | None]:
    """One page (50, newest first) of the station's events — those done by its people — and the id the next page
    starts below, or None on the last page."""
    roles.require_manager(user, MANAGERS_ONLY)
    query = (select(AuditEvent, User).join(User, User.id == AuditEvent.actor_id)
             .where(User.station_id == user.station_id))
    if filters.actor is not None:
        query = query.where(AuditEvent.actor_id == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), SHANGHAI))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), SHANGHAI))
    if filters.before is not None:
        query = query.where(AuditEvent.id < filters.before)
    rows = list(session.exec(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, rows[-1][0].id if more else None


def choices(session: Session, user: User) -> dict[str, list]:
    """The actors, actions and object types that occur in the station's log, for the filter menus."""
    roles.require_manager(user, MANAGERS_ONLY)
    actors = session.exec(select(User).where(User.id.in_(select(AuditEvent.actor_id).distinct()),
                                             User.station_id == user.station_id).order_by(User.name)).all()
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.actor_id.in_(_station_actors(user)))
                           .distinct().order_by(AuditEvent.action)).all()
    types = session.exec(select(AuditEvent.object_type).where(AuditEvent.actor_id.in_(_station_actors(user)),
                                                              AuditEvent.object_type != "")
                         .distinct().order_by(AuditEvent.object_type)).all()
    return {"actors": list(actors), "actions": list(actions), "object_types": list(types)}


# --- Reading an event in words ------------------------------------------------------------------------------

BATCH_WINDOW = timedelta(seconds=5)  # one person's same action on several objects within this is one batch
BATCH_SCAN = 1000  # at most this many events are read for one page of lines


@dataclass(frozen=True)
class Msg:
    """Words the page translates (a msgid and its parameters), where a value is a code, not a name."""
    msgid: str
    params: tuple = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


def msg(msgid: str, **params: Any) -> Msg:
    return Msg(msgid, tuple(sorted(params.items())))


# What each kind of object is called, and the detail keys the log shows (others are left out: ids of internals).
OBJECT_KINDS = {
    "user": N_("Person"), "team": N_("Team"), "hazard": N_("Report"), "patrol": N_("Patrol"), "task": N_("Task"),
    "assignment": N_("Task place"), "servicerecord": N_("Service hours"), "monthcertification": N_("Month"),
    "certificate": N_("Certificate"), "commendation": N_("Honour"), "grid": N_("Grid"), "checkpoint": N_("Checkpoint"),
    "route": N_("Route"), "duty": N_("Duty"), "checkin": N_("Check-in"),
}
DETAIL_LABELS = {
    "note": N_("Note"), "reason": N_("Reason"), "minutes": N_("Hours"), "count": N_("How many"),
    "photos": N_("Photos"), "user_id": N_("Person"), "checkpoint_id": N_("Checkpoint"), "grid_id": N_("Grid"),
    "checkpoint_ids": N_("Checkpoints"), "assignee_id": N_("Assigned to"), "label": N_("Name"), "name": N_("Name"),
    "month": N_("Month"), "number": N_("Number"), "accepted": N_("Accepted"), "corrects": N_("Corrects record"),
    "priority": N_("Priority"), "deadline": N_("Deadline"), "duplicate_of": N_("Duplicate of"), "kind": N_("Kind"),
    "failures": N_("Failed tries cleared"), "kept": N_("Shifts kept"), "cancelled": N_("Shifts called off"),
    "added": N_("Added"), "removed": N_("Removed"), "grids_released": N_("Grids handed back"),
    "teams_unled": N_("Teams left without a leader"), "changed": N_("Changed"), "code": N_("Code"),
    "grid": N_("Grid"), "radius_m": N_("Radius"),
}


@dataclass
class Line:
    """One line of the log: an event, or a batch of the same action by the same person within seconds (`events`,
    newest first), with the changes and facts in words."""
    events: list[AuditEvent]
    actor: User | None
    changes: list[tuple[Any, Any, Any]] = field(default_factory=list)  # (what or None, before, after)
    facts: list[tuple[str, Any]] = field(default_factory=list)  # (label msgid, value)

    @property
    def event(self) -> AuditEvent:
        return self.events[0]

    @property
    def count(self) -> int:
        return len(self.events)


def _batches(rows: list[tuple[AuditEvent, User]]) -> list[Line]:
    lines: list[Line] = []
    for event, actor in rows:
        last = lines[-1] if lines else None
        if (last and last.event.actor_id == event.actor_id and last.event.action == event.action
                and last.event.ip == event.ip and last.event.object_type == event.object_type
                and abs(last.event.at - event.at) <= BATCH_WINDOW):
            last.events.append(event)
        else:
            lines.append(Line([event], actor))
    return lines


def lines(session: Session, user: User, filters: Filters) -> tuple[list[Line], int | None]:
    """One page (50 lines, newest first) of the station's log, each batch of the same action by one person within
    seconds (45 approvals in one go) as one line; and the id the next page starts below, or None on the last page."""
    roles.require_manager(user, MANAGERS_ONLY)
    rows: list[tuple[AuditEvent, User]] = []
    start = filters
    while True:
        page, before = events(session, user, start)
        rows.extend(page)
        batches = _batches(rows)
        if before is None or len(batches) > PAGE_SIZE or len(rows) >= BATCH_SCAN:
            break
        start = Filters(**{**start.__dict__, "before": before})
    batches = _batches(rows)
    more = before is not None or len(batches) > PAGE_SIZE
    batches = batches[:PAGE_SIZE]
    next_before = batches[-1].events[-1].id if more and batches else None
    for line in batches:
        describe(session, line)
    return batches, next_before


def object_names(session: Session, events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """What each object of these events is called (a person's name, a grid's code and name, a record's volunteer and
    day …), a few queries for a whole page."""
    from volunteers.models import (Assignment, Certificate, Checkpoint, Commendation, Duty, Grid, MonthCertification,
                                   Patrol, Route, ServiceRecord, Task, Team)
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.object_type and e.object_id:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    names: dict[tuple[str, int], str] = {}

    def rows(model, ids):
        return session.exec(select(model).where(model.id.in_(sorted(ids)))).all() if ids else []

    people: dict[int, str] = {}

    def person(ids: set[int]) -> None:
        missing = {i for i in ids if i not in people}
        for u in rows(User, missing):
            people[u.id] = u.name

    plain = {"user": (User, "name"), "team": (Team, "name"), "checkpoint": (Checkpoint, "name"),
             "route": (Route, "name"), "duty": (Duty, "title"), "task": (Task, "title"),
             "certificate": (Certificate, "number"), "commendation": (Commendation, "title"),
             "monthcertification": (MonthCertification, "month")}
    for kind, (model, attr) in plain.items():
        for row in rows(model, wanted.get(kind, set())):
            names[(kind, row.id)] = str(getattr(row, attr, "") or "")
    for row in rows(Grid, wanted.get("grid", set())):
        names[("grid", row.id)] = f"{row.code} · {row.name}"
    records = rows(ServiceRecord, wanted.get("servicerecord", set()))
    patrols = rows(Patrol, wanted.get("patrol", set()))
    assignments = rows(Assignment, wanted.get("assignment", set()))
    person({r.volunteer_id for r in records} | {p.user_id for p in patrols} | {a.volunteer_id for a in assignments})
    for r in records:
        names[("servicerecord", r.id)] = f"{people.get(r.volunteer_id, '')} {r.starts_at.astimezone(SHANGHAI):%m-%d}"
    for p in patrols:
        names[("patrol", p.id)] = f"{people.get(p.user_id, '')} {p.started_at.astimezone(SHANGHAI):%m-%d %H:%M}"
    titles = {t.id: t.title for t in rows(Task, {a.task_id for a in assignments})}
    for a in assignments:
        names[("assignment", a.id)] = f"{people.get(a.volunteer_id, '')} · {titles.get(a.task_id, '')}"
    return names


def _word(labels: dict[str, str], value: Any) -> Any:
    return Msg(labels[value]) if isinstance(value, str) and value in labels else value


def describe(session: Session, line: Line) -> None:
    """Fill in the line's changes (before → after, in words) and facts (labelled values, ids as names)."""
    from volunteers import hazards, people, tasks, teams
    from volunteers.models import Checkpoint, Grid
    event = line.event
    detail = dict(event.detail or {})
    ids = {k: v for k, v in detail.items() if k in ("user_id", "assignee_id", "checkpoint_id", "grid_id", "added",
                                                    "removed", "checkpoint_ids", "grids_released")}
    user_ids: set[int] = set()
    for key in ("user_id", "assignee_id", "added", "removed"):
        value = ids.get(key)
        user_ids |= set(value if isinstance(value, list) else [value] if isinstance(value, int) else [])
    if event.action == "team.leader":
        user_ids |= {v for v in (detail.get("before"), detail.get("after")) if isinstance(v, int)}
    who = {u.id: u.name for u in session.exec(select(User).where(User.id.in_(sorted(user_ids) or [-1])))}
    cp_ids = set(detail.get("checkpoint_ids") or []) | ({detail["checkpoint_id"]} if isinstance(detail.get("checkpoint_id"), int) else set())
    points = {c.id: c.name for c in session.exec(select(Checkpoint).where(Checkpoint.id.in_(sorted(cp_ids) or [-1])))}
    grid_ids = set(detail.get("grids_released") or []) | ({detail["grid_id"]} if isinstance(detail.get("grid_id"), int) else set())
    grids = {g.id: f"{g.code} · {g.name}" for g in session.exec(select(Grid).where(Grid.id.in_(sorted(grid_ids) or [-1])))}

    before, after = detail.pop("before", None), detail.pop("after", None)
    if event.action.startswith("person.") and event.action != "person.role":
        line.changes.append((None, _word(people.STATUS_LABELS, before), _word(people.STATUS_LABELS, after)))
    elif event.action == "person.role":
        line.changes.append((None, _word(people.ROLE_LABELS, before), _word(people.ROLE_LABELS, after)))
    elif event.action == "team.leader":
        line.changes.append((None, who.get(before, Msg(N_("nobody"))), who.get(after, Msg(N_("nobody")))))
    elif isinstance(before, dict):  # a form's fields before (and after) the change
        after = after if isinstance(after, dict) else {}
        for key, old in before.items():
            if after and after.get(key) == old:
                continue
            labels = teams.KIND_LABELS if key == "kind" else {}
            new = _word(labels, after[key]) if key in after else None  # None: only the old value was kept
            line.changes.append((DETAIL_LABELS.get(key, key), _word(labels, old), new))
    elif before is not None or after is not None:
        line.changes.append((None, before if before is not None else Msg(N_("nothing")), after))

    def value(key: str, raw: Any) -> Any:
        if key == "minutes" and isinstance(raw, (int, float)):
            return msg(N_("%(hours)s hours"), hours=f"{raw / 60:.1f}".rstrip("0").rstrip("."))
        if key in ("user_id", "assignee_id"):
            return who.get(raw, raw)
        if key in ("added", "removed") and isinstance(raw, list):
            return "、".join(str(who.get(i, i)) for i in raw)
        if key == "checkpoint_id":
            return points.get(raw, raw)
        if key == "checkpoint_ids" and isinstance(raw, list):
            return "、".join(str(points.get(i, i)) for i in raw)
        if key == "grid_id":
            return grids.get(raw, raw)
        if key == "grids_released" and isinstance(raw, list):
            return "、".join(str(grids.get(i, i)) for i in raw)
        if key == "priority":
            return _word(hazards.PRIORITY_LABELS, raw)
        if key == "kind":
            return _word({**teams.KIND_LABELS, **tasks.KIND_LABELS, **hazards.KIND_LABELS}, raw)
        if key == "corrects":
            return f"#{raw}"
        if key == "changed" and isinstance(raw, list):
            return "、".join(str(DETAIL_LABELS.get(k, k)) for k in raw)
        if isinstance(raw, bool):
            return Msg(N_("yes") if raw else N_("no"))
        if isinstance(raw, list):
            return "、".join(str(v) for v in raw)
        return raw

    for key, raw in sorted(detail.items()):
        if key not in DETAIL_LABELS or raw in (None, "", []):
            continue
        line.facts.append((DETAIL_LABELS[key], value(key, raw)))
