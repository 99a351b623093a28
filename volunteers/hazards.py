"""Hazards (隐患) and clues (线索): reported with a place and photos, routed to a grid by point-in-polygon,
and worked to closure by the grid's officers — "解决一个、销号一个".

The state machine (DESIGN.md): reported → accepted → assigned → rectifying → rectified → closed, plus
rejected and duplicate, and rectified → rectifying when re-inspection fails. The one who closes must not
be the one who marked it rectified.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import accounts, audit, clientids, db, fields, grids, notifications, photos, voice
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, N_, NotFound
from volunteers.models import (Grid, GridOfficer, Hazard, HazardEvent, HazardMessage, Notification,
                               NotificationChoice, Photo, Team,
                               TeamMember, User, VoiceNote, utcnow)
from volunteers.patrols import parse_time


KINDS = ("hazard", "clue")
CATEGORIES = ("fire", "gas_electric", "traffic", "public_order", "dispute", "suspicious", "other")
PRIORITIES = ("low", "normal", "high", "urgent")
# Days to fix, by priority, when the officer sets no deadline.
DEADLINE_DAYS = {"urgent": 1, "high": 3, "normal": 7, "low": 14}
OUTCOMES = ("mediated", "referred", "failed")
FINAL = ("closed", "rejected", "duplicate")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("accepted", "rejected", "duplicate"),
    "accepted": ("assigned", "rejected", "duplicate"),
    "assigned": ("rectifying",),
    "rectifying": ("rectified",),
    "rectified": ("closed", "rectifying"),
    "closed": (),
    "rejected": (),
    "duplicate": (),
}
STATES = tuple(TRANSITIONS)
# Named, not "not FINAL": `status IN (…)` lets ix_hazard_grid_status find only the open rows (bench/README.md).
OPEN = tuple(s for s in STATES if s not in FINAL)

# Words people see; translated by the web layer.
KIND_LABELS = {"hazard": N_("Hazard"), "clue": N_("Clue")}
CATEGORY_LABELS = {"fire": N_("Fire safety"), "gas_electric": N_("Gas / electricity"), "traffic": N_("Traffic"),
                   "public_order": N_("Public order"), "dispute": N_("Dispute"),
                   "suspicious": N_("Suspicious person or activity"), "other": N_("Other")}
STATE_LABELS = {"reported": N_("Reported"), "accepted": N_("Accepted"), "assigned": N_("Assigned"),
                "rectifying": N_("Being fixed"), "rectified": N_("Fixed, awaiting re-inspection"),
                "closed": N_("Closed"), "rejected": N_("Rejected"), "duplicate": N_("Duplicate")}
PRIORITY_LABELS = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High"), "urgent": N_("Urgent")}
OUTCOME_LABELS = {"mediated": N_("Mediated"), "referred": N_("Referred"), "failed": N_("Failed")}
MAX_NOTE = 1000
MAX_DESCRIPTION = 2000
MAX_ADDRESS = 200


# --- Who may see and do what ------------------------------------------------------------------------

def officer_of(session: Session, user: User, grid_id: int | None) -> bool:
    """Whether the user is an officer holding this grid."""
    if grid_id is None or user.role != "officer":
        return False
    return session.get(GridOfficer, (grid_id, user.id)) is not None


def is_station_manager(user: User, hazard: Hazard) -> bool:
    """The station's coordinator (or an admin) oversees every grid and the station queue."""
    return user.is_manager and user.station_id == hazard.station_id


def can_move(session: Session, user: User, hazard: Hazard) -> bool:
    """Only officers of the hazard's grid, or the station's coordinator, move it through its states."""
    return is_station_manager(user, hazard) or officer_of(session, user, hazard.grid_id)


def in_assigned_team(session: Session, user: User, hazard: Hazard) -> bool:
    return hazard.team_id is not None and session.get(TeamMember, (hazard.team_id, user.id)) is not None


