"""Must-visit points per patrol shift: visited, late, missed or not yet; weekly coverage; telling the officers once.

A shift is a Task of kind "patrol" in a grid with a time window. Its must-visit points are the checkpoints of the
grid's routes. A point counts as visited when *anyone* patrolling checked in there within the window (the grid is
covered whoever walked it); a check-in after the window is shown as late and counts as missed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI, local_day
from volunteers import audit, db, notifications
from volunteers.errors import N_
from volunteers.models import (CheckIn, Checkpoint, Grid, GridOfficer, MissedCheckpointAlert, Route, RouteStop, Task,
                               utcnow)

# A check-in up to this long after the window is "late" (shown, still missed); later ones belong to nothing.
LATE_AFTER = timedelta(hours=6)
# Officers hear about a shift this long after it ended, so an offline phone's check-ins can still arrive.
ALERT_GRACE = timedelta(minutes=10)
# Shifts that ended longer ago than this are never alerted (a fresh install must not flood officers with history).
ALERT_LOOKBACK = timedelta(days=2)

VISITED, LATE, MISSED, NOT_YET = "visited", "late", "missed", "not_yet"
STATUS_LABELS = {VISITED: N_("Visited"), LATE: N_("Late"), MISSED: N_("Missed"), NOT_YET: N_("Not yet")}


@dataclass
class PointStatus:
    checkpoint: Checkpoint
    status: str
    at: datetime | None = None  # the first check-in that decided it (on time or late)


@dataclass
class ShiftCoverage:
    task: Task
    points: list[PointStatus] = field(default_factory=list)

    @property
    def missed(self) -> list[PointStatus]:
        return [p for p in self.points if p.status in (MISSED, LATE)]

    @property
    def visited(self) -> int:
        return sum(p.status == VISITED for p in self.points)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Midnight to midnight of a Shanghai day, in UTC-aware times."""
    start = datetime.combine(day, time(0), SHANGHAI)
    return start, start + timedelta(days=1)


def must_visit(session: Session, grid_ids: list[int]) -> dict[int, list[Checkpoint]]:
    """Each grid's must-visit points: the checkpoints on any of its routes, in route order, once each."""
    result: dict[int, list[Checkpoint]] = defaultdict(list)
    if not grid_ids:
        return result
    rows = session.exec(
        select(Route.grid_id, Checkpoint).join(RouteStop, RouteStop.route_id == Route.id)
        .join(Checkpoint, Checkpoint.id == RouteStop.checkpoint_id)
        .where(Route.grid_id.in_(grid_ids)).order_by(Route.grid_id, Route.id, RouteStop.position)
    )
    for grid_id, cp in rows:
        if all(c.id != cp.id for c in result[grid_id]):
            result[grid_id].append(cp)
    return result


def checkin_times(session: Session, checkpoint_ids: list[int], since: datetime, until: datetime) -> dict[int, list[datetime]]:
    """When anyone checked in at these points (device time) between two moments, oldest first."""
    times: dict[int, list[datetime]] = defaultdict(list)
    if not checkpoint_ids:
        return times
    rows = session.exec(
        select(CheckIn.checkpoint_id, CheckIn.recorded_at)
        .where(CheckIn.checkpoint_id.in_(checkpoint_ids), CheckIn.recorded_at >= since, CheckIn.recorded_at < until)
        .order_by(CheckIn.recorded_at)
    )
    for cp_id, at in rows:
        times[cp_id].append(at)
    return times


def judge(task: Task, points: list[Checkpoint], times: dict[int, list[datetime]], now: datetime) -> ShiftCoverage:
    """Each point of one shift: visited in the window, late (after it), missed (window over), or not yet."""
    shift = ShiftCoverage(task)
    for cp in points:
        seen = [t for t in times.get(cp.id, []) if task.starts_at <= t < task.ends_at + LATE_AFTER]
        on_time = next((t for t in seen if t <= task.ends_at), None)
        late = next((t for t in seen if t > task.ends_at), None)
        if on_time:
            shift.points.append(PointStatus(cp, VISITED, on_time))
        elif late:
            shift.points.append(PointStatus(cp, LATE, late))
        elif now >= task.ends_at:
            shift.points.append(PointStatus(cp, MISSED))
        else:
            shift.points.append(PointStatus(cp, NOT_YET))
    return shift


def patrol_shifts(session: Session, grid_ids: list[int], since: datetime, until: datetime, *,
                  overlapping: bool = False) -> list[Task]:
    """Patrol shifts in these grids whose window starts between two moments (or, overlapping, has any part of its
    window between them: a night shift from 22:00 to 02:00 belongs to both days), in time order."""
    if not grid_ids:
        return []
    window = ((Task.starts_at < until, Task.ends_at > since) if overlapping
              else (Task.starts_at >= since, Task.starts_at < until))
    return list(session.exec(
        select(Task).where(Task.kind == "patrol", Task.grid_id.in_(grid_ids), *window).order_by(Task.starts_at, Task.id)))


