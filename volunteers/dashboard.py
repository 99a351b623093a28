"""What an officer or coordinator sees at a glance: who is patrolling in their grids today."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import accounts, breadcrumb, coverage, grids, hazards, roles, tasks
from volunteers.errors import N_
from volunteers.models import (Assignment, CheckIn, Checkpoint, Grid, Hazard, Patrol, ServiceRecord, Task,
                               Team, TeamMember, User, utcnow)



@dataclass
class GridToday:
    grid: Grid
    checkpoints: list[Checkpoint]
    running: list[tuple[Patrol, User]] = field(default_factory=list)
    patrols_today: int = 0
    visits: coverage.GridPoints | None = None  # today's must-visit points, as the dashboard counts them


def start_of_day(now: datetime) -> datetime:
    """Midnight in Asia/Shanghai (the station's day), as UTC."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def grids_today(session: Session, user: User, now: datetime | None = None) -> list[GridToday]:
    """For each grid the user holds: its checkpoints, who patrols now, today's patrols and its must-visit points
    visited today (`coverage.visited_today`, the dashboard's own count)."""
    now = now or utcnow()
    since = start_of_day(now)
    ids = accounts.grid_ids(session, user)
    result = {g.id: GridToday(g, []) for g in session.exec(select(Grid).where(Grid.id.in_(ids)).order_by(Grid.code))}
    for cp, _grid in grids.checkpoints_in(session, ids):
        result[cp.grid_id].checkpoints.append(cp)
    rows = session.exec(
        select(Patrol, User).join(User, User.id == Patrol.user_id)
        .where(User.home_grid_id.in_(ids), sa.or_(Patrol.started_at >= since, Patrol.ended_at.is_(None)),
               Patrol.discarded.is_(False))
        .order_by(Patrol.started_at.desc())
    )
    for patrol, volunteer in rows:
        entry = result[volunteer.home_grid_id]
        entry.patrols_today += patrol.started_at >= since
        if patrol.ended_at is None:
            entry.running.append((patrol, volunteer))
    for grid_id, visits in coverage.visited_today(session, list(result), now).items():
        result[grid_id].visits = visits
    return list(result.values())


# --- The officer dashboard -----------------------------------------------------------------------------

@dataclass
class OnPatrol:
    patrol: Patrol
    volunteer: User
    position: tuple[float, float, float | None, datetime] | None  # lat, lon, accuracy, when
    checkins: int = 0


@dataclass
class Dashboard:
    grids: list[Grid]
    on_patrol: list[OnPatrol]
    points: list[tuple[Checkpoint, str]]  # each must-visit point with today's state
    visits: dict[int, coverage.GridPoints]  # the same, per grid, with what "visited" is counted over
    shifts: list  # coverage.ShiftCoverage of today's patrol shifts
    open_hazards: list[tuple[Hazard, bool]]  # with "overdue"
    tasks_today: list[tuple[Task, int]]  # with places taken
    patrols_today: int
    turnouts_week: int
    hazards_found_month: int
    hazards_closed_month: int
    unfilled: list[tuple[Task, int]] = field(default_factory=list)  # today's tasks not over yet, with empty places

    @property
    def overdue(self) -> list[Hazard]:
        return [h for h, overdue in self.open_hazards if overdue]

    def points_in(self, *states: str) -> list[Checkpoint]:
        """Today's must-visit points in these states (see `coverage.visited_today`)."""
        return [cp for cp, status in self.points if status in states]

    def grid_code(self, grid_id: int) -> str:
        return next((g.code for g in self.grids if g.id == grid_id), "")

    @property
    def empty_places(self) -> int:
        return sum(places for _task, places in self.unfilled)


# Dashboards and statistics are for staff; volunteers get 403 with this.
STAFF_ONLY = N_("Only grid officers and coordinators see the dashboard.")


def month_start(now: datetime) -> datetime:
    """The first of this month at midnight in Asia/Shanghai."""
    local = now.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def week_start(now: datetime) -> datetime:
    """Monday midnight of this week in Asia/Shanghai."""
    day = start_of_day(now)
    return day - timedelta(days=now.astimezone(SHANGHAI).weekday())


def _hazard_scope(session: Session, user: User, ids: list[int]):
    """Hazards an officer works (their grids) or the coordinator's whole station (its queue included)."""
    if user.role == "officer":
        return Hazard.grid_id.in_(ids or [-1])
    return Hazard.station_id == user.station_id


def volunteers_on_patrol(session: Session, ids: list[int]) -> list[OnPatrol]:
    """Running patrols of volunteers who live in these grids, with their last known position."""
    rows = list(session.exec(
        select(Patrol, User).join(User, User.id == Patrol.user_id)
        .where(User.home_grid_id.in_(ids or [-1]), Patrol.ended_at.is_(None)).order_by(Patrol.started_at)))
    positions = breadcrumb.last_positions(session, [p.id for p, _u in rows])
    counts = dict(session.exec(select(CheckIn.patrol_id, sa.func.count()).where(
        CheckIn.patrol_id.in_([p.id for p, _u in rows] or [-1])).group_by(CheckIn.patrol_id)).all())
    return [OnPatrol(p, u, positions.get(p.id), counts.get(p.id, 0)) for p, u in rows]


def turnouts(session: Session, ids: list[int], since: datetime, until: datetime) -> int:
    """Turn-outs: patrols started plus tasks done (done or verified) by volunteers of these grids in the period."""
    patrols_n = session.exec(select(sa.func.count()).select_from(Patrol).join(User, User.id == Patrol.user_id)
                             .where(User.home_grid_id.in_(ids or [-1]), Patrol.started_at >= since,
                                    Patrol.started_at < until, Patrol.discarded.is_(False))).one()
    tasks_n = session.exec(select(sa.func.count()).select_from(Assignment).join(Task, Task.id == Assignment.task_id)
                           .where(Task.grid_id.in_(ids or [-1]), Assignment.state.in_(("done", "verified")),
                                  Task.starts_at >= since, Task.starts_at < until)).one()
    return patrols_n + tasks_n


def hazards_found_closed(session: Session, user: User, ids: list[int], since: datetime, until: datetime) -> tuple[int, int]:
    """Hazards and clues reported in the period, and those closed in it."""
    scope = _hazard_scope(session, user, ids)
    found = session.exec(select(sa.func.count()).select_from(Hazard).where(
        scope, Hazard.reported_at >= since, Hazard.reported_at < until)).one()
    # A closing counts in the period of the report's last closing (hazard.closed_at), as 月考评 counts it.
    closed = session.exec(select(sa.func.count()).select_from(Hazard).where(
        scope, Hazard.closed_at >= since, Hazard.closed_at < until)).one()
    return found, closed


def dashboard(session: Session, user: User, now: datetime | None = None) -> Dashboard:
    """Everything the officer's dashboard shows for the user's grids (the coordinator: the whole station)."""
    roles.require_staff(user, STAFF_ONLY)
    now = now or utcnow()
    ids = accounts.grid_ids(session, user)
    grid_rows = list(session.exec(select(Grid).where(Grid.id.in_(ids or [-1])).order_by(Grid.code)))
    shifts = coverage.today_shifts(session, ids, now)
    visits = coverage.visited_today(session, [g.id for g in grid_rows], now, shifts)
    points = [point for v in visits.values() for point in v.points]
    open_rows = list(session.exec(select(Hazard).where(_hazard_scope(session, user, ids), Hazard.status.not_in(hazards.FINAL))
                                  .order_by(Hazard.deadline.is_(None), Hazard.deadline, Hazard.reported_at.desc())))
    day_start, day_end = coverage.day_bounds(coverage.local_day(now))
    tasks_today = list(session.exec(select(Task).where(  # a night shift that began yesterday is today's too
        Task.grid_id.in_(ids or [-1]), Task.starts_at < day_end, Task.ends_at > day_start).order_by(Task.starts_at, Task.id)))
    taken = dict(session.exec(select(Assignment.task_id, sa.func.count()).where(
        Assignment.task_id.in_([t.id for t in tasks_today] or [-1]), Assignment.state.in_(tasks.TAKING_PLACES))
        .group_by(Assignment.task_id)).all())
    patrols_today = session.exec(  # patrols out at any time today: one still running since before midnight counts
        select(sa.func.count()).select_from(Patrol).join(User, User.id == Patrol.user_id)
        .where(User.home_grid_id.in_(ids or [-1]), Patrol.started_at < day_end, Patrol.discarded.is_(False),
               sa.or_(Patrol.ended_at.is_(None), Patrol.ended_at > day_start))).one()
    unfilled = [(t, t.capacity - taken.get(t.id, 0)) for t in tasks_today
                if t.ends_at > now and t.capacity > taken.get(t.id, 0)]
    found, closed = hazards_found_closed(session, user, ids, month_start(now), now + timedelta(seconds=1))
    return Dashboard(
        grids=grid_rows, on_patrol=volunteers_on_patrol(session, ids), points=points, visits=visits, shifts=shifts,
        open_hazards=[(h, hazards.is_overdue(h, now)) for h in open_rows],
        tasks_today=[(t, taken.get(t.id, 0)) for t in tasks_today], patrols_today=patrols_today,
        turnouts_week=turnouts(session, ids, week_start(now), now + timedelta(seconds=1)),
        hazards_found_month=found, hazards_closed_month=closed, unfilled=unfilled)


# --- Numbers for the charts ----------------------------------------------------------------------------

def turnouts_per_week(session: Session, user: User, now: datetime | None = None, weeks: int = 8) -> list[tuple[date, int]]:
    """Turn-outs in each of the last `weeks` weeks (Monday of the week, count), oldest first."""
    roles.require_staff(user, STAFF_ONLY)
    now = now or utcnow()
    ids = accounts.grid_ids(session, user)
    this_week = week_start(now)
    starts = [(this_week.astimezone(SHANGHAI) - timedelta(weeks=n)).astimezone(now.tzinfo) for n in range(weeks - 1, -1, -1)]
    # Two queries for the whole window, counted per week here: a query per week was 16 of the dashboard's 57
    # statements at province scale (bench/README.md).
    counts = [0] * weeks
    for when in turnout_times(session, ids, starts[0], starts[-1] + timedelta(weeks=1)):
        counts[bisect.bisect_right(starts, when) - 1] += 1
    return [(start.astimezone(SHANGHAI).date(), n) for start, n in zip(starts, counts)]


def turnout_times(session: Session, ids: list[int], since: datetime, until: datetime) -> list[datetime]:
    """When each turn-out counted by `turnouts` began: patrol starts and the starts of tasks done."""
    patrols_at = session.exec(select(Patrol.started_at).join(User, User.id == Patrol.user_id)
                              .where(User.home_grid_id.in_(ids or [-1]), Patrol.started_at >= since,
                                     Patrol.started_at < until, Patrol.discarded.is_(False)))
    tasks_at = session.exec(select(Task.starts_at).join(Assignment, Task.id == Assignment.task_id)
                            .where(Task.grid_id.in_(ids or [-1]), Assignment.state.in_(("done", "verified")),
                                   Task.starts_at >= since, Task.starts_at < until))
    return list(patrols_at) + list(tasks_at)


def hazards_per_month(session: Session, user: User, now: datetime | None = None, months: int = 6) -> list[tuple[str, int, int]]:
    """Hazards found and closed in each of the last `months` months ("YYYY-MM", found, closed), oldest first."""
    roles.require_staff(user, STAFF_ONLY)
    now = now or utcnow()
    ids = accounts.grid_ids(session, user)
    local = now.astimezone(SHANGHAI)
    bounds = []  # the first instant of each month, oldest first, and the first instant after the last one
    for n in range(months - 1, -2, -1):
        year, month = divmod(local.year * 12 + local.month - 1 - n, 12)
        bounds.append(datetime(year, month + 1, 1, tzinfo=SHANGHAI))
    # Two queries for the whole window, counted per month here (a query per month each was 12 statements).
    found = [0] * months
    closed = [0] * months
    scope = _hazard_scope(session, user, ids)
    for when in session.exec(select(Hazard.reported_at).where(scope, Hazard.reported_at >= bounds[0],
                                                              Hazard.reported_at < bounds[-1])):
        found[bisect.bisect_right(bounds, when) - 1] += 1
    for when in session.exec(select(Hazard.closed_at).where(scope, Hazard.closed_at >= bounds[0],
                                                            Hazard.closed_at < bounds[-1])):
        closed[bisect.bisect_right(bounds, when) - 1] += 1
    return [(f"{b.year:04d}-{b.month:02d}", f, c) for b, f, c in zip(bounds, found, closed)]


def hours_per_team(session: Session, user: User, now: datetime | None = None) -> list[tuple[str, int]]:
    """Approved service minutes this month per team (a volunteer in two teams counts in both), most first."""
    roles.require_staff(user, STAFF_ONLY)
    now = now or utcnow()
    month = now.astimezone(SHANGHAI).strftime("%Y-%m")
    scope = (ServiceRecord.grid_id.in_(accounts.grid_ids(session, user) or [-1]) if user.role == "officer"
             else ServiceRecord.station_id == user.station_id)
    rows = session.exec(select(Team.name, sa.func.sum(ServiceRecord.minutes))
                        .join(TeamMember, TeamMember.user_id == ServiceRecord.volunteer_id)
                        .join(Team, Team.id == TeamMember.team_id)
                        .where(scope, ServiceRecord.status == "approved", ServiceRecord.month == month)
                        .group_by(Team.id, Team.name).order_by(sa.func.sum(ServiceRecord.minutes).desc(), Team.name))
    return [(name, int(minutes or 0)) for name, minutes in rows]
