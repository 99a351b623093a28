"""The service-hours ledger: records derived from evidence (ended patrols, verified shifts), manual entries and
corrections, their approval by grid officers, monthly certification, star levels and the tally.

A record's `month` is the YYYY-MM of its start in Asia/Shanghai (no daylight saving); periods are whole local days.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI, month_of
from volunteers import accounts, audit, clientids, db, roles
from volunteers.errors import Conflict, Forbidden, Invalid, N_, NotFound
from volunteers.models import (Assignment, CheckIn, Checkpoint, Grid, GridOfficer, Hazard, MonthCertification, Patrol,
                               Photo, Route, RouteStop, ServiceRecord, Task, Team, TeamMember, User, utcnow)

TALLY_VIEWS = ("volunteer", "team", "grid")


@dataclass(frozen=True)
class TallyRow:
    """One line of a tally: whose (volunteer, team or grid) and how many minutes, approved and pending."""
    id: int
    name: str
    approved_minutes: int
    pending_minutes: int

    @property
    def approved_hours(self) -> float:
        return round(self.approved_minutes / 60, 2)

    @property
    def pending_hours(self) -> float:
        return round(self.pending_minutes / 60, 2)


def local_midnight(day: date) -> datetime:
    """The start of a local (Asia/Shanghai) day, in UTC."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(timezone.utc)


def tally(session: Session, station_id: int, start: date, end: date, by: str = "volunteer", *,
          grid_ids: list[int] | None = None, volunteer_id: int | None = None, team_id: int | None = None,
          grid_id: int | None = None) -> list[TallyRow]:
    """Minutes per volunteer, team or grid of the station's records starting on local days start..end (inclusive):
    approved = sum of approved records (corrections included, so may fall), pending = sum of pending ones;
    rejected records count nowhere. A volunteer's minutes count for each team they belong to, and a record counts
    for the grid it was filed under. Only those with at least one counted record in the period appear. One query.

    Filters narrow the records: grid_ids (the caller's scope), grid_id, volunteer_id, team_id (its members)."""
    if by not in TALLY_VIEWS:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field="by", value=str(by)[:20])
    if end < start:
        raise Invalid("bad_period", N_("The period ends before it starts."))
    rec = ServiceRecord.__table__.c
    approved = sa.func.coalesce(sa.func.sum(sa.case((rec.status == "approved", rec.minutes), else_=0)), 0)
    pending = sa.func.coalesce(sa.func.sum(sa.case((rec.status == "pending", rec.minutes), else_=0)), 0)
    if by == "volunteer":
        entity = User.__table__.c
        query = sa.select(entity.id, entity.name, approved, pending).select_from(
            ServiceRecord.__table__.join(User.__table__, entity.id == rec.volunteer_id))
    elif by == "team":
        entity = Team.__table__.c
        member = TeamMember.__table__.c
        query = sa.select(entity.id, entity.name, approved, pending).select_from(
            ServiceRecord.__table__.join(TeamMember.__table__, member.user_id == rec.volunteer_id)
            .join(Team.__table__, entity.id == member.team_id))
    else:
        entity = Grid.__table__.c
        query = sa.select(entity.id, entity.name, approved, pending).select_from(
            ServiceRecord.__table__.join(Grid.__table__, entity.id == rec.grid_id))
    query = query.where(rec.station_id == station_id, rec.status.in_(("approved", "pending")),
                        rec.starts_at >= local_midnight(start), rec.starts_at < local_midnight(end + timedelta(days=1)))
    if grid_ids is not None:
        query = query.where(rec.grid_id.in_(list(grid_ids) or [-1]))
    if grid_id is not None:
        query = query.where(rec.grid_id == grid_id)
    if volunteer_id is not None:
        query = query.where(rec.volunteer_id == volunteer_id)
    if team_id is not None:
        member_of = sa.select(TeamMember.__table__.c.user_id).where(TeamMember.__table__.c.team_id == team_id)
        query = query.where(rec.volunteer_id.in_(member_of))
    query = query.group_by(entity.id, entity.name).order_by(approved.desc(), entity.name, entity.id)
    return [TallyRow(int(i), n, int(a), int(p)) for i, n, a, p in session.execute(query)]


# --- Derivation rules -------------------------------------------------------------------------------

MAX_PATROL_MINUTES = 12 * 60
FLAG_NO_CHECKPOINT = "no_checkpoint"
FLAG_CAPPED = "capped"
FLAG_OVERLAP = "overlap"
FLAG_LATE = "after_certification"
# The evidence a shift was marked done with (docs/decisions.md, "Evidence first"): flags for the officer, never refusals.
FLAG_DONE_LATE = "done_late"
FLAG_FAR = "far_from_post"
FLAG_NO_EVIDENCE = "no_evidence"
DONE_LATE_AFTER = timedelta(hours=2)  # "done" this long after the shift ended says little about being there
FAR_ACCURACY_ALLOWANCE_M = 100  # a rough GPS fix may stand this much further off before it counts as far
FLAG_LABELS = {FLAG_NO_CHECKPOINT: N_("No must-visit point checked in"), FLAG_CAPPED: N_("Capped at 12 hours"),
               FLAG_OVERLAP: N_("Overlaps other service"),
               FLAG_LATE: N_("Arrived after its month was certified"),
               FLAG_DONE_LATE: N_("Marked done long after the shift ended"),
               FLAG_FAR: N_("Far from the post"), FLAG_NO_EVIDENCE: N_("No evidence: no location, no photo")}
SOURCE_LABELS = {"patrol": N_("Patrol"), "assignment": N_("Task"), "manual": N_("Manual entry"),
                 "correction": N_("Correction")}