def shifts_coverage(session: Session, tasks: list[Task], now: datetime | None = None) -> list[ShiftCoverage]:
    """Visited / late / missed / not yet for every must-visit point of every shift (each shift on its own)."""
    now = now or utcnow()
    if not tasks:
        return []
    points = must_visit(session, sorted({t.grid_id for t in tasks}))
    ids = sorted({cp.id for cps in points.values() for cp in cps})
    times = checkin_times(session, ids, min(t.starts_at for t in tasks), max(t.ends_at for t in tasks) + LATE_AFTER)
    return [judge(t, points.get(t.grid_id, []), times, now) for t in tasks]


def today_shifts(session: Session, grid_ids: list[int], now: datetime | None = None) -> list[ShiftCoverage]:
    """Today's patrol shifts (Shanghai day, a night shift from yesterday included) in these grids with the state of
    each must-visit point."""
    now = now or utcnow()
    start, end = day_bounds(local_day(now))
    return shifts_coverage(session, patrol_shifts(session, grid_ids, start, end, overlapping=True), now)


def point_colours(session: Session, grid_ids: list[int], shifts: list[ShiftCoverage],
                  now: datetime | None = None) -> dict[int, str]:
    """One state per must-visit point for today's map. While a shift runs in a grid, its points show that shift (a
    point missed this morning turns green when someone checks in now); otherwise missed beats not yet beats visited
    across the day's shifts. In a grid with no shift today, visited if anyone checked in there today."""
    now = now or utcnow()
    order = {MISSED: 3, LATE: 3, NOT_YET: 2, VISITED: 1}
    colours: dict[int, str] = {}
    running = {s.task.grid_id for s in shifts if s.task.starts_at <= now < s.task.ends_at}
    for shift in shifts:
        if shift.task.grid_id in running and not shift.task.starts_at <= now < shift.task.ends_at:
            continue
        for p in shift.points:
            status = MISSED if p.status == LATE else p.status
            if order[status] > order.get(colours.get(p.checkpoint.id), 0):
                colours[p.checkpoint.id] = status
    start, end = day_bounds(local_day(now))
    shifted = {s.task.grid_id for s in shifts}
    loose = [cp for g, cps in must_visit(session, grid_ids).items() if g not in shifted for cp in cps]
    times = checkin_times(session, [cp.id for cp in loose], start, end)
    for cp in loose:
        colours[cp.id] = VISITED if times.get(cp.id) else NOT_YET
    return colours


@dataclass
class GridPoints:
    """One grid's must-visit points today, each with its state, and what the states are counted over (`basis`):
    SHIFT — the shift running now (`shift`); SHIFTS — today's shifts, none running (the worst state of the day);
    DAY — any check-in today (the grid has no shift today)."""
    grid_id: int
    basis: str
    shift: Task | None
    points: list[tuple[Checkpoint, str]] = field(default_factory=list)

    @property
    def visited(self) -> int:
        return sum(status == VISITED for _cp, status in self.points)


SHIFT, SHIFTS, DAY = "shift", "shifts", "day"


def visited_today(session: Session, grid_ids: list[int], now: datetime | None = None,
                  shifts: list[ShiftCoverage] | None = None) -> dict[int, GridPoints]:
    """The one answer to "which must-visit points were visited today", for the officer's home and the dashboard
    alike: while a patrol shift runs in a grid, a point is visited when someone checked in there within that shift;
    in a grid with shifts today but none running, the worst state over today's shifts; in a grid with no shift
    today, visited when anyone checked in there today (`point_colours`). Keyed by grid id, in the grids' order."""
    now = now or utcnow()
    shifts = today_shifts(session, grid_ids, now) if shifts is None else shifts
    colours = point_colours(session, grid_ids, shifts, now)
    must = must_visit(session, grid_ids)
    result: dict[int, GridPoints] = {}
    for grid_id in grid_ids:
        mine = [s.task for s in shifts if s.task.grid_id == grid_id]
        running = next((t for t in mine if t.starts_at <= now < t.ends_at), None)
        basis = SHIFT if running else SHIFTS if mine else DAY
        result[grid_id] = GridPoints(grid_id, basis, running,
                                     [(cp, colours.get(cp.id, NOT_YET)) for cp in must.get(grid_id, [])])
    return result


# --- Weekly coverage --------------------------------------------------------------------------------