def confirmed_by(session: Session, user: User, hazard: Hazard) -> bool:
    """Whether this person said "就是这个" on the report (threads.confirm) instead of reporting it again."""
    return session.exec(select(HazardMessage.id).where(HazardMessage.hazard_id == hazard.id,
                                                       HazardMessage.kind == "confirm",
                                                       HazardMessage.author_id == user.id)).first() is not None


def can_see(session: Session, user: User, hazard: Hazard) -> bool:
    """The reporter, whoever it is assigned to, those who may move it, and (a hazard only) those who confirmed it."""
    return (hazard.reporter_id == user.id or hazard.assignee_id == user.id
            or in_assigned_team(session, user, hazard) or can_move(session, user, hazard)
            or (hazard.kind == "hazard" and user.role == "volunteer" and confirmed_by(session, user, hazard)))


def reporter_shown_to(session: Session, user: User, hazard: Hazard) -> bool:
    """A clue's reporter is shown only to officers of its grid; a hazard's to all who may move it."""
    if hazard.reporter_id == user.id:
        return True
    if hazard.kind == "clue":
        return officer_of(session, user, hazard.grid_id)
    return can_move(session, user, hazard)


def visible(session: Session, user: User, hazard_id: int) -> Hazard:
    """A hazard the user may see; anyone else gets 404, as if it did not exist."""
    hazard = db.get(session, Hazard, hazard_id)
    if hazard is None or not can_see(session, user, hazard):
        raise NotFound(N_("This report does not exist."))
    return hazard


def next_states(session: Session, user: User, hazard: Hazard) -> tuple[str, ...]:
    """The steps this user may take now (for the buttons)."""
    if not can_move(session, user, hazard):
        return ()
    steps = TRANSITIONS[hazard.status]
    if hazard.status == "rectified" and hazard.rectified_by_id == user.id:
        steps = tuple(s for s in steps if s != "closed")
    return steps


def is_overdue(hazard: Hazard, now: datetime | None = None) -> bool:
    """Past its deadline and not finished."""
    return hazard.deadline is not None and hazard.status not in FINAL and hazard.deadline < (now or utcnow())


# --- Reporting ----------------------------------------------------------------------------------------

def _choice(data: dict[str, Any], field: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(field) or default
    if value is None:
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
    if value not in choices:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field=field, value=str(value)[:40])
    return value


@dataclass(frozen=True)
class ReportInput:
    """A report, validated: kind, category, words, and a place (GPS point and/or an address)."""
    client_id: str
    kind: str
    category: str
    description: str
    point: tuple[float, float] | None
    accuracy_m: float | None
    address: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> "ReportInput":
        """Validate a form or multipart body; a report needs a point or an address."""
        client_id = clientids.parse(data.get("client_id"))
        kind = _choice(data, "kind", KINDS, default="hazard")
        category = _choice(data, "category", CATEGORIES)
        point = fields.point(data, required=False)
        accuracy = fields.number(data, "accuracy_m", low=0, high=100_000, required=False) if point else None
        address = fields.text(data, "address", MAX_ADDRESS)
        if point is None and not address:
            raise Invalid("location_required", N_("Please give the place: use your location, tap the map, or type an address or landmark."))
        return cls(client_id, kind, category, fields.text(data, "description", MAX_DESCRIPTION), point, accuracy, address)


_hazard_t, _event_t = Hazard.__table__, HazardEvent.__table__
_INSERT_HAZARD, _INSERT_EVENT = sa.insert(_hazard_t), sa.insert(_event_t)
_INSERT_NOTIFICATION = sa.insert(Notification.__table__)
# The grid's officers and whether each chose SMS for new reports too (one read, before the SQLite path's writes).
_OFFICERS_OF_GRID = sa.select(
    GridOfficer.__table__.c.user_id, NotificationChoice.__table__.c.sms.is_not(None).label("sms")
).outerjoin(NotificationChoice.__table__, sa.and_(
    NotificationChoice.__table__.c.user_id == GridOfficer.__table__.c.user_id,
    NotificationChoice.__table__.c.kind == "grid_report", NotificationChoice.__table__.c.sms.is_(True))
).where(GridOfficer.__table__.c.grid_id == sa.bindparam("grid_id"))
_GRID_CODE = sa.select(Grid.__table__.c.code).where(Grid.__table__.c.id == sa.bindparam("grid_id"))
_HAZARD_COLUMNS = ("client_id", "fingerprint", "station_id", "grid_id", "reporter_id", "kind", "category", "description",
                   "lat", "lon", "accuracy_m", "address", "status", "priority", "deadline", "assignee_id", "team_id",
                   "duplicate_of_id", "rectified_by_id", "mediation_outcome", "closed_at", "reported_at", "updated_at")