STATUS_LABELS = {"pending": N_("Pending"), "approved": N_("Approved"), "rejected": N_("Rejected")}
STARS = ((5, 1500), (4, 1000), (3, 600), (2, 300), (1, 100))  # (level, approved hours needed)
STAR_NAMES = {0: N_("No star yet"), 1: N_("One star"), 2: N_("Two stars"), 3: N_("Three stars"), 4: N_("Four stars"),
              5: N_("Five stars")}


def whole_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """Whole minutes between two moments, never negative."""
    return max(0, int((ends_at - starts_at).total_seconds() // 60))


def capped_minutes(minutes: int) -> tuple[int, bool]:
    """One patrol counts at most 12 hours; says whether the cap cut it."""
    return (MAX_PATROL_MINUTES, True) if minutes > MAX_PATROL_MINUTES else (minutes, False)


def uncovered_minutes(session: Session, volunteer_id: int, starts_at: datetime, ends_at: datetime,
                      earlier_than: int | None = None) -> tuple[int, bool]:
    """Service of one person is never counted twice: only the minutes no earlier patrol or shift record
    (pending or approved) of theirs already covers count; says whether anything was covered."""
    rec = ServiceRecord.__table__.c
    query = sa.select(rec.starts_at, rec.ends_at).where(
        rec.volunteer_id == volunteer_id, rec.source.in_(("patrol", "assignment")),
        rec.status.in_(("pending", "approved")), rec.starts_at < ends_at, rec.ends_at > starts_at)
    if earlier_than is not None:
        query = query.where(rec.id < earlier_than)
    others = session.execute(query.order_by(rec.starts_at)).all()
    covered = timedelta()
    cursor = starts_at
    for begin, finish in others:
        begin, finish = max(begin, cursor), min(finish, ends_at)
        if finish > begin:
            covered += finish - begin
            cursor = finish
    total = whole_minutes(starts_at, ends_at)
    left = max(0, int(((ends_at - starts_at) - covered).total_seconds() // 60))
    return min(total, left), covered > timedelta()


def patrol_flags(session: Session, patrol) -> list[str]:
    """A patrol with no check-in matched to any must-visit point is flagged for review."""
    hit = session.exec(select(CheckIn.id).where(CheckIn.patrol_id == patrol.id, CheckIn.checkpoint_id.is_not(None))).first()
    return [] if hit else [FLAG_NO_CHECKPOINT]


def done_flags(*, ends_at: datetime, done_at: datetime | None, located: bool, photos: int,
               distance_m: float | None = None, radius_m: float | None = None,
               accuracy_m: float | None = None) -> list[str]:
    """What the officer should look at twice in the evidence a shift was marked done with: no location and no photo
    (an explicit 无定位 included), a location further from the post than its radius (plus up to 100 m for a rough
    fix), or "done" sent more than two hours after the shift ended."""
    flags = []
    if not located and not photos:
        flags.append(FLAG_NO_EVIDENCE)
    if located and distance_m is not None and radius_m is not None:
        if distance_m - min(accuracy_m or 0, FAR_ACCURACY_ALLOWANCE_M) > radius_m:
            flags.append(FLAG_FAR)
    if done_at is not None and done_at > ends_at + DONE_LATE_AFTER:
        flags.append(FLAG_DONE_LATE)
    return flags


def assignment_flags(session: Session, assignment: Assignment, task: Task) -> list[str]:
    """done_flags() for an assignment: its location, its distance to the task's must-visit point, its photos."""
    checkpoint = session.get(Checkpoint, task.checkpoint_id) if task.checkpoint_id else None
    photos = session.exec(select(sa.func.count()).select_from(Photo).where(Photo.assignment_id == assignment.id)).one()
    return done_flags(ends_at=task.ends_at, done_at=assignment.done_at, located=assignment.lat is not None,
                      photos=photos, distance_m=assignment.distance_m,
                      radius_m=checkpoint.radius_m if checkpoint else None, accuracy_m=assignment.accuracy_m)


def overlaps_other_service(session: Session, volunteer_id: int, starts_at: datetime, ends_at: datetime,
                           except_record_id: int | None = None) -> bool:
    """Whether any other pending or approved patrol or shift record of the person covers part of this window."""
    rec = ServiceRecord.__table__.c
    query = sa.select(rec.id).where(rec.volunteer_id == volunteer_id, rec.source.in_(("patrol", "assignment")),
                                    rec.status.in_(("pending", "approved")), rec.starts_at < ends_at,
                                    rec.ends_at > starts_at)
    if except_record_id is not None:
        query = query.where(rec.id != except_record_id)
    return session.execute(query.limit(1)).first() is not None


def _new_evidence_record(session: Session, *, volunteer: User, grid_id: int | None, source: str, starts_at: datetime,
                         ends_at: datetime, cap: bool, flags: list[str], **link) -> ServiceRecord:
    minutes, overlapped = uncovered_minutes(session, volunteer.id, starts_at, ends_at)
    if overlapped:
        flags.append(FLAG_OVERLAP)
    if cap:
        minutes, was_capped = capped_minutes(minutes)
        if was_capped:
            flags.append(FLAG_CAPPED)
    month = filing_month(session, volunteer.station_id, starts_at, flags)
    record = ServiceRecord(station_id=volunteer.station_id, volunteer_id=volunteer.id, grid_id=grid_id, source=source,
                           starts_at=starts_at, ends_at=ends_at, month=month, minutes=minutes, flags=flags, **link)
    try:
        with db.savepoint(session):
            session.add(record)
            session.flush()
    except sa.exc.IntegrityError as err:
        if not db.is_unique_violation(err):
            raise
        # Derived at the same instant by another request (two taps on "end patrol"): that record stands, as a retry's.
        [(column, value)] = link.items()
        return session.exec(select(ServiceRecord).where(getattr(ServiceRecord, column) == value)).one()
    audit.record(session, actor_id=None, action=f"service_record.derive_{source}", obj=record, minutes=minutes)
    return record


def filing_month(session: Session, station_id: int, starts_at: datetime, flags: list[str]) -> str:
    """Evidence that arrives after its month was certified (a phone offline for days) is filed in the current month,
    flagged, so it can still be decided; the certified month stays as it was."""
    month = month_of(starts_at)
    if is_certified(session, station_id, month):
        flags.append(FLAG_LATE)
        return month_of(utcnow())
    return month


def from_patrol(session: Session, patrol) -> ServiceRecord | None:
    """An ended patrol becomes one pending record of its minutes, filed under its route's grid (else the
    volunteer's home grid); deriving it again returns the same record. Not committed."""
    if patrol.ended_at is None or patrol.discarded:
        return None
    existing = session.exec(select(ServiceRecord).where(ServiceRecord.patrol_id == patrol.id)).first()
    if existing is not None:
        return existing
    volunteer = session.get(User, patrol.user_id)
    route = session.get(Route, patrol.route_id) if patrol.route_id else None
    grid_id = route.grid_id if route else volunteer.home_grid_id
    return _new_evidence_record(session, volunteer=volunteer, grid_id=grid_id, source="patrol",
                                starts_at=patrol.started_at, ends_at=patrol.ended_at, cap=True,
                                flags=patrol_flags(session, patrol), patrol_id=patrol.id)


def from_assignment(session: Session, assignment) -> ServiceRecord | None:
    """A verified task assignment becomes one pending record of its shift's minutes, filed under the task's grid;
    deriving it again returns the same record. Not committed."""
    if assignment.state != "verified":
        return None
    existing = session.exec(select(ServiceRecord).where(ServiceRecord.assignment_id == assignment.id)).first()
    if existing is not None:
        return existing
    task = session.get(Task, assignment.task_id)
    volunteer = session.get(User, assignment.volunteer_id)
    return _new_evidence_record(session, volunteer=volunteer, grid_id=task.grid_id, source="assignment",
                                starts_at=task.starts_at, ends_at=task.ends_at, cap=False,
                                flags=assignment_flags(session, assignment, task), assignment_id=assignment.id)


def _count(session: Session, record: ServiceRecord) -> tuple[int, list[str]]:
    """A derived record's minutes and flags as the rules give them now, against the records filed before it."""
    minutes, overlapped = uncovered_minutes(session, record.volunteer_id, record.starts_at, record.ends_at,
                                            earlier_than=record.id)
    flags = [f for f in record.flags or [] if f not in (FLAG_OVERLAP, FLAG_CAPPED)]
    if overlapped:
        flags.append(FLAG_OVERLAP)
    if record.source == "patrol":
        minutes, was_capped = capped_minutes(minutes)
        if was_capped:
            flags.append(FLAG_CAPPED)
    return minutes, flags


def recount_after_rejection(session: Session, rejected: ServiceRecord) -> list[ServiceRecord]:
    """A rejected record no longer covers anything: the still-pending later records of the same person that it had
    shortened get their minutes back (decided records and locked months stay as they are). Not committed."""
    if rejected.source not in ("patrol", "assignment"):
        return []
    later = session.exec(select(ServiceRecord).where(
        ServiceRecord.volunteer_id == rejected.volunteer_id, ServiceRecord.status == "pending",
        ServiceRecord.source.in_(("patrol", "assignment")), ServiceRecord.id > rejected.id,
        ServiceRecord.starts_at < rejected.ends_at, ServiceRecord.ends_at > rejected.starts_at)
        .order_by(ServiceRecord.id)).all()
    changed = []
    for record in later:
        if is_certified(session, record.station_id, record.month):
            continue
        minutes, flags = _count(session, record)
        if (minutes, flags) == (record.minutes, list(record.flags or [])):
            continue
        audit.record(session, actor_id=None, action="service_record.recount", obj=record, minutes=minutes,
                     was=record.minutes)
        record.minutes, record.flags = minutes, flags
        session.add(record)
        changed.append(record)
    session.flush()
    return changed


# --- Who may see and decide ---------------------------------------------------------------------------

def scope_grid_ids(session: Session, user: User) -> list[int] | None:
    """The grids whose records an officer may decide; None for a coordinator (the whole station)."""
    if user.is_manager:
        return None
    if user.role == "officer":
        return accounts.grid_ids(session, user)
    return []


def may_decide(session: Session, user: User, record: ServiceRecord) -> bool:
    """The station's coordinator, and the officers of the record's grid, approve or reject it."""
    if record.station_id != user.station_id:
        return False
    if user.is_manager:
        return True
    return user.role == "officer" and record.grid_id is not None and record.grid_id in accounts.grid_ids(session, user)


def visible_record(session: Session, user: User, record_id: int) -> ServiceRecord:
    """A record its volunteer, its grid's officers and the station's coordinator may see; else 404."""
    record = db.get(session, ServiceRecord, record_id)
    if record is None or not (record.volunteer_id == user.id or may_decide(session, user, record)):
        raise NotFound(N_("This service record does not exist."))
    return record


# --- Locking --------------------------------------------------------------------------------------------

def is_certified(session: Session, station_id: int, month: str) -> bool:
    """Whether the station's month is certified (and so locked)."""
    return session.exec(select(MonthCertification.id).where(MonthCertification.station_id == station_id,
                                                            MonthCertification.month == month)).first() is not None


def check_unlocked(session: Session, station_id: int, month: str) -> None:
    """Records of a certified month are locked: nothing in it is added, approved or rejected any more."""
    if is_certified(session, station_id, month):
        raise Conflict("month_locked", N_("%(month)s is certified and locked; add a correction in an open month instead."),
                       month=month)


# --- Manual entries and corrections ------------------------------------------------------------------------

def _text(data: dict, field: str, limit: int, required: bool = False) -> str:
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise Invalid("bad_text", N_("The field “%(field)s” must be text."), status=400, field=field)
    value = value.strip()
    if required and not value:
        raise Invalid("reason_required", N_("Please write the reason."))
    if len(value) > limit:
        raise Invalid("too_long", N_("“%(field)s” may be at most %(limit)d characters."), field=field, limit=limit)
    return value


def _number(data: dict, field: str, low: int, high: int) -> int:
    raw = data.get(field)
    if raw in (None, ""):
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field) from None
    if not low <= value <= high:
        raise Invalid("out_of_range", N_("“%(field)s” must be between %(low)d and %(high)d."), field=field, low=low,
                      high=high)
    return value


def parse_day(value, field: str) -> date:
    """A calendar day written YYYY-MM-DD."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("bad_date", N_("The field “%(field)s” must be a date like 2026-11-25."), status=400,
                      field=field) from None
    if not 2000 <= day.year < 2100:
        raise Invalid("bad_date", N_("The field “%(field)s” must be a date like 2026-11-25."), status=400, field=field)
    return day


def add_manual(session: Session, *, user: User, data: dict, ip: str | None = None) -> ServiceRecord:
    """A coordinator records service no patrol or task shows (training, event work): a volunteer, a day, minutes
    and a reason; it waits for approval like any record. A retry under the same client_id gives the saved one."""
    roles.require_manager(user, N_("Only the coordinator adds hours by hand."))
    cid = clientids.optional(data)
    volunteer = db.get(session, User, _number(data, "volunteer_id", 1, 2**31 - 1))
    if volunteer is None or volunteer.station_id != user.station_id or volunteer.role != "volunteer":
        raise Invalid("unknown_volunteer", N_("There is no such volunteer at this station."))
    day = parse_day(data.get("day"), "day")
    minutes = _number(data, "minutes", 1, 24 * 60)
    reason = _text(data, "reason", 300, required=True)
    fp, saved = clientids.earlier(session, ServiceRecord, cid, user.id,
                                  {"volunteer_id": volunteer.id, "day": day, "minutes": minutes, "reason": reason})
    if saved is not None:
        return saved
    starts = local_midnight(day) + timedelta(hours=9)
    if day > datetime.now(SHANGHAI).date():
        raise Invalid("in_the_future", N_("Service cannot be recorded for a day still to come."))
    check_unlocked(session, user.station_id, month_of(starts))
    record = ServiceRecord(station_id=user.station_id, volunteer_id=volunteer.id, grid_id=volunteer.home_grid_id,
                           source="manual", starts_at=starts, ends_at=starts + timedelta(minutes=minutes),
                           month=month_of(starts), minutes=minutes, reason=reason, created_by_id=user.id,
                           client_id=cid, fingerprint=fp)
    saved = clientids.insert(session, record, model=ServiceRecord, cid=cid, creator_id=user.id, fp=fp)
    if saved is not None:  # a copy of this submit saved first
        return saved
    audit.record(session, actor_id=user.id, action="service_record.manual", obj=record, ip=ip, minutes=minutes)
    session.commit()
    return record


def correct(session: Session, *, user: User, record_id: int, data: dict, ip: str | None = None) -> ServiceRecord:
    """An approved record is never edited: a correction is a new record in the current month that points at it and
    adds (or, negative, takes away) minutes, with a reason; it waits for approval like any record. A retry under
    the same client_id gives the saved correction."""
    original = visible_record(session, user, record_id)
    if not may_decide(session, user, original):
        raise Forbidden(N_("Only the grid's officer or the coordinator may correct hours."))
    cid = clientids.optional(data)
    if original.status != "approved":
        raise Conflict("not_approved", N_("Only approved records are corrected; decide a pending one instead."))
    delta = _number(data, "minutes", -24 * 60, 24 * 60)
    if delta == 0:
        raise Invalid("zero_correction", N_("A correction must change the minutes."))
    reason = _text(data, "reason", 300, required=True)
    fp, saved = clientids.earlier(session, ServiceRecord, cid, user.id,
                                  {"corrects": original.id, "minutes": delta, "reason": reason})
    if saved is not None:
        return saved
    now = utcnow()
    check_unlocked(session, original.station_id, month_of(now))
    record = ServiceRecord(station_id=original.station_id, volunteer_id=original.volunteer_id, grid_id=original.grid_id,
                           source="correction", corrects_id=original.id, starts_at=now, ends_at=now,
                           month=month_of(now), minutes=delta, reason=reason, created_by_id=user.id,
                           client_id=cid, fingerprint=fp)
    saved = clientids.insert(session, record, model=ServiceRecord, cid=cid, creator_id=user.id, fp=fp)
    if saved is not None:  # a copy of this submit saved first
        return saved
    audit.record(session, actor_id=user.id, action="service_record.correct", obj=record, ip=ip, corrects=original.id,
                 minutes=delta)
    session.commit()
    return record


# --- Approving and rejecting ------------------------------------------------------------------------------------

def _decide_one(session: Session, user: User, record: ServiceRecord, approve: bool, reason: str, ip: str | None) -> bool:
    if not may_decide(session, user, record):
        raise Forbidden(N_("You can only decide hours of your own grids."))
    target = "approved" if approve else "rejected"
    if record.status == target:
        return False
    if record.status != "pending":
        raise Conflict("already_decided", N_("This record was already decided; add a correction instead."))
    check_unlocked(session, record.station_id, record.month)
    moved = session.execute(sa.update(ServiceRecord).where(ServiceRecord.id == record.id, ServiceRecord.status == "pending")
                            .values(status=target, rejection_reason=reason, decided_by_id=user.id,
                                    decided_at=utcnow())).rowcount
    if moved != 1:
        raise Conflict("changed_meanwhile", N_("Someone else changed this just now. Please reload."))
    audit.record(session, actor_id=user.id, action=f"service_record.{'approve' if approve else 'reject'}", obj=record,
                 ip=ip, **({"reason": reason} if reason else {}))
    if not approve:
        session.refresh(record)
        recount_after_rejection(session, record)
    return True


def decide(session: Session, *, user: User, record_ids: list[int], approve: bool, reason: str = "",
           ip: str | None = None) -> list[ServiceRecord]:
    """Approve or reject pending records of one's grids, one or many at once; a rejection needs a reason. All or
    nothing: one record outside the caller's grids or in a locked month refuses the whole batch."""
    if not record_ids:
        raise Invalid("nothing_chosen", N_("Choose at least one record."))
    reason = _text({"reason": reason}, "reason", 300, required=not approve)
    records = []
    for record_id in dict.fromkeys(record_ids):
        record = db.get(session, ServiceRecord, record_id)
        if record is None or not may_decide(session, user, record):
            if record is not None and record.volunteer_id == user.id:
                raise Forbidden(N_("You can only decide hours of your own grids."))
            session.rollback()
            raise NotFound(N_("This service record does not exist."))
        records.append(record)
    try:
        for record in records:
            _decide_one(session, user, record, approve, reason if not approve else "", ip)
    except Exception:
        session.rollback()
        raise
    session.commit()
    for record in records:
        session.refresh(record)
    return records


def review_flags(session: Session, records: list[ServiceRecord]) -> dict[int, list[str]]:
    """Each record's flags as the officer weighs it: the ones it was filed with and, for a shift, what its done
    evidence says now (done_flags) — so a record derived before evidence was kept is not taken as clean."""
    ids = [r.assignment_id for r in records if r.assignment_id]
    live: dict[int, list[str]] = {}
    if ids:
        photos = dict(session.execute(sa.select(Photo.assignment_id, sa.func.count()).where(Photo.assignment_id.in_(ids))
                                      .group_by(Photo.assignment_id)).all())
        for a, task, checkpoint in session.exec(
                select(Assignment, Task, Checkpoint).join(Task, Task.id == Assignment.task_id)
                .outerjoin(Checkpoint, Checkpoint.id == Task.checkpoint_id).where(Assignment.id.in_(ids))):
            live[a.id] = done_flags(ends_at=task.ends_at, done_at=a.done_at, located=a.lat is not None,
                                    photos=photos.get(a.id, 0), distance_m=a.distance_m,
                                    radius_m=checkpoint.radius_m if checkpoint else None, accuracy_m=a.accuracy_m)
    return {r.id: list(dict.fromkeys(list(r.flags or []) + live.get(r.assignment_id, []))) for r in records}


@dataclass
class Batch:
    """The records one approval chose, and the flagged ones a "select all" left out (they are ticked one by one)."""
    records: list[ServiceRecord]
    left_out: list[ServiceRecord]

    @property
    def minutes(self) -> int:
        return sum(r.minutes for r in self.records)

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def chosen_batch(session: Session, *, user: User, ids: list[int], flagged_ids: list[int] = (), select_all: bool = False,
                 grid_id: int | None = None, month: str | None = None) -> Batch:
    """What a review form chose. Ticks one by one (ids, flagged_ids) take exactly those records. "Select all" takes every
    pending record without a flag that the caller may decide (within the grid/month shown), plus the flagged ones
    ticked one by one in flagged_ids; every other flagged record (one among ids included) is left out, and listed:
    doubtful evidence is never approved in bulk. Records outside the caller's grids are not found."""
    records: dict[int, ServiceRecord] = {}
    for record_id in dict.fromkeys(list(ids) + list(flagged_ids)):
        record = db.get(session, ServiceRecord, record_id)
        if record is None or not may_decide(session, user, record):
            if record is not None and record.volunteer_id == user.id:
                raise Forbidden(N_("You can only decide hours of your own grids."))
            raise NotFound(N_("This service record does not exist."))
        records[record.id] = record
    left_out: list[ServiceRecord] = []
    if select_all:
        shown = [r for r, _v in pending_for(session, user, grid_id=grid_id, month=month)]
        flags = review_flags(session, shown + [r for r in records.values() if r.id not in {s.id for s in shown}])
        one_by_one = set(flagged_ids)
        for record in shown:
            if not flags[record.id]:
                records.setdefault(record.id, record)
        for record in list(records.values()):
            if flags[record.id] and record.id not in one_by_one:
                left_out.append(records.pop(record.id))
        left = {r.id for r in left_out}
        left_out += [r for r in shown if flags[r.id] and r.id not in one_by_one and r.id not in left]
    return Batch(records=sorted(records.values(), key=lambda r: (r.starts_at, r.id)), left_out=left_out)


@dataclass(frozen=True)
class Blocker:
    """Pending records that keep a month from being certified: how many, in which grid, whose to decide."""
    grid_id: int | None
    grid_label: str
    officers: str
    count: int
    minutes: int


def certify_blockers(session: Session, station_id: int, month: str) -> list[Blocker]:
    """The month's pending records per grid with the grid's officers: what must be decided before it is certified."""
    rec = ServiceRecord.__table__.c
    rows = session.execute(sa.select(rec.grid_id, sa.func.count(), sa.func.coalesce(sa.func.sum(rec.minutes), 0))
                           .where(rec.station_id == station_id, rec.month == month, rec.status == "pending")
                           .group_by(rec.grid_id)).all()
    if not rows:
        return []
    grid_ids = [g for g, _c, _m in rows if g is not None]
    grids = {g.id: g for g in session.exec(select(Grid).where(Grid.id.in_(grid_ids or [-1])))}
    officers: dict[int, list[str]] = {}
    for grid_id, name in session.exec(select(GridOfficer.grid_id, User.name).join(User, User.id == GridOfficer.user_id)
                                      .where(GridOfficer.grid_id.in_(grid_ids or [-1])).order_by(User.name)):
        officers.setdefault(grid_id, []).append(name)
    found = [Blocker(grid_id=g, grid_label=f"{grids[g].code} {grids[g].name}" if g in grids else "",
                     officers="、".join(officers.get(g, [])), count=int(c), minutes=int(m)) for g, c, m in rows]
    return sorted(found, key=lambda b: (b.grid_label == "", b.grid_label))


def parse_ids(raw) -> list[int]:
    """Record ids from a form or JSON list."""
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, (list, tuple)):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field="ids")
    ids = []
    for item in raw:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field="ids") from None
    return ids


