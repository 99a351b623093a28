"""The service-hours ledger: records derived from evidence (ended patrols, verified shifts), manual entries and
corrections, their approval by grid officers, monthly certification, star levels and the tally.

A record's `month` is the YYYY-MM of its start in Asia/Shanghai (no daylight saving); periods are whole local days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.errors import Invalid, N_
from volunteers.models import ServiceRecord, Team, TeamMember, User, Grid

SHANGHAI = ZoneInfo("Asia/Shanghai")
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


def month_of(moment: datetime) -> str:
    """YYYY-MM of a moment in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


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