# A report without photos on PostgreSQL is ONE statement (issue 13): the hazard, then — reading its new id — its first
# event, a notification to each officer of its grid (with SMS where they chose it) and the audit row, as
# data-modifying CTEs (audit.audited_insert). Each step writes what the SQLite path below writes with its own INSERT
# (tests/test_hazards_hot_path.py compares them on both databases).
def _first_event(new_row: sa.CTE) -> sa.CTE:
    return sa.insert(_event_t).from_select(
        ["hazard_id", "actor_id", "at", "from_status", "to_status", "note", "detail"],
        sa.select(new_row.c.id, sa.bindparam("reporter_id", type_=_event_t.c.actor_id.type),
                  sa.bindparam("reported_at", type_=_event_t.c.at.type), sa.null(), sa.literal_column("'reported'"),
                  sa.literal_column("''"), sa.literal_column("'{}'").cast(_event_t.c.detail.type))
    ).cte("first_event")


def _grid_notifications(new_row: sa.CTE) -> sa.CTE:
    n, go, nc = Notification.__table__, GridOfficer.__table__, NotificationChoice.__table__
    now = sa.bindparam("reported_at", type_=n.c.created_at.type)
    chose_sms = sa.and_(nc.c.user_id == go.c.user_id, nc.c.kind == sa.literal_column("'grid_report'"), nc.c.sms.is_(True))
    return sa.insert(n).from_select(
        ["user_id", "hazard_id", "message", "link", "params", "kind", "created_at", "updated_at", "read_at", "sms_state"],
        sa.select(go.c.user_id, new_row.c.id, sa.bindparam("n_message", type_=n.c.message.type),
                  sa.func.concat(sa.literal_column("'/hazards/'"), new_row.c.id, sa.literal_column("'/thread'")),
                  sa.func.json_build_object(sa.literal_column("'id'"), new_row.c.id,
                                            sa.literal_column("'title'"), sa.bindparam("n_title", type_=sa.Text),
                                            sa.literal_column("'changes'"),
                                            sa.bindparam("n_changes", type_=n.c.params.type), type_=n.c.params.type),
                  sa.literal_column("'grid_report'"), now, now, sa.null(),
                  sa.case((nc.c.user_id.is_not(None), sa.literal_column("'due'")), else_=sa.literal_column("''")))
        .select_from(new_row).join(go, go.c.grid_id == sa.bindparam("grid_id", type_=go.c.grid_id.type))
        .outerjoin(nc, chose_sms)
    ).cte("grid_notifications")