# --- Certifying a month ----------------------------------------------------------------------------------------

def parse_month(value) -> str:
    """A month written YYYY-MM."""
    text = str(value or "").strip()
    try:
        if len(text) != 7:
            raise ValueError(text)
        parsed = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise Invalid("bad_month", N_("The month must be written like 2026-11."), status=400) from None
    if not 2000 <= parsed.year < 2100:
        raise Invalid("bad_month", N_("The month must be written like 2026-11."), status=400)
    return parsed.strftime("%Y-%m")


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month."""
    first = datetime.strptime(month, "%Y-%m").date()
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def certify(session: Session, *, user: User, month: str, ip: str | None = None) -> MonthCertification:
    """The coordinator certifies a month that is over and has no pending records left; from then on its records are
    locked. Certifying it again returns the first certification."""
    roles.require_manager(user, N_("Only the coordinator certifies a month."))
    month = parse_month(month)
    existing = session.exec(select(MonthCertification).where(MonthCertification.station_id == user.station_id,
                                                             MonthCertification.month == month)).first()
    if existing is not None:
        return existing
    if month >= month_of(utcnow()):
        raise Invalid("month_not_over", N_("%(month)s is not over yet."), month=month)
    waiting = sum(b.count for b in certify_blockers(session, user.station_id, month))
    if waiting:
        raise Conflict("pending_left", N_("%(count)d records of %(month)s still wait for a decision."), count=waiting,
                       month=month)
    cert = MonthCertification(station_id=user.station_id, month=month, certified_by_id=user.id)
    with db.unique_or(session, Conflict("month_certified_meanwhile", N_("%(month)s was certified just now by someone "
                                                                          "else. Please reload."), month=month)):
        session.add(cert)
    audit.record(session, actor_id=user.id, action="month.certify", obj=cert, ip=ip, month=month)
    session.commit()
    return cert


def certified_months(session: Session, station_id: int) -> list[MonthCertification]:
    """The station's certified months, newest first."""
    return list(session.exec(select(MonthCertification).where(MonthCertification.station_id == station_id)
                             .order_by(MonthCertification.month.desc())))


