"""The audit trail: one row for every state change.

Also the audit trail as people read it: filters, grouped lines in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import db, roles
from volunteers.errors import N_
from volunteers.localtime import SHANGHAI
from volunteers.models import AuditEvent, User, utcnow

# What each action code means, for the coordinator's audit log (an unknown code is shown as it is).
ACTION_LABELS = {
    "login": N_("Logged in"), "logout": N_("Logged out"), "token.issue": N_("API token issued"),
    "token.revoke": N_("API token revoked"),
    "patrol.start": N_("Patrol started"), "patrol.end": N_("Patrol ended"),
    "patrol.discard": N_("Patrol discarded (under a minute, no check-in)"), "patrol.positions": N_("Patrol track sent"),
    "checkin.create": N_("Checked in at a point"),
    "hazard.report": N_("Report filed"), "hazard.accepted": N_("Report accepted"), "hazard.assigned": N_("Report assigned"),
    "hazard.rectifying": N_("Report being fixed"), "hazard.rectified": N_("Report fixed"),
    "hazard.closed": N_("Report closed"), "hazard.rejected": N_("Report rejected"),
    "hazard.duplicate": N_("Report marked duplicate"),
    "task.create": N_("Task given"), "task.cancel": N_("Task called off"), "assignment.accept": N_("Task accepted"), "assignment.decline": N_("Task declined"),
    "assignment.done": N_("Task done"), "assignment.verify": N_("Task verified"),
    "assignment.no_show": N_("Marked did not come"), "assignment.claim": N_("Open place taken"),
    "duty.create": N_("Duty created"), "duty.update": N_("Duty changed"), "duty.stop": N_("Duty stopped"),
    "duty.delete": N_("Duty deleted"), "duty.generate": N_("Shifts made"), "shift.missed_alert": N_("Missed points reported"),
    "service_record.derive_patrol": N_("Hours from a patrol"),
    "service_record.derive_assignment": N_("Hours from a task"), "service_record.manual": N_("Hours added by hand"),
    "service_record.correct": N_("Hours corrected"), "service_record.approve": N_("Hours approved"),
    "service_record.reject": N_("Hours rejected"),
    "service_record.recount": N_("Hours recounted after an overlapping record was rejected"), "month.certify": N_("Month certified"),
    "certificate.publish": N_("Certificate published"), "certificate.object": N_("Objection recorded"),
    "certificate.resolve": N_("Objection resolved"), "certificate.issue": N_("Certificate issued"),
    "certificate.withdraw": N_("Certificate withdrawn"), "commendation.record": N_("Honour recorded"),
    "roster.import": N_("Roster imported"), "user.import": N_("Person imported"),
    "person.signup": N_("Signed up"), "person.approve": N_("Account approved"), "person.suspend": N_("Account suspended"),
    "person.reactivate": N_("Account reactivated"), "user.clear_lockout": N_("Login lock lifted"), "person.reset_password": N_("Password reset"),
    "person.change_password": N_("Own password changed"),
    "person.role": N_("Role changed"),
    "team.create": N_("Team created"), "team.update": N_("Team renamed"), "team.leader": N_("Team leader set"),
    "team.add_member": N_("Member added"), "team.remove_member": N_("Member removed"),
    "grid.create": N_("Grid created"), "grid.update": N_("Grid changed"), "grid.officers": N_("Grid officers changed"),
    "checkpoint.create": N_("Checkpoint placed"), "checkpoint.update": N_("Checkpoint changed"),
    "checkpoint.rotate_qr": N_("QR secret renewed"), "checkpoint.retire": N_("Checkpoint retired"),
    "checkpoint.restore": N_("Checkpoint back in use"), "route.create": N_("Route created"),
    "route.rename": N_("Route renamed"), "route.delete": N_("Route deleted"),
    "route.add_stop": N_("Point added to route"), "route.move_stop": N_("Route order changed"),
    "route.remove_stop": N_("Point removed from route"),
}


def action_label(action: str) -> str:
    """The msgid that says what an action code means (the code itself when there is none)."""
    return ACTION_LABELS.get(action, action)


def record(session: Session, *, actor_id: int | None, action: str, obj: Any = None,
           ip: str | None = None, **detail: Any) -> AuditEvent:
    """Add an audit event for `action` on `obj` (not committed: it rides the caller's transaction)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        ip=ip,
        detail=detail,
    )
    session.add(event)
    return event