def report(session: Session, *, user: User, data: dict[str, Any], uploads: list[bytes], store: photos.PhotoStore,
           ip: str | None = None, allowance: photos.Allowance = photos.Allowance(), voice_note: bytes | None = None,
           voice_store: voice.VoiceStore | None = None) -> tuple[Hazard, bool]:
    """File a report with up to six photos and a voice note into the grid it lies in; a retry returns the first
    report (the same voice note too; a different one under the same client_id is a 409).

    The rows (report, its first event, audit, the grid officers' notifications) are written with prebuilt Core
    INSERTs in one transaction (issue 13) — on PostgreSQL, for a report without photos or voice, as one statement
    (_INSERT_REPORT_AUDITED). A report without photos or voice is inserted straight away and the client_id only
    looked up when it collides; one with them is looked up first, so a retry never counts them again."""
    req = ReportInput.parse(data)
    if len(uploads) > photos.MAX_PER_REPORT:
        raise Invalid("too_many_photos", N_("At most %(count)d photos per report."), count=photos.MAX_PER_REPORT)
    content = {"kind": req.kind, "category": req.category, "description": req.description, "point": req.point,
               "accuracy_m": req.accuracy_m, "address": req.address, "photos": [photos.sha256(b) for b in uploads]}
    if voice_note:  # only then: reports sent before voice notes existed keep their fingerprint
        content["voice"] = voice.sha256(voice_note)
    fp = clientids.fingerprint(content)
    if uploads or voice_note:
        existing = clientids.saved(session, Hazard, req.client_id, user.id, fp)
        if existing is not None:
            return existing, False
    # A retry of a saved report answered above without counting its photos again; a new one may be over the limit.
    if voice_note and voice_store is None:
        raise ValueError("a voice note needs a store")
    # A voice note counts as one upload against the same hourly allowance as the photos.
    photos.admit(session, user_id=user.id, uploads=uploads + ([voice_note] if voice_note else []), allowance=allowance)
    processed = [photos.process(b) for b in uploads]  # every photo is checked before anything is written
    spoken = voice.check(voice_note) if voice_note else None
    index = grids.grid_index(session, user.station_id) if req.point else None
    grid_id = index.locate(*req.point) if index is not None else None
    now = utcnow()
    row = dict(client_id=req.client_id, fingerprint=fp, station_id=user.station_id, grid_id=grid_id,
               reporter_id=user.id, kind=req.kind, category=req.category, description=req.description,
               lat=req.point[0] if req.point else None, lon=req.point[1] if req.point else None,
               accuracy_m=req.accuracy_m, address=req.address, status="reported", priority="normal", deadline=None,
               assignee_id=None, team_id=None, duplicate_of_id=None, rectified_by_id=None, mediation_outcome=None,
               closed_at=None,
               reported_at=now, updated_at=now)
    conn = session.connection()
    if not processed and not spoken and conn.dialect.name == "postgresql":
        try:
            row["id"] = _INSERT_REPORT_AUDITED.scalar_one(conn, row | audit.audit_params(
                actor_id=user.id, ip=ip, detail={"photos": 0}) | {
                "n_message": STAFF_HEADLINE, "n_title": title_of(SimpleNamespace(**row)),
                "n_changes": [[N_("new in your grid"), {}]]})
            session.commit()
        except sa.exc.IntegrityError as err:
            session.rollback()
            return clientids.collided(session, Hazard, req.client_id, user.id, fp, err), False
        return _reported(session, row, index), True
    # Read before the first write: on SQLite the INSERTs hold the database's one write lock until the commit.
    officers = conn.execute(_OFFICERS_OF_GRID, {"grid_id": grid_id}).all() if grid_id else []
    stored: list[str] = []
    stored_voice: str | None = None
    try:
        row["id"] = conn.execute(_INSERT_HAZARD, row).inserted_primary_key[0]
        conn.execute(_INSERT_EVENT, {"hazard_id": row["id"], "actor_id": user.id, "at": now, "from_status": None,
                                     "to_status": "reported", "note": "", "detail": {}})
        for p in processed:
            photo = photos.keep(store, p, created_at=now, hazard_id=row["id"])
            stored.append(photo.stored_name)
            session.add(photo)
        if spoken:
            note = voice.keep(voice_store, spoken, created_at=now, hazard_id=row["id"])
            stored_voice = note.stored_name
            session.add(note)
        audit.insert(conn, actor_id=user.id, action="hazard.report", object_type="hazard", object_id=row["id"],
                     ip=ip, detail={"photos": len(processed), **({"voice_s": spoken.seconds} if spoken else {})})
        if officers:
            title = title_of(SimpleNamespace(**row))
            conn.execute(_INSERT_NOTIFICATION, [notifications.first_about_report(
                officer_id, hazard_id=row["id"], headline=STAFF_HEADLINE, step=[N_("new in your grid"), {}],
                kind="grid_report", now=now, link=None, params={"id": row["id"], "title": title},
                sms=sms) for officer_id, sms in officers])
        session.commit()
    except sa.exc.IntegrityError as err:
        session.rollback()
        for name in stored:
            store.delete(name)
        if stored_voice:
            voice_store.delete(stored_voice)
        return clientids.collided(session, Hazard, req.client_id, user.id, fp, err), False
    except BaseException:
        session.rollback()
        for name in stored:
            store.delete(name)
        if stored_voice:
            voice_store.delete(stored_voice)
        raise
    return _reported(session, row, index), True