# --- Lists, a volunteer's own hours, star levels ---------------------------------------------------------------

def pending_for(session: Session, user: User, limit: int = 200, *, grid_id: int | None = None,
                month: str | None = None) -> list[tuple[ServiceRecord, User]]:
    """Pending records the caller may decide (officer: their grids; coordinator: the station), oldest first; optionally
    only one grid's or one month's (where a month's certification sends the coordinator)."""
    scope = scope_grid_ids(session, user)
    if scope == []:
        return []
    query = (select(ServiceRecord, User).join(User, User.id == ServiceRecord.volunteer_id)
             .where(ServiceRecord.station_id == user.station_id, ServiceRecord.status == "pending"))
    if scope is not None:
        query = query.where(ServiceRecord.grid_id.in_(scope))
    if grid_id is not None:
        query = query.where(ServiceRecord.grid_id == grid_id)
    if month is not None:
        query = query.where(ServiceRecord.month == month)
    return list(session.exec(query.order_by(ServiceRecord.starts_at, ServiceRecord.id).limit(limit)))


def records_of(session: Session, volunteer_id: int, limit: int = 100) -> list[ServiceRecord]:
    """A volunteer's records, newest first."""
    return list(session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id)
                             .order_by(ServiceRecord.starts_at.desc(), ServiceRecord.id.desc()).limit(limit)))


