"""Patrols and check-ins: the rules that decide whether a volunteer really stood at a must-visit point."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, clientids, db, fields, geo, grids, hours
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, N_, NotFound
from volunteers.models import Checkpoint, CheckIn, Patrol, Route, User, utcnow

# A GPS fix rougher than this proves nothing about where the phone is.
MAX_ACCURACY_M = 150.0
# The reported accuracy widens the checkpoint's radius, but never by more than this.
MAX_ACCURACY_ALLOWANCE_M = 50.0
# Device clocks further than this from the server's are flagged.
CLOCK_SKEW = timedelta(minutes=5)
# Faster than 120 km/h between two check-ins is not a patrol on foot, bike or e-bike.
MAX_SPEED_M_S = 120 / 3.6
# A patrol ended sooner than this after its start, with no check-in, was a mistaken tap: discarded, not recorded.
DISCARD_UNDER = timedelta(minutes=1)
# A patrol open longer than this was forgotten, not walked: the repeated-coordinates check does not look into it.
MAX_PATROL = timedelta(days=2)
# Identical coordinates within this window hint at a faked location.
REPEAT_WINDOW = timedelta(days=30)

FLAG_CLOCK = "clock_skew"
FLAG_SPEED = "impossible_speed"
FLAG_REPEAT = "repeated_coordinates"
FLAG_QR_FAR = "qr_far_from_point"


# --- Input ---------------------------------------------------------------------------------------

def parse_time(value: Any, field: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset (e.g. 2026-11-25T08:30:00+08:00 or …Z), as aware UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Invalid("bad_time", N_("The field “%(field)s” must be an ISO 8601 time with a time zone."), status=400, field=field)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(text)
        # Year 1 at +01:00 or year 9999 at -01:00 falls outside what datetime can hold in UTC.
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise Invalid("bad_time", N_("The field “%(field)s” must be an ISO 8601 time with a time zone."), status=400, field=field) from None


# A phone's time outside these years is a reset or broken clock, not a patrol: refused rather than stored (year 1
# broke the date arithmetic with a 500; year 9999 made a check-in later than any end).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)


def recorded_time(value: Any, field: str) -> datetime | None:
    """A device time (parse_time) that must fall within 2000–2099."""
    when = parse_time(value, field)
    if when is not None and not EARLIEST_TIME <= when < LATEST_TIME:
        raise Invalid("out_of_range", N_("The field “%(field)s” must be between %(low)s and %(high)s."),
                      field=field, low=EARLIEST_TIME.date().isoformat(), high=LATEST_TIME.date().isoformat())
    return when


@dataclass(frozen=True)
class CheckInInput:
    """A check-in request, validated: GPS (lat/lon/accuracy) and/or a QR code, and the device's time."""
    client_id: str
    point: tuple[float, float] | None
    accuracy_m: float | None
    recorded_at: datetime | None
    checkpoint_id: int | None
    qr: str | None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> "CheckInInput":
        """Validate a form or JSON body; a QR check-in may come without GPS."""
        client_id = clientids.parse(data.get("client_id"))
        raw_qr = data.get("qr")
        if raw_qr is not None and not isinstance(raw_qr, str):
            # Not silently dropped: a number or list here would otherwise become a GPS check-in.
            raise Invalid("bad_text", N_("The field “%(field)s” must be text."), status=400, field="qr")
        qr = (raw_qr.strip() or None) if raw_qr else None
        point = fields.point(data, required=qr is None)
        accuracy = fields.number(data, "accuracy_m", low=0, high=100_000, required=point is not None and qr is None)
        return cls(
            client_id=client_id,
            point=point,
            accuracy_m=accuracy,
            recorded_at=recorded_time(data.get("recorded_at"), "recorded_at"),
            checkpoint_id=fields.integer(data, "checkpoint_id"),
            qr=qr,
        )

    def content(self, patrol_id: int) -> dict[str, Any]:
        """What makes two requests 'the same' for idempotency."""
        return {"patrol": patrol_id, "point": self.point, "accuracy_m": self.accuracy_m,
                "recorded_at": self.recorded_at and self.recorded_at.isoformat(),
                "checkpoint_id": self.checkpoint_id, "qr": self.qr}


