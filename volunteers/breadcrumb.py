"""The patrol breadcrumb: positions a running patrol's phone sends in batches, and the track an officer replays."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import audit, clientids, fields, patrols
from volunteers.errors import Invalid, N_
from volunteers.models import CheckIn, Patrol, PatrolPosition, utcnow

MAX_POINTS = 100
# A phone's clock may run a little off the server's; points this far around the patrol's times still count.
TOLERANCE = timedelta(minutes=5)
# A fix rougher than 5 km is no position at all.
MAX_ACCURACY_M = 5000.0


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    accuracy_m: float | None
    recorded_at: datetime


def parse_points(raw: Any) -> list[Point]:
    """A batch of 1–100 points, each {lat, lon, accuracy_m, recorded_at}; clear 400/413/422 errors otherwise."""
    if not isinstance(raw, list):
        raise Invalid("bad_points", N_("The field “%(field)s” must be a list of positions."), status=400, field="points")
    if not raw:
        raise Invalid("no_points", N_("Send at least one position."))
    if len(raw) > MAX_POINTS:
        raise Invalid("too_many_points", N_("Send at most %(max)d positions at a time."), status=413, max=MAX_POINTS)
    points = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("bad_points", N_("The field “%(field)s” must be a list of positions."), status=400, field="points")
        lat, lon = fields.point(item, required=True)
        accuracy = fields.number(item, "accuracy_m", low=0, high=MAX_ACCURACY_M, required=False)
        when = patrols.recorded_time(item.get("recorded_at"), "recorded_at")
        if when is None:
            raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field="recorded_at")
        points.append(Point(lat, lon, accuracy, when))
    return points


def record(session: Session, *, user, patrol_id: int, data: dict[str, Any], ip: str | None = None) -> tuple[int, bool]:
    """Store a batch of positions of the user's own patrol; the same batch again is a harmless retry.
    Returns (how many points the batch holds, whether it was new)."""
    patrol = patrols.own_patrol(session, user, patrol_id)
    cid = clientids.parse(data.get("client_id"))
    points = parse_points(data.get("points"))
    fp, saved = clientids.earlier(session, PatrolPosition, cid, None, {"patrol": patrol.id, "points": [
        [p.lat, p.lon, p.accuracy_m, p.recorded_at.isoformat()] for p in points]})
    if saved is not None:
        return _size(session, cid), False
    now = utcnow()
    latest = (patrol.ended_at or now) + TOLERANCE
    for p in points:
        if not patrol.started_at - TOLERANCE <= p.recorded_at <= latest:
            raise Invalid("outside_patrol", N_("A position recorded at %(time)s lies outside this patrol's time."),
                          time=p.recorded_at.isoformat(timespec="seconds"))
    rows = [PatrolPosition(client_id=cid, seq=n, fingerprint=fp, patrol_id=patrol.id, lat=p.lat, lon=p.lon,
                           accuracy_m=p.accuracy_m, recorded_at=p.recorded_at, received_at=now)
            for n, p in enumerate(points)]
    if clientids.insert(session, rows, model=PatrolPosition, cid=cid, creator_id=None, fp=fp) is not None:
        return _size(session, cid), False  # a concurrent copy of this batch won the race: answered like a retry
    audit.record(session, actor_id=user.id, action="patrol.positions", obj=patrol, ip=ip, count=len(points))
    session.commit()
    return len(points), True


def _size(session: Session, cid: str) -> int:
    """How many points the batch saved under cid holds (a retry's answer)."""
    return session.exec(select(sa.func.count()).select_from(PatrolPosition).where(PatrolPosition.client_id == cid)).one()


def track(session: Session, patrol: Patrol) -> list[PatrolPosition]:
    """A patrol's breadcrumb in the order the phone recorded it."""
    return list(session.exec(select(PatrolPosition).where(PatrolPosition.patrol_id == patrol.id)
                             .order_by(PatrolPosition.recorded_at, PatrolPosition.id)))


def last_positions(session: Session, patrol_ids: list[int]) -> dict[int, tuple[float, float, float | None, datetime]]:
    """The latest known (lat, lon, accuracy, time) of each patrol, from its breadcrumb or its GPS check-ins."""
    best: dict[int, tuple[float, float, float | None, datetime]] = {}
    if not patrol_ids:
        return best
    crumbs = session.exec(select(PatrolPosition.patrol_id, PatrolPosition.lat, PatrolPosition.lon,
                                 PatrolPosition.accuracy_m, PatrolPosition.recorded_at)
                          .where(PatrolPosition.patrol_id.in_(patrol_ids)))
    checks = session.exec(select(CheckIn.patrol_id, CheckIn.lat, CheckIn.lon, CheckIn.accuracy_m, CheckIn.recorded_at)
                          .where(CheckIn.patrol_id.in_(patrol_ids), CheckIn.lat.is_not(None)))
    for pid, lat, lon, acc, at in list(crumbs) + list(checks):
        if pid not in best or at > best[pid][3]:
            best[pid] = (lat, lon, acc, at)
    return best