_INSERT_REPORT_AUDITED = db.Prebuilt(audit.audited_insert(
    Hazard.__table__, _HAZARD_COLUMNS, action="hazard.report", object_type="hazard",
    extra_ctes=(_first_event, _grid_notifications)))


def _reported(session: Session, row: dict[str, Any], index: grids.GridIndex | None) -> Hazard:
    """The new report as a persistent ORM object without reading it back (the caller may go on with it like any
    report); its grid's code, known from the grid index, is left for grid_code() to answer once without a query."""
    hazard = db.as_loaded(session, Hazard, row)
    if index is not None and hazard.grid_id in index.codes:
        session.info["reported_grid_code"] = (hazard.id, hazard.grid_id, index.codes[hazard.grid_id])
    return hazard




def first_step(hazard: Hazard, reporter: User) -> Step:
    """A report's history right after it was filed without photos, as history() would read it back for its
    reporter: one step, reported by them (saves the report's answer three queries, issue 13)."""
    event = HazardEvent(hazard_id=hazard.id, actor_id=reporter.id, at=hazard.reported_at, from_status=None,
                        to_status="reported", note="", detail={})
    return Step(event, reporter.name, [])


def officers_of_grid(session: Session, grid_id: int | None) -> list[int]:
    if grid_id is None:
        return []
    return list(session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == grid_id)))


# --- Moving through the states ----------------------------------------------------------------------