@dataclass
class Coverage:
    name: str
    grid_code: str
    visited: int = 0
    required: int = 0

    @property
    def percent(self) -> int | None:
        return None if not self.required else round(100 * self.visited / self.required)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(session: Session, grid_ids: list[int], week_of: date, now: datetime | None = None) -> tuple[list[Coverage], list[Coverage]]:
    """Coverage % per route and per grid for the Monday–Sunday week holding `week_of`, up to now:
    each patrol shift requires every point of the grid's routes once in its window; a day without a shift
    requires each route's points once that day. Returns (routes, grids)."""
    now = now or utcnow()
    first = monday(week_of)
    days = [first + timedelta(days=i) for i in range(7) if first + timedelta(days=i) <= local_day(now)]
    grids = {g.id: g for g in session.exec(select(Grid).where(Grid.id.in_(grid_ids or [-1])))}
    routes = list(session.exec(select(Route).where(Route.grid_id.in_(grid_ids or [-1])).order_by(Route.grid_id, Route.id)))
    stops: dict[int, list[int]] = defaultdict(list)
    for route_id, cp_id in session.exec(select(RouteStop.route_id, RouteStop.checkpoint_id)
                                        .where(RouteStop.route_id.in_([r.id for r in routes] or [-1]))
                                        .order_by(RouteStop.route_id, RouteStop.position)):
        if cp_id not in stops[route_id]:
            stops[route_id].append(cp_id)
    if not days:
        return ([Coverage(r.name, grids[r.grid_id].code) for r in routes],
                [Coverage(grids[g].name, grids[g].code) for g in sorted(grids)])
    week_start, _ = day_bounds(days[0])
    _, week_end = day_bounds(days[-1])
    planned = patrol_shifts(session, list(grids), week_start, week_end)
    tasks = [t for t in planned if t.ends_at <= now]  # a running shift is judged when it ends
    all_ids = sorted({cp for ids in stops.values() for cp in ids})
    times = checkin_times(session, all_ids, week_start, week_end + LATE_AFTER)
    shift_days = defaultdict(set)
    for t in planned:
        shift_days[t.grid_id].add(local_day(t.starts_at))
    by_route = {r.id: Coverage(r.name, grids[r.grid_id].code) for r in routes}
    for r in routes:
        cov = by_route[r.id]
        for t in (t for t in tasks if t.grid_id == r.grid_id):
            cov.required += len(stops[r.id])
            cov.visited += sum(any(t.starts_at <= at <= t.ends_at for at in times.get(cp, [])) for cp in stops[r.id])
        for day in days:
            if day in shift_days[r.grid_id]:
                continue
            start, end = day_bounds(day)
            cov.required += len(stops[r.id])
            cov.visited += sum(any(start <= at < end for at in times.get(cp, [])) for cp in stops[r.id])
    by_grid = {g: Coverage(grids[g].name, grids[g].code) for g in sorted(grids, key=lambda g: grids[g].code)}
    for r in routes:
        by_grid[r.grid_id].visited += by_route[r.id].visited
        by_grid[r.grid_id].required += by_route[r.id].required
    return list(by_route.values()), list(by_grid.values())


# --- Telling the officers ---------------------------------------------------------------------------

def alert_missed(session: Session, now: datetime | None = None, *, station_id: int | None = None) -> int:
    """For every patrol shift that ended (plus a short grace) and was not yet looked at, tell the grid's officers
    which must-visit points were missed — once per shift (a MissedCheckpointAlert row remembers it). The jobs
    process does every station; a dashboard only its own (`station_id`), so a page never scans the province.
    Returns how many shifts had missed points."""
    now = now or utcnow()
    done = select(MissedCheckpointAlert.task_id)
    query = select(Task).where(Task.kind == "patrol", Task.ends_at <= now - ALERT_GRACE,
                               Task.ends_at >= now - ALERT_LOOKBACK, Task.id.not_in(done))
    if station_id is not None:
        query = query.where(Task.station_id == station_id)
    tasks = list(session.exec(query.order_by(Task.ends_at)))
    alerted = 0
    for shift in shifts_coverage(session, tasks, now):
        missed = shift.missed
        row = MissedCheckpointAlert(task_id=shift.task.id, checkpoint_ids=[p.checkpoint.id for p in missed], sent_at=now)
        session.add(row)
        try:
            session.flush()
        except sa.exc.IntegrityError as err:  # another process took this shift first: it tells the officers
            session.rollback()
            if not db.is_unique_violation(err):
                raise
            continue
        if missed:
            names = "、".join(p.checkpoint.name for p in missed)
            for officer_id in session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == shift.task.grid_id)):
                notifications.notify(session, user_id=officer_id, link=f"/dashboard/?task={shift.task.id}",
                                     message=N_("Shift “%(title)s”: %(count)d must-visit points missed: %(names)s"),
                                     title=shift.task.title, count=len(missed), names=names)
            audit.record(session, actor_id=None, action="shift.missed_alert", obj=shift.task,
                         checkpoint_ids=row.checkpoint_ids)
            alerted += 1
        session.commit()
    return alerted
