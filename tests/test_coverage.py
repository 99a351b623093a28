"""Missed must-visit points per patrol shift (windows, late check-ins, several shifts a day), weekly coverage %,
and telling the grid's officers once per shift."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from volunteers import coverage, grids
from volunteers.models import (AuditEvent, CheckIn, MissedCheckpointAlert, Notification, Patrol, Route, RouteStop, Station,
                               Task)

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

SH = coverage.SHANGHAI


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """A moment in January 2030 (far from the demo's history), Shanghai time."""
    return datetime(2030, 1, day, hh, mm, tzinfo=SH)


def route_points(town, code="G1"):
    route = grids.first_route(town.session, town.grid(code).id)
    return grids.route_checkpoints(town.session, route.id)


def shift(town, start, end, code="G1", title="夜巡") -> Task:
    task = Task(client_id=str(uuid.uuid4()), fingerprint="t", station_id=town.grid(code).station_id,
                grid_id=town.grid(code).id, kind="patrol", title=title, starts_at=start, ends_at=end, capacity=2)
    town.session.add(task)
    town.session.commit()
    return task


def visit(town, cp, when, phone=VOLUNTEER):
    user = town.user(phone)
    patrol = Patrol(client_id=str(uuid.uuid4()), fingerprint="p", user_id=user.id, started_at=when - timedelta(minutes=5),
                    ended_at=when + timedelta(minutes=5))
    town.session.add(patrol)
    town.session.flush()
    town.session.add(CheckIn(client_id=str(uuid.uuid4()), fingerprint="c", patrol_id=patrol.id, checkpoint_id=cp.id,
                             method="gps", lat=cp.lat, lon=cp.lon, accuracy_m=5, recorded_at=when, received_at=when,
                             flags=[]))
    town.session.commit()


def states(result: coverage.ShiftCoverage) -> dict[str, str]:
    return {p.checkpoint.name: p.status for p in result.points}


def test_the_must_visit_points_of_a_shift_are_those_of_the_grids_routes(town):
    a, b = route_points(town)[:2]
    task = shift(town, at(7, 19), at(7, 21))
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 22))
    assert [p.checkpoint.id for p in result.points] == [cp.id for cp in route_points(town)]
    assert all(p.status == coverage.MISSED for p in result.points)


def test_a_check_in_within_the_window_is_visited_after_it_late_and_before_it_nothing(town):
    a, b, *rest = route_points(town)
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 20, 30))
    visit(town, b, at(7, 21, 10))  # ten minutes after the window
    if rest:
        visit(town, rest[0], at(7, 18, 50))  # before the shift started: does not count
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 22))
    got = states(result)
    assert got[a.name] == coverage.VISITED and got[b.name] == coverage.LATE
    late = next(p for p in result.points if p.checkpoint.id == b.id)
    assert late.at == at(7, 21, 10)
    assert {p.checkpoint.id for p in result.missed} == {cp.id for cp in route_points(town) if cp.id != a.id}
    assert result.visited == 1


def test_a_running_shift_says_not_yet_for_points_not_visited(town):
    a, b = route_points(town)[:2]
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 19, 30))
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 20))
    assert states(result)[a.name] == coverage.VISITED and states(result)[b.name] == coverage.NOT_YET


def test_the_window_edges_count_as_inside(town):
    a, b = route_points(town)[:2]
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 19))
    visit(town, b, at(7, 21))
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 22))
    assert states(result)[a.name] == states(result)[b.name] == coverage.VISITED


def test_anyone_patrolling_covers_the_grid_not_only_the_shifts_volunteers(town):
    a = route_points(town)[0]
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 19, 30), phone="13800000202")
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 22))
    assert states(result)[a.name] == coverage.VISITED


def test_a_check_in_in_another_grid_covers_nothing_here(town):
    other = route_points(town, "G3")[0]
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, other, at(7, 19, 30), phone=VOLUNTEER_G3)
    [result] = coverage.shifts_coverage(town.session, [task], now=at(7, 22))
    assert all(p.status == coverage.MISSED for p in result.points)


