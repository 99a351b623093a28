"""The demo town keeps the contract in DESIGN.md: phones, grids, routes, history."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from volunteers import accounts, db, demo, grids, hazards, photos
from volunteers.errors import Conflict
from volunteers.models import Assignment, CheckIn, Grid, Hazard, HazardEvent, Patrol, PatrolPosition, Photo, Route, Task, User, utcnow


def test_the_people_of_the_contract_are_there(town, session):
    assert town.user("13800000000").role == "coordinator"
    officers = {u.phone: u for u in session.exec(select(User).where(User.role == "officer"))}
    assert set(officers) == {"13800000101", "13800000102"}
    codes = lambda phone: sorted(session.get(Grid, i).code for i in accounts.grid_ids(session, officers[phone]))
    assert codes("13800000101") == ["G1", "G2"] and codes("13800000102") == ["G3", "G4"]
    volunteers = session.exec(select(User).where(User.role == "volunteer", User.status == "active")).all()
    assert len(volunteers) >= 20
    assert session.get(Grid, town.user("13800000201").home_grid_id).code == "G1"
    assert session.get(Grid, town.user("13800000211").home_grid_id).code == "G3"
    assert {town.user("13800000223").status, town.user("13800000224").status} == {"pending", "suspended"}
    assert len({u.home_grid_id for u in volunteers}) == 4


def test_every_grid_is_a_closed_polygon_with_a_route_of_at_least_two_points(town, session):
    for grid in session.exec(select(Grid)):
        ring = grid.boundary["coordinates"][0]
        assert grid.boundary["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 4
        route = grids.first_route(session, grid.id)
        stops = grids.route_checkpoints(session, route.id)
        assert len(stops) >= 2
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        assert all(min(lats) < cp.lat < max(lats) and min(lons) < cp.lon < max(lons) for cp in stops)


def test_there_are_a_few_weeks_of_patrol_history(town, session):
    first = session.exec(select(sa.func.min(Patrol.started_at))).one()
    assert utcnow() - first > timedelta(days=14)
    assert session.exec(select(sa.func.count()).select_from(CheckIn)).one() > 100
    running = session.exec(select(Patrol).where(Patrol.ended_at.is_(None))).all()
    # Two people are out on patrol now (for the dashboard); the accounts people log in as are free to start one.
    assert sorted(session.get(User, p.user_id).phone for p in running) == ["13800000205", "13800000213"]
    assert all(session.exec(select(PatrolPosition).where(PatrolPosition.patrol_id == p.id)).all() for p in running)


def test_there_are_patrol_shifts_with_points_visited_and_missed(town, session):
    shifts = session.exec(select(Task).where(Task.kind == "patrol", Task.title == "网格巡逻")).all()
    past = [t for t in shifts if t.ends_at <= utcnow()]
    assert {t.grid_id for t in shifts} == {town.grid("G1").id, town.grid("G3").id} and len(past) >= 14
    taken = session.exec(select(Assignment, Task).join(Task, Task.id == Assignment.task_id)
                         .where(Assignment.task_id.in_([t.id for t in past]))).all()
    # Verified, except the last day's: done and waiting for the officer (his task list starts with them).
    day_ago = utcnow() - timedelta(hours=24)
    assert taken and all(a.state == ("verified" if t.ends_at <= day_ago else "done") for a, t in taken)
    assert any(a.state == "done" for a, _t in taken) and any(a.state == "verified" for a, _t in taken)


def test_there_are_reports_in_every_state_and_the_station_queue(town, session):
    rows = session.exec(select(Hazard)).all()
    assert {h.status for h in rows} == set(hazards.STATES)
    assert any(h.grid_id is None for h in rows) and any(h.kind == "clue" for h in rows)
    assert hazards.mediation_success_rate(session, town.user("13800000000").station_id) == 0.5
    for h in rows:  # every history is a legal walk through the state machine, ending where the report is
        steps = session.exec(select(HazardEvent).where(HazardEvent.hazard_id == h.id)
                             .order_by(HazardEvent.at, HazardEvent.id)).all()  # the demo gives some steps one time
        assert steps[0].to_status == "reported" and steps[-1].to_status == h.status
        assert all(b.to_status in hazards.TRANSITIONS[a.to_status] for a, b in zip(steps, steps[1:]))


def test_demo_photos_are_stored_when_a_store_is_given(session, tmp_path):
    demo.build(session, store=photos.PhotoStore(tmp_path))
    stored = session.exec(select(Photo)).all()
    assert stored and all(photos.PhotoStore(tmp_path).path(p.stored_name).exists() for p in stored)


def test_the_demo_refuses_a_database_with_data(town, session):
    with pytest.raises(Conflict):
        demo.build(session)
    assert session.exec(select(sa.func.count()).select_from(Route)).one() == 4
    assert db.has_data(session)