_table = AuditEvent.__table__
_INSERT = _table.insert()


def insert(conn: Any, *, actor_id: int | None, action: str, object_type: str, object_id: int | None,
           ip: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """The same audit row as record(), written with one prebuilt Core INSERT on the caller's connection (and so in
    its transaction): the write hot path's way, where no ORM object is wanted (issue 13)."""
    conn.execute(_INSERT, {"at": utcnow(), "actor_id": actor_id, "action": action, "object_type": object_type,
                           "object_id": object_id, "ip": ip, "detail": detail or {}})


# --- A row and its audit event in one statement (PostgreSQL) ------------------------------------------------------
# On PostgreSQL each statement costs the app ~0.3 ms of client CPU (SQLAlchemy + psycopg) and a round trip, so the hot
# writes send the new row and its audit event as ONE statement: a data-modifying CTE inserts the row and hands its id
# to the audit INSERT, in the same transaction; a unique client_id colliding fails the whole statement, so a retry
# leaves neither row (issue 13). SQLite has no INSERT inside WITH: there the two INSERTs stay two statements.
AUDIT_PARAMS = ("audit_at", "audit_actor_id", "audit_ip", "audit_detail")
_AUDITED: dict[tuple, sa.Insert] = {}


def audited_insert(table: sa.Table, columns: tuple[str, ...], *, action: str, object_type: str,
                   extra_ctes: tuple = ()) -> sa.Insert:
    """`WITH new_row AS (INSERT INTO table (columns) VALUES (:columns…) RETURNING id) INSERT INTO audit_event …
    SELECT … FROM new_row RETURNING object_id`: bind the row's values by column name and the audit's as
    audit_at, audit_actor_id, audit_ip, audit_detail; the result's one scalar is the new row's id. Built once per
    (table, columns, action) and kept. `extra_ctes(new_row)` may add more data-modifying CTEs that read new_row (a
    report's first event and notifications): callables → CTE, each referenced so that it runs."""
    key = (table.name, columns, action, object_type, extra_ctes)
    stmt = _AUDITED.get(key)
    if stmt is None:
        new_row = sa.insert(table).values({name: sa.bindparam(name, type_=table.c[name].type) for name in columns}) \
            .returning(table.c.id).cte("new_row")
        select = sa.select(sa.bindparam("audit_at", type_=_table.c.at.type),
                           sa.bindparam("audit_actor_id", type_=_table.c.actor_id.type),
                           _constant(action), _constant(object_type),
                           new_row.c.id, sa.bindparam("audit_ip", type_=_table.c.ip.type),
                           sa.bindparam("audit_detail", type_=_table.c.detail.type)).select_from(new_row)
        stmt = _table.insert().from_select(
            ["at", "actor_id", "action", "object_type", "object_id", "ip", "detail"], select) \
            .returning(_table.c.object_id)
        if extra_ctes:
            stmt = stmt.add_cte(*(make(new_row) for make in extra_ctes))
        _AUDITED[key] = stmt
    return stmt


def _constant(code: str) -> sa.ColumnElement:
    """An action code or object type written into the statement itself (codes only: letters, digits, '.', '_')."""
    if not code.replace(".", "").replace("_", "").isalnum():
        raise ValueError(code)
    return sa.literal_column(f"'{code}'")


def audit_params(*, actor_id: int | None, ip: str | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit row's bound values for audited_insert()."""
    return {"audit_at": utcnow(), "audit_actor_id": actor_id, "audit_ip": ip, "audit_detail": detail or {}}


# --- The audit trail as people read it -----------------------------------------------------------------------------

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