def test_several_shifts_a_day_are_judged_separately(town):
    a, b = route_points(town)[:2]
    morning = shift(town, at(7, 7), at(7, 9), title="早巡")
    evening = shift(town, at(7, 19), at(7, 21), title="晚巡")
    visit(town, a, at(7, 8))
    visit(town, b, at(7, 20))
    first, second = coverage.shifts_coverage(town.session, [morning, evening], now=at(7, 22))
    assert first.task.id == morning.id and second.task.id == evening.id
    assert states(first)[a.name] == coverage.VISITED and states(first)[b.name] == coverage.MISSED
    assert states(second)[a.name] == coverage.MISSED and states(second)[b.name] == coverage.VISITED


def test_a_check_in_during_the_next_shift_is_late_for_the_earlier_one_and_on_time_for_the_next(town):
    a = route_points(town)[0]
    early = shift(town, at(7, 13), at(7, 15))
    late = shift(town, at(7, 16), at(7, 18))
    visit(town, a, at(7, 17))
    first, second = coverage.shifts_coverage(town.session, [early, late], now=at(7, 19))
    assert states(first)[a.name] == coverage.LATE and states(second)[a.name] == coverage.VISITED


def test_today_shifts_takes_only_todays_patrol_shifts_of_the_grids(town):
    shift(town, at(7, 7), at(7, 9), title="今天")
    shift(town, at(8, 7), at(8, 9), title="明天")
    shift(town, at(7, 7), at(7, 9), code="G3", title="别的网格")
    school = shift(town, at(7, 7), at(7, 8), title="护学岗")
    school.kind = "school_gate"
    town.session.commit()
    result = coverage.today_shifts(town.session, [town.grid("G1").id], now=at(7, 12))
    assert [s.task.title for s in result] == ["今天"]


def test_a_night_shift_over_midnight_belongs_to_the_day_it_starts(town):
    a = route_points(town)[0]
    night = shift(town, at(7, 22), at(8, 2))
    visit(town, a, at(8, 1))
    [result] = coverage.today_shifts(town.session, [town.grid("G1").id], now=at(7, 23))
    assert result.task.id == night.id
    assert coverage.shifts_coverage(town.session, [night], now=at(8, 3))[0].points[0].status == coverage.VISITED


def test_after_midnight_the_dashboard_still_shows_the_night_shift_that_is_running(town):
    a = route_points(town)[0]
    night = shift(town, at(7, 22), at(8, 2))
    visit(town, a, at(8, 0, 20))
    [result] = coverage.today_shifts(town.session, [town.grid("G1").id], now=at(8, 0, 30))
    assert result.task.id == night.id
    assert {p.checkpoint.id: p.status for p in result.points}[a.id] == coverage.VISITED
    colours = coverage.point_colours(town.session, [town.grid("G1").id], [result], now=at(8, 0, 30))
    assert colours[a.id] == coverage.VISITED and set(colours.values()) == {coverage.VISITED, coverage.NOT_YET}
    assert coverage.today_shifts(town.session, [town.grid("G1").id], now=at(9, 0, 30)) == []


def test_map_colours_the_worst_state_of_the_day_and_grids_without_shifts_by_any_check_in(town):
    a, b = route_points(town)[:2]
    g3 = route_points(town, "G3")
    morning = shift(town, at(7, 7), at(7, 9))
    evening = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 8))
    visit(town, g3[0], at(7, 10), phone=VOLUNTEER_G3)
    ids = [town.grid("G1").id, town.grid("G3").id]
    shifts = coverage.shifts_coverage(town.session, [morning, evening], now=at(7, 12))
    colours = coverage.point_colours(town.session, ids, shifts, now=at(7, 12))
    assert colours[a.id] == coverage.NOT_YET  # visited this morning, still to do tonight
    assert colours[b.id] == coverage.MISSED  # missed this morning
    assert colours[g3[0].id] == coverage.VISITED and colours[g3[1].id] == coverage.NOT_YET