def parse_deadline(value: Any) -> datetime | None:
    """A deadline as a date (end of that day in Asia/Shanghai) or an ISO time with zone."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("bad_time", N_("The field “%(field)s” must be an ISO 8601 time with a time zone."), status=400, field="deadline")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return parse_time(value, "deadline")
    return datetime.combine(day, time(23, 59), SHANGHAI).astimezone(timezone.utc)


def transition(session: Session, *, user: User, hazard_id: int, data: dict[str, Any], photo: bytes | None,
               store: photos.PhotoStore, ip: str | None = None,
               allowance: photos.Allowance = photos.Allowance()) -> Hazard:
    """Move a hazard one step along the state machine, recording who, when, why, and an optional photo."""
    hazard = visible(session, user, hazard_id)
    to = data.get("to")
    if to not in STATES:
        raise Invalid("unknown_state", N_("“%(value)s” is not a state a report can be in."), value=str(to)[:40])
    if not can_move(session, user, hazard):
        raise Forbidden(N_("Only the officers of this grid or the station coordinator can change this report."))
    if to not in TRANSITIONS[hazard.status]:
        raise Conflict("illegal_transition", N_("A report that is “%(current)s” cannot become “%(to)s”."),
                       current=STATE_LABELS[hazard.status], to=STATE_LABELS[to])
    note = fields.text(data, "note", MAX_NOTE)
    # Every check runs before the hazard is touched: a refused step must leave nothing in the caller's session.
    changes: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    now = utcnow()
    if to == "accepted":
        priority = _choice(data, "priority", PRIORITIES, default="normal")
        deadline = parse_deadline(data.get("deadline"))
        if deadline is not None and deadline < now:
            raise Invalid("deadline_past", N_("The deadline must be in the future."))
        changes = {"priority": priority, "deadline": deadline or now + timedelta(days=DEADLINE_DAYS[priority])}
        detail = {"priority": priority, "deadline": changes["deadline"].isoformat()}
    elif to == "rejected" or (hazard.status == "rectified" and to == "rectifying"):
        if not note:
            raise Invalid("reason_required", N_("Please write the reason."))
    elif to == "duplicate":
        original = _original(session, user, hazard, fields.integer(data, "duplicate_of"))
        changes = {"duplicate_of_id": original.id}
        detail = {"duplicate_of": original.id}
    elif to == "assigned":
        assignee, team = _assignee(session, user, hazard, data)
        changes = {"assignee_id": assignee.id if assignee else None, "team_id": team.id if team else None}
        detail = dict(changes)
    elif to == "rectified":
        if not note and not photo:
            raise Invalid("evidence_required", N_("Add an “after” photo or a note of what was done."))
        changes = {"rectified_by_id": user.id}
    elif to == "closed":
        if hazard.rectified_by_id == user.id:
            raise DomainError("same_inspector", N_("Someone other than the person who marked it fixed must re-inspect and close it."),
                              status=403)
        if hazard.category == "dispute":
            changes = {"mediation_outcome": _choice(data, "mediation_outcome", OUTCOMES)}
            detail = dict(changes)
        changes["closed_at"] = now  # not in `detail`: the event's own time says it
    photos.admit(session, user_id=user.id, uploads=[photo] if photo else [], allowance=allowance)
    processed = photos.process(photo) if photo else None
    for field, value in changes.items():
        setattr(hazard, field, value)
    stored = None
    try:
        event = HazardEvent(hazard_id=hazard.id, actor_id=user.id, at=now, from_status=hazard.status, to_status=to,
                            note=note, detail=detail)
        session.add(event)
        session.flush()
        if processed:
            row = photos.keep(store, processed, created_at=now, hazard_id=hazard.id, event_id=event.id)
            stored = row.stored_name
            session.add(row)
        # Only move if nobody else moved it meanwhile (two officers on one report).
        moved = session.execute(sa.update(Hazard).where(Hazard.id == hazard.id, Hazard.status == hazard.status)
                                .values(status=to, updated_at=now)).rowcount
        if moved != 1:
            raise Conflict("changed_meanwhile", N_("Someone else changed this report just now. Please reload."))
        session.add(hazard)
        audit.record(session, actor_id=user.id, action=f"hazard.{to}", obj=hazard, ip=ip, note=note, **detail)
        change, change_params = _change(session, hazard, to, note)
        if hazard.reporter_id != user.id:
            notifications.about_report(session, user_id=hazard.reporter_id, hazard_id=hazard.id, now=now,
                                       headline=REPORTER_HEADLINE, change=change, change_params=change_params,
                                       title=title_of(hazard))
        if to == "assigned" and hazard.assignee_id not in (None, user.id, hazard.reporter_id):
            notifications.about_report(session, user_id=hazard.assignee_id, hazard_id=hazard.id, now=now,
                                       headline=STAFF_HEADLINE, change=N_("given to you"), kind="other",
                                       link=f"/hazards/{hazard.id}", id=hazard.id, title=title_of(hazard))
        session.commit()
    except BaseException:
        session.rollback()
        if stored:
            store.delete(stored)
        raise
    session.refresh(hazard)
    return hazard


REPORTER_HEADLINE = N_("Your report “%(title)s”: %(changes)s")
STAFF_HEADLINE = N_("Report #%(id)d “%(title)s”: %(changes)s")


def title_of(hazard: Hazard) -> str:
    """A report's short name in a notification: the start of its words, or its category."""
    words = " ".join(hazard.description.split())
    return words[:16] + ("…" if len(words) > 16 else "") if words else CATEGORY_LABELS[hazard.category]


def _change(session: Session, hazard: Hazard, to: str, note: str) -> tuple[str, dict[str, Any]]:
    """One step in words for a notification: the state's name, or to whom it was given."""
    if to == "assigned":
        given = (session.get(User, hazard.assignee_id) if hazard.assignee_id else None) or \
            (session.get(Team, hazard.team_id) if hazard.team_id else None)
        name = given.name if given is not None else ""
        return (N_("given to %(name)s"), {"name": name}) if name else (STATE_LABELS[to], {})
    if to == "rejected" and note:
        return N_("rejected: %(note)s"), {"note": note[:60]}
    return STATE_LABELS[to], {}