# --- Reading -------------------------------------------------------------------------------------

def minutes(patrol: Patrol, now: datetime | None = None) -> int:
    """Whole minutes from start to end (or to now, while it runs)."""
    end = patrol.ended_at or now or utcnow()
    return max(0, int((end - patrol.started_at).total_seconds() // 60))


def open_patrol(session: Session, user: User) -> Patrol | None:
    """The patrol this user has running, if any."""
    return session.exec(
        select(Patrol).where(Patrol.user_id == user.id, Patrol.ended_at.is_(None)).order_by(Patrol.started_at.desc())
    ).first()


def visible_patrol(session: Session, user: User, patrol_id: int) -> Patrol:
    """A patrol the user may see: their own, or one in an officer's/coordinator's grids; others are 404."""
    patrol = db.get(session, Patrol, patrol_id)
    if patrol is None:
        raise NotFound(N_("This patrol does not exist."))
    if patrol.user_id == user.id:
        return patrol
    if user.is_staff:
        owner = session.get(User, patrol.user_id)
        if owner.station_id == user.station_id and (
            user.is_manager or owner.home_grid_id in accounts.grid_ids(session, user)
        ):
            return patrol
    raise NotFound(N_("This patrol does not exist."))


def own_patrol(session: Session, user: User, patrol_id: int) -> Patrol:
    """A patrol the user may change: only their own (others may see it but get 403)."""
    patrol = visible_patrol(session, user, patrol_id)
    if patrol.user_id != user.id:
        raise Forbidden(N_("Only the volunteer on this patrol can change it."))
    return patrol


def checkins_of(session: Session, patrol_id: int) -> list[CheckIn]:
    """A patrol's check-ins in the order they happened on the phone."""
    return list(session.exec(select(CheckIn).where(CheckIn.patrol_id == patrol_id).order_by(CheckIn.recorded_at, CheckIn.id)))


@dataclass
class PatrolSummary:
    patrol: Patrol
    minutes: int
    checkpoint_names: list[str]


def history(session: Session, user: User, limit: int = 50) -> list[PatrolSummary]:
    """The user's latest patrols with their minutes and the checkpoints they checked in at."""
    patrols = list(session.exec(
        select(Patrol).where(Patrol.user_id == user.id, Patrol.discarded.is_(False))
        .order_by(Patrol.started_at.desc()).limit(limit)
    ))
    names: dict[int, list[str]] = {p.id: [] for p in patrols}
    if patrols:
        rows = session.exec(
            select(CheckIn.patrol_id, Checkpoint.name).join(Checkpoint, Checkpoint.id == CheckIn.checkpoint_id)
            .where(CheckIn.patrol_id.in_(list(names))).order_by(CheckIn.recorded_at)
        )
        for patrol_id, name in rows:
            if name not in names[patrol_id]:
                names[patrol_id].append(name)
    return [PatrolSummary(p, minutes(p), names[p.id]) for p in patrols]


def just_ended(session: Session, user: User, patrol_id: int | None) -> Patrol | None:
    """The user's own ended patrol with this id (the page after ending it thanks them for it), else None."""
    patrol = db.get(session, Patrol, patrol_id)
    return patrol if patrol is not None and patrol.user_id == user.id and patrol.ended_at is not None else None


def patrol_checkpoints(session: Session, user: User, patrol: Patrol) -> list[Checkpoint]:
    """The must-visit points shown on a patrol: its route's, else every checkpoint of its volunteer's grids."""
    if patrol.route_id:
        return grids.route_checkpoints(session, patrol.route_id)
    # The volunteer's grids, not the viewer's: an officer holding G1 and G2 looks at a G1 patrol.
    owner = user if patrol.user_id == user.id else session.get(User, patrol.user_id)
    return [cp for cp, _grid in grids.checkpoints_in(session, accounts.grid_ids(session, owner))]


def home_state(session: Session, user: User) -> dict[str, Any]:
    """What the phone needs to patrol offline: the route's must-visit points and the running patrol, if any."""
    current = open_patrol(session, user)
    route = grids.first_route(session, user.home_grid_id)
    points = grids.route_checkpoints(session, route.id) if route else [
        cp for cp, _grid in grids.checkpoints_in(session, accounts.grid_ids(session, user))]
    patrol = None
    if current is not None:
        patrol = {"id": current.id, "client_id": current.client_id, "started_at": current.started_at.isoformat(),
                  "checkins": [{"checkpoint_id": c.checkpoint_id, "recorded_at": c.recorded_at.isoformat()}
                               for c in checkins_of(session, current.id) if c.checkpoint_id]}
    # The server's GPS rules, so the phone can judge a check-in the same way with no signal (the server stays the judge).
    rules = {"max_accuracy_m": MAX_ACCURACY_M, "max_accuracy_allowance_m": MAX_ACCURACY_ALLOWANCE_M}
    return {"user": user.id, "patrol": patrol, "rules": rules,
            "checkpoints": [{"id": cp.id, "name": cp.name, "lat": cp.lat, "lon": cp.lon, "radius_m": cp.radius_m}
                            for cp in points]}


# --- Writing -------------------------------------------------------------------------------------

PATROL_OPEN = N_("You already have a patrol running. End it before starting a new one.")


_route_t = Route.__table__
_FIRST_ROUTE = db.Prebuilt(sa.select(_route_t.c.id).where(_route_t.c.grid_id == sa.bindparam("grid_id"))
                           .order_by(_route_t.c.id).limit(1))
_INSERT_PATROL = sa.insert(Patrol.__table__)
_INSERT_PATROL_AUDITED = db.Prebuilt(audit.audited_insert(
    Patrol.__table__, ("client_id", "fingerprint", "user_id", "station_id", "route_id", "started_at", "ended_at",
                       "received_at", "discarded"), action="patrol.start", object_type="patrol"))


def start(session: Session, *, user: User, client_id: Any, recorded_at: Any = None, ip: str | None = None) -> tuple[Patrol, bool]:
    """Start a patrol on the user's home route; a retry returns the same patrol, a second open patrol is refused.

    The patrol is inserted straight away (one prebuilt Core INSERT, issue 13): the database's unique client_id and
    its one-open-patrol index decide, and only a collision looks up what is there — a retry (the same patrol, or
    409 if the id was someone else's or for other content) or another open patrol (409 patrol_open)."""
    cid = clientids.parse(client_id)
    when = recorded_time(recorded_at, "recorded_at")
    fp = clientids.fingerprint({"user": user.id, "recorded_at": when and when.isoformat()})
    now = utcnow()
    # An offline start keeps the phone's time; a clock running ahead is pulled back to now.
    started = min(when, now) if when else now
    conn = session.connection()
    route_id = _FIRST_ROUTE.scalar(conn, {"grid_id": user.home_grid_id}) \
        if user.home_grid_id is not None else None
    row = dict(client_id=cid, fingerprint=fp, user_id=user.id, station_id=user.station_id, route_id=route_id,
               started_at=started, ended_at=None, received_at=now, discarded=False)
    try:
        if conn.dialect.name == "postgresql":  # the patrol and its audit row in one statement (audit.audited_insert)
            row["id"] = _INSERT_PATROL_AUDITED.scalar_one(conn, row | audit.audit_params(actor_id=user.id, ip=ip))
        else:
            row["id"] = conn.execute(_INSERT_PATROL, row).inserted_primary_key[0]
            # Same commit as the row: a failure in between must not leave a patrol without its audit event.
            audit.insert(conn, actor_id=user.id, action="patrol.start", object_type="patrol", object_id=row["id"], ip=ip)
    except sa.exc.IntegrityError as err:
        session.rollback()
        # Not this client_id: the one-open-patrol index (uq_patrol_one_open).
        return clientids.collided(session, Patrol, cid, user.id, fp, err,
                                  otherwise=Conflict("patrol_open", PATROL_OPEN)), False
    session.commit()
    # The row as a persistent ORM object without reading it back: the caller may change it like any loaded patrol.
    return db.as_loaded(session, Patrol, row), True


def end(session: Session, *, user: User, patrol_id: int, recorded_at: Any = None, ip: str | None = None) -> Patrol:
    """End the user's patrol; ending it again is a harmless retry that returns the first end."""
    patrol = own_patrol(session, user, patrol_id)
    when = recorded_time(recorded_at, "recorded_at")
    if patrol.ended_at is not None:
        return patrol
    now = utcnow()
    patrol.ended_at = max(patrol.started_at, min(when, now) if when else now)
    checked_in = session.exec(select(CheckIn.id).where(CheckIn.patrol_id == patrol.id).limit(1)).first()
    patrol.discarded = checked_in is None and patrol.ended_at - patrol.started_at < DISCARD_UNDER
    audit.record(session, actor_id=user.id, action="patrol.discard" if patrol.discarded else "patrol.end", obj=patrol, ip=ip)
    if not patrol.discarded:
        hours.from_patrol(session, patrol)
    session.commit()
    return patrol


def _nearest(point: tuple[float, float], candidates: list[Checkpoint]) -> tuple[Checkpoint, float] | None:
    best = None
    for cp in candidates:
        d = geo.distance_m(point, (cp.lat, cp.lon))
        if best is None or d < best[1]:
            best = (cp, d)
    return best


def _check_in_use(checkpoint: Checkpoint, recorded_at: datetime) -> None:
    """A retired checkpoint takes no check-ins made after it was retired."""
    if checkpoint.retired_at is not None and checkpoint.retired_at <= recorded_at:
        raise Invalid("checkpoint_retired", N_("“%(name)s” is no longer a must-visit point. Please check in at "
                                               "another one."), name=checkpoint.name)


def accepted_distance(checkpoint: Checkpoint, accuracy_m: float) -> float:
    """How far from the checkpoint a fix may be: its radius plus the fix's accuracy, capped at 50 m extra."""
    return checkpoint.radius_m + min(max(accuracy_m, 0.0), MAX_ACCURACY_ALLOWANCE_M)


def judge_gps(checkpoint: Checkpoint, distance: float, accuracy_m: float) -> None:
    """Refuse a GPS check-in that is too rough (low_accuracy) or too far (too_far); both say the distance."""
    if accuracy_m > MAX_ACCURACY_M:
        raise Invalid("low_accuracy", N_("Your location is too rough (±%(accuracy)d m, %(distance)d m from “%(name)s”). "
                                        "Step into the open, wait a moment and try again, or scan the QR code."),
                      accuracy=round(accuracy_m), distance=round(distance), name=checkpoint.name)
    if distance > accepted_distance(checkpoint, accuracy_m):
        raise Invalid("too_far", N_("You are %(distance)d m from “%(name)s”. Come within %(radius)d m to check in."),
                      distance=round(distance), name=checkpoint.name, radius=checkpoint.radius_m)


# --- The hot path's statements (issue 13) ------------------------------------------------------------------------
# Built once, run with bound values on the session's connection: no ORM objects and no statement building per
# request (an ORM select costs ~8× a prebuilt Core one in Python). docs/decisions.md, "Core on the write hot path".

_patrol_t, _checkin_t, _checkpoint_t = Patrol.__table__, CheckIn.__table__, Checkpoint.__table__
_PATROL_ROW = sa.select(_patrol_t.c.id, _patrol_t.c.user_id, _patrol_t.c.route_id, _patrol_t.c.ended_at) \
    .where(_patrol_t.c.id == sa.bindparam("patrol_id"))
_CHECKPOINT_ROW = sa.select(_checkpoint_t.c.id, _checkpoint_t.c.grid_id, _checkpoint_t.c.name, _checkpoint_t.c.lat,
                            _checkpoint_t.c.lon, _checkpoint_t.c.radius_m, _checkpoint_t.c.retired_at) \
    .where(_checkpoint_t.c.id == sa.bindparam("checkpoint_id"))
# One probe for both flags, one row: the previous fix of the patrol (ix_checkin_patrol_recorded) and whether this
# person stood at the very same coordinates lately — only in the patrols that can hold such a check-in
# (ix_patrol_user_started), not a year of them. One statement, not two: on PostgreSQL each costs ~0.3 ms of client
# CPU (bench/README.md).
_previous_fix = sa.select(_checkin_t.c.lat, _checkin_t.c.lon, _checkin_t.c.accuracy_m, _checkin_t.c.recorded_at) \
    .where(_checkin_t.c.patrol_id == sa.bindparam("patrol_id"), _checkin_t.c.lat.is_not(None),
           _checkin_t.c.recorded_at <= sa.bindparam("recorded_at", type_=_checkin_t.c.recorded_at.type)) \
    .order_by(_checkin_t.c.recorded_at.desc(), _checkin_t.c.id.desc()).limit(1).subquery("previous")
_same_spot = sa.exists(
    sa.select(_checkin_t.c.id).join(_patrol_t, _patrol_t.c.id == _checkin_t.c.patrol_id)
    .where(_patrol_t.c.user_id == sa.bindparam("user_id"), _checkin_t.c.lat == sa.bindparam("lat"),
           _checkin_t.c.lon == sa.bindparam("lon"),
           _checkin_t.c.recorded_at >= sa.bindparam("since", type_=_checkin_t.c.recorded_at.type),
           _patrol_t.c.started_at >= sa.bindparam("started_since", type_=_patrol_t.c.started_at.type))
    .correlate(None))  # its own patrol join, never the check-in read's patrol row
_one_row = sa.select(sa.literal(1).label("one")).subquery("one_row")
_FLAG_PROBE = sa.select(_previous_fix.c.lat, _previous_fix.c.lon, _previous_fix.c.accuracy_m,
                        _previous_fix.c.recorded_at, _same_spot.label("same_spot")) \
    .select_from(_one_row.outerjoin(_previous_fix, sa.true()))
# Everything a GPS check-in reads, in ONE statement (issue 13): the patrol (its owner decides 404/403), the checkpoint
# named by id (left-joined: a missing one is NULLs, the rule says 404) and the flags' probe above. Three round trips
# were ~1 ms of client CPU on PostgreSQL; the probe's index look-ups cost the database little when the request is
# then refused.
_CHECKIN_READ = db.Prebuilt(sa.select(
    _patrol_t.c.id, _patrol_t.c.user_id, _patrol_t.c.route_id, _patrol_t.c.ended_at,
    _checkpoint_t.c.id.label("cp_id"), _checkpoint_t.c.grid_id.label("cp_grid_id"),
    _checkpoint_t.c.name.label("cp_name"), _checkpoint_t.c.lat.label("cp_lat"), _checkpoint_t.c.lon.label("cp_lon"),
    _checkpoint_t.c.radius_m.label("cp_radius_m"), _checkpoint_t.c.retired_at.label("cp_retired_at"),
    _previous_fix.c.lat.label("prev_lat"), _previous_fix.c.lon.label("prev_lon"),
    _previous_fix.c.accuracy_m.label("prev_accuracy_m"), _previous_fix.c.recorded_at.label("prev_recorded_at"),
    _same_spot.label("same_spot")) \
    .select_from(_patrol_t.outerjoin(_checkpoint_t, _checkpoint_t.c.id == sa.bindparam("checkpoint_id"))
                 .outerjoin(_previous_fix, sa.true())) \
    .where(_patrol_t.c.id == sa.bindparam("patrol_id")))
_INSERT_CHECKIN = sa.insert(_checkin_t)
_CHECKIN_COLUMNS = ("client_id", "patrol_id", "checkpoint_id", "method", "lat", "lon", "accuracy_m", "distance_m",
                    "recorded_at", "received_at", "flags", "fingerprint")


class NewCheckIn(SimpleNamespace):
    """A check-in just written, as plain attributes named like CheckIn's columns (building the SQLModel object
    costs more than the INSERT: ~10 % of a check-in's Python)."""


def _patrol_row(session: Session, user: User, patrol_id: int) -> sa.Row:
    """The user's own patrol as one row (id, user_id, route_id, ended_at): someone else's is 404 or 403 exactly as
    own_patrol() says, a patrol that does not exist 404."""
    row = session.connection().execute(_PATROL_ROW, {"patrol_id": patrol_id}).first() \
        if 0 < patrol_id <= db.MAX_ID else None
    if row is None:
        raise NotFound(N_("This patrol does not exist."))
    if row.user_id != user.id:
        own_patrol(session, user, patrol_id)  # raises: 404 outside the viewer's scope, else 403
    return row


def suspicion_flags(session: Session, *, user: User, patrol: Patrol, point: tuple[float, float] | None,
                    accuracy_m: float | None, recorded_at: datetime, now: datetime,
                    device_now: datetime | None, probe: Any = None) -> list[str]:
    """Flags (never refusals) for evidence an officer should look at twice. `probe`: the previous fix (lat, lon,
    accuracy_m, recorded_at) and same_spot, when the caller already read them (the check-in's one read)."""
    flags = []
    skew_seen = abs(device_now - now) if device_now else recorded_at - now
    if skew_seen > CLOCK_SKEW:
        flags.append(FLAG_CLOCK)
    if point is None:
        return flags
    if probe is None:
        # One prebuilt Core statement on the session's connection: this runs on every check-in (issue 13).
        probe = session.connection().execute(_FLAG_PROBE, _probe_params(user, patrol.id, point, recorded_at)).one()
    if probe.lat is not None:
        gap = geo.rough_distance_m(point, (probe.lat, probe.lon))  # a flag's threshold: the rough sphere will do
        # GPS jitter within the two fixes' accuracy is no movement at all.
        if gap > (accuracy_m or 0) + (probe.accuracy_m or 0):
            seconds = (recorded_at - probe.recorded_at).total_seconds()
            if seconds <= 0 or gap / seconds > MAX_SPEED_M_S:
                flags.append(FLAG_SPEED)
    if probe.same_spot:
        flags.append(FLAG_REPEAT)
    return flags


def _probe_params(user: User, patrol_id: int, point: tuple[float, float] | None, recorded_at: datetime) -> dict[str, Any]:
    return {"patrol_id": patrol_id, "recorded_at": recorded_at, "user_id": user.id,
            "lat": point[0] if point else None, "lon": point[1] if point else None,
            "since": recorded_at - REPEAT_WINDOW, "started_since": recorded_at - REPEAT_WINDOW - MAX_PATROL}


def check_in(session: Session, *, user: User, patrol_id: int, data: dict[str, Any], qr_key: str,
             device_now: datetime | None = None, ip: str | None = None) -> tuple[CheckIn | NewCheckIn, bool]:
    """Record a check-in at a checkpoint by GPS or signed QR; a retry returns the first one.

    The new check-in is judged first and inserted; the client_id is only looked up when that insert collides or a
    rule refuses (a retry may come after the patrol ended or the point was retired, and still gets its original), so
    a first check-in costs no look-up (issue 13). What it reads is one statement (the patrol, the checkpoint named by
    id, the flags' probe); on PostgreSQL what it writes is one too (the check-in and its audit row)."""
    if not 0 < patrol_id <= db.MAX_ID:
        raise NotFound(N_("This patrol does not exist."))
    try:
        req = CheckInInput.parse(data)
    except DomainError:
        _patrol_row(session, user, patrol_id)  # a patrol that is not theirs answers first (404/403), as always
        raise
    now = utcnow()
    recorded_at = req.recorded_at or now
    by_id = req.checkpoint_id if not req.qr and req.checkpoint_id and 0 < req.checkpoint_id <= db.MAX_ID else None
    read = _CHECKIN_READ.first(session.connection(), {
        **_probe_params(user, patrol_id, req.point, recorded_at), "checkpoint_id": by_id})
    if read is None:
        raise NotFound(N_("This patrol does not exist."))
    if read.user_id != user.id:
        own_patrol(session, user, patrol_id)  # raises: 404 outside the viewer's scope, else 403
    fp = clientids.fingerprint(req.content(read.id))
    try:
        row, audit_detail = _judge_check_in(session, user=user, patrol=read, req=req, qr_key=qr_key,
                                            device_now=device_now, now=now, read=read)
    except DomainError:
        existing = clientids.saved(session, CheckIn, req.client_id, None, fp)
        if existing is not None:
            return existing, False
        raise
    row["fingerprint"] = fp
    conn = session.connection()
    try:
        if conn.dialect.name == "postgresql":
            # One statement: the check-in and, reading its new id, its audit row (audit.audited_insert).
            row["id"] = _INSERT_CHECKIN_AUDITED.scalar_one(conn, row | audit.audit_params(
                actor_id=user.id, ip=ip, detail=audit_detail))
        else:
            row["id"] = conn.execute(_INSERT_CHECKIN, row).inserted_primary_key[0]
            # Same commit as the row: a failure in between must not leave a check-in without its audit event.
            audit.insert(conn, actor_id=user.id, action="checkin.create", object_type="checkin", object_id=row["id"],
                         ip=ip, detail=audit_detail)
    except sa.exc.IntegrityError as err:
        session.rollback()
        return clientids.collided(session, CheckIn, req.client_id, None, fp, err), False
    session.commit()
    return NewCheckIn(**row), True


_INSERT_CHECKIN_AUDITED = db.Prebuilt(audit.audited_insert(_checkin_t, _CHECKIN_COLUMNS, action="checkin.create",
                                                          object_type="checkin"))


def _judge_check_in(session: Session, *, user: User, patrol: Any, req: CheckInInput, qr_key: str,
                    device_now: datetime | None, now: datetime | None = None,
                    read: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every rule of a check-in: → (the checkin row's values, the audit detail), or a DomainError. `read`: the
    check-in's one read (_CHECKIN_READ), with the checkpoint named by id and the flags' probe."""
    now = now or utcnow()
    recorded_at = req.recorded_at or now
    if patrol.ended_at is not None and recorded_at > patrol.ended_at:
        raise Conflict("patrol_ended", N_("This patrol has already ended. Start a new patrol to check in."))
    # The scope is the user's grids; one checkpoint is looked up by id, not all of them (the hot path, issue 13).
    # Retired checkpoints too: a check-in made before one was retired (sent late from an offline phone) still counts.
    mine = set(accounts.grid_ids(session, user))
    flags: list[str] = []
    distance = None
    if req.qr:
        method = "qr"
        checkpoint = grids.checkpoint_for_qr(session, req.qr, qr_key)
        if checkpoint.grid_id not in mine or (req.checkpoint_id and req.checkpoint_id != checkpoint.id):
            raise Invalid("wrong_checkpoint", N_("This QR code belongs to another checkpoint (“%(name)s”)."), name=checkpoint.name)
        _check_in_use(checkpoint, recorded_at)
        if req.point:
            distance = geo.distance_m(req.point, (checkpoint.lat, checkpoint.lon))
            if distance > accepted_distance(checkpoint, req.accuracy_m or 0):
                flags.append(FLAG_QR_FAR)
    else:
        method = "gps"
        if req.checkpoint_id is not None:
            if read is not None:
                checkpoint = SimpleNamespace(id=read.cp_id, grid_id=read.cp_grid_id, name=read.cp_name,
                                             lat=read.cp_lat, lon=read.cp_lon, radius_m=read.cp_radius_m,
                                             retired_at=read.cp_retired_at) if read.cp_id is not None else None
            else:
                checkpoint = session.connection().execute(_CHECKPOINT_ROW, {"checkpoint_id": req.checkpoint_id}).first() \
                    if 0 < req.checkpoint_id <= db.MAX_ID else None
            if checkpoint is None or checkpoint.grid_id not in mine:
                raise NotFound(N_("This checkpoint does not exist or is not in your grid."))
            _check_in_use(checkpoint, recorded_at)
            distance = geo.distance_m(req.point, (checkpoint.lat, checkpoint.lon))
        else:
            candidates = patrol_checkpoints(session, user, patrol) or [
                cp for cp, _g in grids.checkpoints_in(session, sorted(mine))]
            nearest = _nearest(req.point, candidates)
            if nearest is None:
                raise NotFound(N_("There is no checkpoint in your grid to check in at."))
            checkpoint, distance = nearest
        judge_gps(checkpoint, distance, req.accuracy_m)
    probe = SimpleNamespace(lat=read.prev_lat, lon=read.prev_lon, accuracy_m=read.prev_accuracy_m,
                            recorded_at=read.prev_recorded_at, same_spot=read.same_spot) if read is not None else None
    flags += suspicion_flags(session, user=user, patrol=patrol, point=req.point, accuracy_m=req.accuracy_m,
                             recorded_at=recorded_at, now=now, device_now=device_now, probe=probe)
    row = dict(client_id=req.client_id, patrol_id=patrol.id, checkpoint_id=checkpoint.id, method=method,
               lat=req.point[0] if req.point else None, lon=req.point[1] if req.point else None,
               accuracy_m=req.accuracy_m, distance_m=None if distance is None else round(distance, 1),
               recorded_at=recorded_at, received_at=now, flags=flags)
    return row, {"checkpoint_id": checkpoint.id, "flags": flags}


def scanned_checkpoint(session: Session, *, user: User, code: str, qr_key: str) -> Checkpoint:
    """The checkpoint a poster link names, if this user may check in there: forged or rotated codes are 422
    `bad_qr`, another grid's point is 404, a retired one 422 `checkpoint_retired`."""
    checkpoint = grids.checkpoint_for_qr(session, code, qr_key)
    if checkpoint.grid_id not in accounts.grid_ids(session, user):
        raise NotFound(N_("This must-visit point is not in your grid. Ask your grid officer which points are yours."))
    _check_in_use(checkpoint, utcnow())
    return checkpoint


def check_in_by_scan(session: Session, *, user: User, code: str, client_id: Any, qr_key: str,
                     device_now: datetime | None = None, ip: str | None = None) -> tuple[CheckIn, bool]:
    """One tap after scanning a poster: check in by its code, starting a patrol first when none runs. The patrol's
    client_id is derived from the check-in's, so a retry of the tap neither starts a second patrol nor checks in twice."""
    cid = clientids.parse(client_id)
    scanned_checkpoint(session, user=user, code=code, qr_key=qr_key)
    done = session.exec(select(CheckIn).where(CheckIn.client_id == cid)).first()
    patrol = session.get(Patrol, done.patrol_id) if done is not None else open_patrol(session, user)
    if patrol is None:
        patrol, _created = start(session, user=user, client_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"scan:{cid}")), ip=ip)
    return check_in(session, user=user, patrol_id=patrol.id, data={"client_id": cid, "qr": code}, qr_key=qr_key,
                    device_now=device_now, ip=ip)