def star_level(approved_minutes: int) -> dict:
    """Stars by approved service: 一星 100 h, 二星 300 h, 三星 600 h, 四星 1000 h, 五星 1500 h; with the way to the next."""
    hours_done = approved_minutes / 60
    level = next((lvl for lvl, need in STARS if hours_done >= need), 0)
    ladder = dict((lvl, need) for lvl, need in STARS)
    if level == 5:
        return {"level": 5, "name": STAR_NAMES[5], "next": None, "next_name": None, "hours_to_next": 0, "percent": 100}
    floor = ladder.get(level, 0)
    need = ladder[level + 1]
    percent = int(max(0.0, hours_done - floor) * 100 // (need - floor))
    return {"level": level, "name": STAR_NAMES[level], "next": need, "next_name": STAR_NAMES[level + 1],
            "hours_to_next": round(need - hours_done, 1), "percent": min(100, percent)}


def summary(session: Session, volunteer: User, today: date | None = None) -> dict:
    """A volunteer's approved and pending minutes this month, this year and in total, and their star level."""
    today = today or datetime.now(SHANGHAI).date()
    periods = {"month": (today.replace(day=1), today), "year": (today.replace(month=1, day=1), today),
               "total": (date(2000, 1, 1), date(2099, 12, 31))}
    result = {}
    for key, (start, end) in periods.items():
        rows = tally(session, volunteer.station_id, start, end, volunteer_id=volunteer.id)
        result[key] = rows[0] if rows else TallyRow(volunteer.id, volunteer.name, 0, 0)
    result["stars"] = star_level(result["total"].approved_minutes)
    return result


# --- Monthly evaluation (月考评) ------------------------------------------------------------------------------------

@dataclass
class EvaluationRow:
    """One team's or grid's month: who served, how often they went out, what they found and did."""
    id: int
    name: str
    volunteers_active: int = 0
    turnouts: int = 0
    approved_minutes: int = 0
    points_expected: int = 0
    points_visited: int = 0
    hazards_reported: int = 0
    hazards_closed: int = 0
    tasks_done: int = 0
    tasks_no_show: int = 0

    @property
    def hours(self) -> float:
        return round(self.approved_minutes / 60, 2)

    @property
    def coverage(self) -> float | None:
        """Share of the must-visit points on the routes patrolled that were checked in, in percent."""
        return round(100 * self.points_visited / self.points_expected, 1) if self.points_expected else None


def evaluation(session: Session, station_id: int, month: str, by: str = "grid") -> list[EvaluationRow]:
    """The month per team or per grid: volunteers with counted service, patrols started, approved hours, must-visit
    coverage (points checked in ÷ points on the routes of the patrols), hazards reported and closed, task places done
    (done or verified) and missed (no-show). One grouped query per measure; a person counts for each of their teams;
    a patrol counts for its route's grid (else its volunteer's home grid), a report for the grid it landed in."""
    if by not in ("team", "grid"):
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field="by", value=str(by)[:20])
    first, last = month_bounds(parse_month(month))
    since, until = local_midnight(first), local_midnight(last + timedelta(days=1))
    if by == "grid":
        owners = session.execute(sa.select(Grid.id, Grid.name).where(Grid.station_id == station_id).order_by(Grid.code))
    else:
        owners = session.execute(sa.select(Team.id, Team.name).where(Team.station_id == station_id).order_by(Team.name))
    rows = {i: EvaluationRow(i, n) for i, n in owners}
    if not rows:
        return []
    member = TeamMember.__table__.c

    def grouped(person_col, grid_col, *values, where, joins):
        """Group a measure by the owner: the team of person_col, or grid_col."""
        key = member.team_id if by == "team" else grid_col
        source = joins.join(TeamMember.__table__, member.user_id == person_col) if by == "team" else joins
        # The owners are picked here, not by `key IN (…)` in SQL: the station is already in `where`, and that list
        # made the planner AND in the whole grid or team index (a station's year of rows) for nothing.
        query = sa.select(key, *values).select_from(source).where(*where).group_by(key)
        return [row for row in session.execute(query).all() if row[0] in rows]

    rec = ServiceRecord.__table__.c
    for key, active, minutes in grouped(
            rec.volunteer_id, rec.grid_id, sa.func.count(sa.distinct(rec.volunteer_id)),
            sa.func.coalesce(sa.func.sum(sa.case((rec.status == "approved", rec.minutes), else_=0)), 0),
            where=(rec.station_id == station_id, rec.status.in_(("approved", "pending")), rec.starts_at >= since,
                   rec.starts_at < until), joins=ServiceRecord.__table__):
        rows[key].volunteers_active, rows[key].approved_minutes = int(active), int(minutes)

    # Coverage: the station's patrols of the month (patrol.station_id, started_at: one index range), each with its
    # grid; the points due per route and the distinct points visited per patrol as grouped joins, not per-patrol
    # sub-queries.
    pat, route, user = Patrol.__table__.c, Route.__table__.c, User.__table__.c
    stop, chk = RouteStop.__table__.c, CheckIn.__table__.c
    month_patrols = (sa.select(pat.id, pat.user_id, pat.route_id,
                               sa.func.coalesce(route.grid_id, user.home_grid_id).label("grid_id"))
                     .select_from(Patrol.__table__.join(User.__table__, user.id == pat.user_id)
                                  .outerjoin(Route.__table__, route.id == pat.route_id))
                     .where(pat.station_id == station_id, pat.started_at >= since, pat.started_at < until,
                            pat.discarded.is_(False))
                     .cte("month_patrols"))
    due = (sa.select(stop.route_id, sa.func.count().label("n")).where(stop.route_id.in_(sa.select(month_patrols.c.route_id)))
           .group_by(stop.route_id).subquery("due"))
    seen = (sa.select(chk.patrol_id, sa.func.count(sa.distinct(chk.checkpoint_id)).label("n"))
            .select_from(month_patrols.join(CheckIn.__table__, chk.patrol_id == month_patrols.c.id)
                         .join(RouteStop.__table__, sa.and_(stop.route_id == month_patrols.c.route_id,
                                                            stop.checkpoint_id == chk.checkpoint_id)))
            .group_by(chk.patrol_id).subquery("seen"))
    for key, turnouts, exp, vis in grouped(
            month_patrols.c.user_id, month_patrols.c.grid_id, sa.func.count(month_patrols.c.id),
            sa.func.coalesce(sa.func.sum(due.c.n), 0), sa.func.coalesce(sa.func.sum(seen.c.n), 0),
            where=(), joins=month_patrols.outerjoin(due, due.c.route_id == month_patrols.c.route_id)
                                         .outerjoin(seen, seen.c.patrol_id == month_patrols.c.id)):
        rows[key].turnouts, rows[key].points_expected, rows[key].points_visited = int(turnouts), int(exp), int(vis)

    haz = Hazard.__table__.c
    for key, count in grouped(haz.reporter_id, haz.grid_id, sa.func.count(haz.id),
                              where=(haz.station_id == station_id, haz.reported_at >= since, haz.reported_at < until),
                              joins=Hazard.__table__):
        rows[key].hazards_reported = int(count)
    # "closed" is final: hazard.closed_at is the one closing, so (station_id, closed_at) finds the month's closings.
    for key, count in grouped(haz.reporter_id, haz.grid_id, sa.func.count(haz.id),
                              where=(haz.station_id == station_id, haz.closed_at >= since, haz.closed_at < until),
                              joins=Hazard.__table__):
        rows[key].hazards_closed = int(count)

    task, asg = Task.__table__.c, Assignment.__table__.c
    for key, done, missed in grouped(
            asg.volunteer_id, task.grid_id,
            sa.func.coalesce(sa.func.sum(sa.case((asg.state.in_(("done", "verified")), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((asg.state == "no_show", 1), else_=0)), 0),
            where=(task.station_id == station_id, task.starts_at >= since, task.starts_at < until),
            joins=Assignment.__table__.join(Task.__table__, task.id == asg.task_id)):
        rows[key].tasks_done, rows[key].tasks_no_show = int(done), int(missed)
    return list(rows.values())


# --- Exports ---------------------------------------------------------------------------------------------------

EXPORT_HEADERS = {"volunteer": "志愿者", "team": "队伍", "grid": "网格"}


def export_table(rows: list[TallyRow], by: str, start: date, end: date) -> tuple[list[str], list[list]]:
    """The tally as a table with Chinese headers; hours as decimal numbers (two places), minutes as integers."""
    headers = ["编号", EXPORT_HEADERS[by], "已审核时长（小时）", "待审核时长（小时）", "已审核分钟", "待审核分钟", "起始日期", "截止日期"]
    body = [[r.id, r.name, r.approved_hours, r.pending_hours, r.approved_minutes, r.pending_minutes, start, end]
            for r in rows]
    return headers, body


def export_xlsx(rows: list[TallyRow], by: str, start: date, end: date) -> bytes:
    """The tally as an XLSX workbook: one sheet, Chinese headers, numbers stored as numbers and dates as dates."""
    headers, body = export_table(rows, by, start, end)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"服务时长-{EXPORT_HEADERS[by]}")
    for column, width in zip("ABCDEFGH", (8, 16, 18, 18, 12, 12, 12, 12)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    bold = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for line in body:
        cells = []
        for index, value in enumerate(line):
            cell = WriteOnlyCell(sheet, value=value)
            if index in (2, 3):
                cell.number_format = "0.00"
            elif index in (6, 7):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_csv(rows: list[TallyRow], by: str, start: date, end: date) -> bytes:
    """The tally as CSV in UTF-8 with a byte-order mark, so Excel opens the Chinese right."""
    headers, body = export_table(rows, by, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for line in body:
        writer.writerow([f"{v:.2f}" if isinstance(v, float) else v for v in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- What a caller may tally -------------------------------------------------------------------------------------

def parse_period(start, end) -> tuple[date, date]:
    """A period of whole days from `from` to `to` (inclusive), at most ten years long."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if last < first:
        raise Invalid("bad_period", N_("The period ends before it starts."))
    if (last - first).days > 3660:
        raise Invalid("bad_period", N_("A period may be at most ten years long."))
    return first, last


def _filter_id(raw, field: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field) from None
    return value


def scoped_tally(session: Session, user: User, start, end, by: str = "volunteer", *, volunteer=None, team=None,
                 grid=None) -> tuple[list[TallyRow], date, date]:
    """The tally a caller may see: a volunteer only their own minutes, an officer the records of their grids, the
    coordinator the whole station. A volunteer, team or grid outside that scope is not found."""
    first, last = parse_period(start, end)
    volunteer_id, team_id, grid_id = _filter_id(volunteer, "volunteer"), _filter_id(team, "team"), _filter_id(grid, "grid")
    scope = scope_grid_ids(session, user)
    if user.role == "volunteer":
        if volunteer_id not in (None, user.id):
            raise NotFound(N_("There is no such volunteer here."))
        volunteer_id, scope = user.id, None
    if volunteer_id is not None and volunteer_id != user.id:
        person = db.get(session, User, volunteer_id)
        if person is None or person.station_id != user.station_id or not _in_scope(
                session, scope, person.home_grid_id, ServiceRecord.volunteer_id == person.id):
            raise NotFound(N_("There is no such volunteer here."))
    if team_id is not None:
        team_row = db.get(session, Team, team_id)
        members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
        lives_here = scope is None or (scope and session.exec(
            select(User.id).where(User.id.in_(members), User.home_grid_id.in_(scope))).first() is not None)
        if team_row is None or team_row.station_id != user.station_id or not (
                lives_here or _in_scope(session, scope, None, ServiceRecord.volunteer_id.in_(members))):
            raise NotFound(N_("There is no such team here."))
    if grid_id is not None:
        grid_row = db.get(session, Grid, grid_id)
        if grid_row is None or grid_row.station_id != user.station_id or (scope is not None and grid_id not in scope):
            raise NotFound(N_("There is no such grid here."))
    rows = tally(session, user.station_id, first, last, by, grid_ids=scope, volunteer_id=volunteer_id, team_id=team_id,
                 grid_id=grid_id)
    return rows, first, last


def _in_scope(session: Session, scope: list[int] | None, home_grid_id: int | None, whose) -> bool:
    """Whether an officer's grids (scope; None: the whole station) hold this person (by home grid) or any of the
    records matching `whose` — a filter naming anyone else is 404 (docs/decisions.md, hours ledger)."""
    if scope is None:
        return True
    if home_grid_id is not None and home_grid_id in scope:
        return True
    return bool(scope) and session.exec(
        select(ServiceRecord.id).where(whose, ServiceRecord.grid_id.in_(scope)).limit(1)).first() is not None


def corrections_of(session: Session, record_id: int) -> list[ServiceRecord]:
    """The corrections that point at a record, oldest first."""
    return list(session.exec(select(ServiceRecord).where(ServiceRecord.corrects_id == record_id)
                             .order_by(ServiceRecord.id)))


def volunteers_query(station_id: int):
    """The station's volunteers by name, for choosing one."""
    return select(User).where(User.station_id == station_id, User.role == "volunteer").order_by(User.name)