def test_while_a_shift_runs_the_map_shows_that_shift_so_a_visit_now_turns_a_missed_point_green(town):
    a, b = route_points(town)[:2]
    morning = shift(town, at(7, 7), at(7, 9))
    evening = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 19, 30))
    shifts = coverage.shifts_coverage(town.session, [morning, evening], now=at(7, 20))
    colours = coverage.point_colours(town.session, [town.grid("G1").id], shifts, now=at(7, 20))
    assert states(shifts[0])[a.name] == coverage.MISSED  # the morning's own list still says so
    assert colours[a.id] == coverage.VISITED and colours[b.id] == coverage.NOT_YET


# --- Weekly coverage ----------------------------------------------------------------------------------

def test_weekly_coverage_counts_each_shift_and_each_day_without_a_shift(town):
    points = route_points(town)
    n = len(points)
    # Monday 2030-01-07 and Tuesday have a shift each; Wednesday has none; "now" is Wednesday evening.
    monday = shift(town, at(7, 19), at(7, 21))
    tuesday = shift(town, at(8, 19), at(8, 21))
    for cp in points:
        visit(town, cp, at(7, 20))  # Monday: all on time
    visit(town, points[0], at(8, 21, 30))  # Tuesday: one late, which counts as missed
    visit(town, points[1], at(9, 10))  # Wednesday: no shift, one point seen that day
    routes, by_grid = coverage.weekly(town.session, [town.grid("G1").id], at(9, 1).date(), now=at(9, 22))
    assert monday.id and tuesday.id
    [route] = [r for r in routes if r.grid_code == "G1"]
    assert (route.visited, route.required) == (n + 1, 3 * n)
    assert route.percent == round(100 * (n + 1) / (3 * n))
    [g1] = by_grid
    assert (g1.visited, g1.required, g1.grid_code) == (n + 1, 3 * n, "G1")


def test_weekly_coverage_skips_days_to_come_and_shifts_still_running(town):
    points = route_points(town)
    shift(town, at(7, 19), at(7, 21))
    visit(town, points[0], at(7, 19, 30))
    routes, _ = coverage.weekly(town.session, [town.grid("G1").id], at(7, 1).date(), now=at(7, 20))
    [route] = routes
    assert (route.visited, route.required) == (0, 0) and route.percent is None


def test_a_grid_with_two_routes_adds_them_up(town, session):
    points = route_points(town)
    g1 = town.grid("G1")
    extra = Route(grid_id=g1.id, name="支线")
    session.add(extra)
    session.flush()
    session.add(RouteStop(route_id=extra.id, position=0, checkpoint_id=points[0].id))
    session.commit()
    visit(town, points[0], at(7, 10))
    routes, [grid] = coverage.weekly(session, [g1.id], at(7, 1).date(), now=at(7, 23))
    by_name = {r.name: r for r in routes}
    assert (by_name["支线"].visited, by_name["支线"].required) == (1, 1)
    assert (grid.visited, grid.required) == (2, len(points) + 1)


# --- Telling the officers once -------------------------------------------------------------------------

def alerts_for(town, phone):
    return list(town.session.exec(select(Notification).where(Notification.user_id == town.user(phone).id,
                                                              Notification.message.contains("missed"))))


def test_the_grids_officers_are_told_once_per_shift_which_points_were_missed(town):
    a, b = route_points(town)[:2]
    task = shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 20))
    assert coverage.alert_missed(town.session, now=at(7, 21, 5)) == 0  # the grace period: a phone may still send
    assert coverage.alert_missed(town.session, now=at(7, 21, 30)) == 1
    assert coverage.alert_missed(town.session, now=at(7, 23)) == 0
    [note] = alerts_for(town, OFFICER_G12)
    assert b.name in note.params["names"] and a.name not in note.params["names"]
    assert note.params["count"] == len(route_points(town)) - 1 and note.link.endswith(f"task={task.id}")
    assert alerts_for(town, OFFICER_G34) == []
    row = town.session.exec(select(MissedCheckpointAlert).where(MissedCheckpointAlert.task_id == task.id)).one()
    assert a.id not in row.checkpoint_ids and b.id in row.checkpoint_ids
    assert town.session.exec(select(AuditEvent).where(AuditEvent.action == "shift.missed_alert")).one().object_id == task.id