def _original(session: Session, user: User, hazard: Hazard, original_id: int | None) -> Hazard:
    if original_id is None:
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field="duplicate_of")
    original = db.get(session, Hazard, original_id)
    if original is None or original.id == hazard.id or original.station_id != hazard.station_id:
        raise Invalid("unknown_original", N_("Report #%(id)d cannot be the original of this one."), id=original_id)
    seen = {hazard.id}
    while original.duplicate_of_id is not None and original.id not in seen:  # point at the first report
        seen.add(original.id)
        original = session.get(Hazard, original.duplicate_of_id)
    if original.id == hazard.id:
        raise Invalid("unknown_original", N_("Report #%(id)d cannot be the original of this one."), id=original_id)
    return original


def _assignee(session: Session, user: User, hazard: Hazard, data: dict[str, Any]) -> tuple[User | None, Team | None]:
    assignee_id, team_id = fields.integer(data, "assignee_id"), fields.integer(data, "team_id")
    if team_id is not None:
        team = db.get(session, Team, team_id)
        if team is None or team.station_id != hazard.station_id:
            raise Invalid("unknown_team", N_("There is no such team at this station."))
        return None, team
    if assignee_id is None:
        return user, None
    assignee = db.get(session, User, assignee_id)
    ok = (assignee is not None and assignee.station_id == hazard.station_id and assignee.status == "active"
          and (assignee.is_staff or hazard.grid_id is None or assignee.home_grid_id == hazard.grid_id))
    if not ok:
        raise Invalid("unknown_assignee", N_("This person cannot be given this report."))
    return assignee, None


# --- Lists and history ------------------------------------------------------------------------------------

PRIORITY_RANK = sa.case({"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Hazard.priority, else_=4)


def triage(session: Session, user: User, *, status: str | None = None, category: str | None = None,
           grid_id: int | None = None, overdue: bool = False, limit: int = 200) -> list[Hazard]:
    """Reports in the officer's grids (the coordinator also sees the station queue), most urgent and newest first."""
    query = select(Hazard).where(Hazard.station_id == user.station_id)
    if user.role == "officer":
        query = query.where(Hazard.grid_id.in_(accounts.grid_ids(session, user)))
    elif not user.is_manager:
        return []
    if status == "open":
        query = query.where(Hazard.status.in_(OPEN))
    elif status in STATES:
        query = query.where(Hazard.status == status)
    if category in CATEGORIES:
        query = query.where(Hazard.category == category)
    if grid_id == 0:
        query = query.where(Hazard.grid_id.is_(None))
    elif grid_id is not None and not 0 < grid_id <= db.MAX_ID:
        return []
    elif grid_id is not None:
        query = query.where(Hazard.grid_id == grid_id)
    if overdue:
        query = query.where(Hazard.deadline < utcnow(), Hazard.status.in_(OPEN))
    order = (sa.case((Hazard.status.in_(FINAL), 1), else_=0), PRIORITY_RANK, Hazard.reported_at.desc(), Hazard.id.desc())
    return list(session.exec(query.order_by(*order).limit(limit)))


def mine(session: Session, user: User) -> list[Hazard]:
    """What this person reported, newest first."""
    return list(session.exec(select(Hazard).where(Hazard.reporter_id == user.id)
                             .order_by(Hazard.reported_at.desc(), Hazard.id.desc())))


@dataclass
class Step:
    event: HazardEvent
    actor_name: str | None  # None: hidden (a clue's reporter)
    photo_ids: list[int]


def history(session: Session, user: User, hazard: Hazard) -> list[Step]:
    """The report's steps, oldest first; a clue's reporter stays anonymous to those who may not know them."""
    events = list(session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)
                               .order_by(HazardEvent.at, HazardEvent.id)))
    names = {uid: name for uid, name in session.exec(
        select(User.id, User.name).where(User.id.in_({e.actor_id for e in events if e.actor_id})))}
    by_event: dict[int, list[int]] = {}
    for photo_id, event_id in session.exec(select(Photo.id, Photo.event_id).where(Photo.hazard_id == hazard.id)):
        if event_id is not None:
            by_event.setdefault(event_id, []).append(photo_id)
    hide = not reporter_shown_to(session, user, hazard)
    return [Step(e, None if (hide and e.actor_id == hazard.reporter_id) else names.get(e.actor_id),
                 sorted(by_event.get(e.id, []))) for e in events]