def test_a_fully_covered_shift_is_remembered_but_tells_nobody(town):
    task = shift(town, at(7, 19), at(7, 21))
    for cp in route_points(town):
        visit(town, cp, at(7, 20))
    assert coverage.alert_missed(town.session, now=at(7, 22)) == 0
    assert alerts_for(town, OFFICER_G12) == []
    assert town.session.exec(select(MissedCheckpointAlert).where(MissedCheckpointAlert.task_id == task.id)).one().checkpoint_ids == []


def test_a_dashboards_lazy_round_tells_only_its_own_station(town):
    a, _b = route_points(town)[:2]
    shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 20))
    elsewhere = town.session.exec(select(Station.id).where(Station.id != town.grid("G1").station_id)).first()
    assert coverage.alert_missed(town.session, now=at(7, 21, 30), station_id=(elsewhere or -1)) == 0
    assert alerts_for(town, OFFICER_G12) == []
    assert coverage.alert_missed(town.session, now=at(7, 21, 30), station_id=town.grid("G1").station_id) == 1


def test_old_shifts_are_never_alerted(town):
    shift(town, at(1, 19), at(1, 21))
    assert coverage.alert_missed(town.session, now=at(7, 22)) == 0
    assert town.session.exec(select(MissedCheckpointAlert)).all() == []


@pytest.mark.parametrize("hour", [7, 8])
def test_local_day_is_the_shanghai_day(hour):
    moment = datetime(2030, 1, 7, hour, tzinfo=SH)
    assert coverage.local_day(moment.astimezone(coverage.SHANGHAI)) == moment.date()
    start, end = coverage.day_bounds(moment.date())
    assert start <= moment < end and end - start == timedelta(days=1)


# --- One "visited today" for the officer's home and the dashboard (issue 15) --------------------------------

def test_visited_today_counts_the_running_shift_then_the_days_shifts_then_the_whole_day(town):
    a, b = route_points(town)[:2]
    grid = town.grid("G1").id
    other = town.grid("G2").id
    visit(town, a, at(7, 8))  # in the morning, before the evening shift
    shift(town, at(7, 19), at(7, 21))
    visit(town, b, at(7, 19, 30))
    during = coverage.visited_today(town.session, [grid, other], now=at(7, 20))
    assert during[grid].basis == coverage.SHIFT and during[grid].shift.title == "夜巡"
    assert dict((cp.id, s) for cp, s in during[grid].points)[a.id] == coverage.NOT_YET  # the morning does not count
    assert during[grid].visited == 1
    after = coverage.visited_today(town.session, [grid], now=at(7, 22))
    assert after[grid].basis == coverage.SHIFTS and after[grid].shift is None
    assert dict((cp.id, s) for cp, s in after[grid].points)[a.id] == coverage.MISSED
    assert during[other].basis == coverage.DAY and during[other].visited == 0
    # With no shift in the grid, any check-in that day counts.
    visit(town, route_points(town, "G2")[0], at(7, 9), phone=VOLUNTEER)
    assert coverage.visited_today(town.session, [other], now=at(7, 10))[other].visited == 1


def test_the_officer_home_and_the_dashboard_share_the_same_points(town):
    from volunteers import dashboard
    officer = town.user(OFFICER_G12)
    a = route_points(town)[0]
    shift(town, at(7, 19), at(7, 21))
    visit(town, a, at(7, 8))
    home = {g.grid.id: g.visits for g in dashboard.grids_today(town.session, officer, now=at(7, 20))}
    board = dashboard.dashboard(town.session, officer, now=at(7, 20)).visits
    assert {g: (v.basis, v.points) for g, v in home.items()} == {g: (v.basis, v.points) for g, v in board.items()}