def report_photos(session: Session, hazard: Hazard) -> list[Photo]:
    """The photos taken with the report itself (not the 'after' photos of later steps)."""
    return list(session.exec(select(Photo).where(Photo.hazard_id == hazard.id, Photo.event_id.is_(None),
                                                 Photo.message_id.is_(None)).order_by(Photo.id)))


def all_photos(session: Session, hazard: Hazard) -> list[Photo]:
    """Every photo of the report and its steps, the report's own first (a thread's photos are in the thread)."""
    return list(session.exec(select(Photo).where(Photo.hazard_id == hazard.id, Photo.message_id.is_(None))
                             .order_by(Photo.id)))


def visible_photo(session: Session, user: User, photo_id: int) -> Photo:
    """A photo, only for those who may see its report (404 otherwise)."""
    photo = db.get(session, Photo, photo_id)
    if photo is None or photo.hazard_id is None:
        raise NotFound(N_("This photo does not exist."))
    visible(session, user, photo.hazard_id)
    return photo


def voice_notes(session: Session, hazard: Hazard) -> list[VoiceNote]:
    """The report's own voice note (those sent in its thread are the thread's, see threads.messages)."""
    return list(session.exec(select(VoiceNote).where(VoiceNote.hazard_id == hazard.id, VoiceNote.message_id.is_(None))
                             .order_by(VoiceNote.id)))


def visible_voice(session: Session, user: User, note: VoiceNote) -> VoiceNote:
    """A report's own voice note, only for those who may see the report (404 otherwise; a thread's voice note goes
    through threads.visible_voice)."""
    if note.hazard_id is None or note.message_id is not None:
        raise NotFound(N_("This voice note does not exist."))
    visible(session, user, note.hazard_id)
    return note


def grid_code(session: Session, hazard: Hazard) -> str | None:
    """The grid's code, or None while it sits in the station queue."""
    hint = session.info.pop("reported_grid_code", None)  # a report just filed (report(): one query less, issue 13)
    if hint is not None and hint[:2] == (hazard.id, hazard.grid_id):
        return hint[2]
    return session.connection().execute(_GRID_CODE, {"grid_id": hazard.grid_id}).scalar() if hazard.grid_id else None


def triage_grids(session: Session, user: User) -> list[Grid]:
    """The grids whose reports the user triages: an officer's own, the whole station for the coordinator."""
    if not user.is_staff:
        return []
    return list(session.exec(select(Grid).where(Grid.id.in_(accounts.grid_ids(session, user))).order_by(Grid.code)))


def station_grids(session: Session, station_id: int) -> list[Grid]:
    """Every grid of the station (outlines on the reporting map; boundaries are not personal data)."""
    return list(session.exec(select(Grid).where(Grid.station_id == station_id).order_by(Grid.code)))


def assignment_choices(session: Session, hazard: Hazard) -> tuple[list[User], list[Team]]:
    """Who a report may be given to: active volunteers of its grid (of the station while queued), and the station's teams."""
    people = select(User).where(User.station_id == hazard.station_id, User.role == "volunteer", User.status == "active")
    if hazard.grid_id is not None:
        people = people.where(User.home_grid_id == hazard.grid_id)
    teams = select(Team).where(Team.station_id == hazard.station_id).order_by(Team.name)
    return list(session.exec(people.order_by(User.name))), list(session.exec(teams))


def mediation_success_rate(session: Session, station_id: int) -> float | None:
    """Of the station's closed disputes with an outcome, the share that was mediated."""
    rows = {outcome: count for outcome, count in session.exec(
        select(Hazard.mediation_outcome, sa.func.count()).where(
            Hazard.station_id == station_id, Hazard.category == "dispute", Hazard.status == "closed",
            Hazard.mediation_outcome.is_not(None)).group_by(Hazard.mediation_outcome))}
    total = sum(rows.values())
    return rows.get("mediated", 0) / total if total else None
