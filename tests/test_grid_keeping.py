"""Checkpoints and routes: a checkpoint lies inside its grid with a radius of 10–500 m, its QR secret can be rotated,
a route passes only its own grid's checkpoints in the order the officer sets; officers keep only their grids."""
from __future__ import annotations

import pytest
from sqlmodel import select

from tests.factories import count
from volunteers import grids
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from volunteers.models import AuditEvent, Checkpoint, GridOfficer, Route

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER


def inside(town, code: str, north: float = 0.5, east: float = 0.5) -> dict:
    ring = town.grid(code).boundary["coordinates"][0]
    (w, s), (e, n) = ring[0], ring[2]
    return {"lat": s + north * (n - s), "lon": w + east * (e - w)}


def test_the_officer_places_a_checkpoint_in_their_grid_and_it_is_audited(session, town):
    officer = town.user(OFFICER_G12)
    cp = grids.create_checkpoint(session, user=officer, grid_id=town.grid("G1").id,
                                  data={"name": "新桥", "radius_m": "80", **inside(town, "G1")}, ip="10.0.0.9")
    assert (cp.name, cp.radius_m, cp.grid_id) == ("新桥", 80, town.grid("G1").id)
    assert len(cp.qr_secret) == 32
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "checkpoint.create")).one()
    assert (event.actor_id, event.object_id, event.ip) == (officer.id, cp.id, "10.0.0.9")


def test_a_checkpoint_outside_its_grid_is_refused_with_the_distance(session, town):
    before = count(session, Checkpoint)
    point = inside(town, "G2")  # the middle of G2 is ~500 m east of G1's edge
    with pytest.raises(Invalid) as caught:
        grids.create_checkpoint(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id,
                                 data={"name": "越界", "radius_m": 50, **point})
    assert caught.value.code == "outside_grid" and caught.value.params["grid"] == "G1"
    assert 400 < caught.value.params["distance"] < 600
    assert count(session, Checkpoint) == before


@pytest.mark.parametrize("radius, ok", [(9, False), (10, True), (500, True), (501, False), (-5, False)])
def test_the_radius_is_between_10_and_500_metres(session, town, radius, ok):
    data = {"name": f"r{radius}", "radius_m": str(radius), **inside(town, "G1")}
    if ok:
        assert grids.create_checkpoint(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id,
                                        data=data).radius_m == radius
    else:
        with pytest.raises(Invalid) as caught:
            grids.create_checkpoint(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id, data=data)
        assert caught.value.code == "bad_radius"


@pytest.mark.parametrize("data, code", [
    ({"name": "", "radius_m": 50}, "bad_name"),
    ({"name": "x", "radius_m": "fifty"}, "bad_number"),
    ({"name": "x", "radius_m": 50, "lat": "abc"}, "bad_number"),
    ({"name": "x", "radius_m": 50, "lat": 95}, "out_of_range"),
])
def test_bad_checkpoint_fields_are_refused(session, town, data, code):
    full = {**inside(town, "G1"), **data}
    with pytest.raises(DomainError) as caught:
        grids.create_checkpoint(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id, data=full)
    assert caught.value.code == code


def test_two_checkpoints_of_a_grid_do_not_share_a_name(session, town):
    name = town.checkpoints("G1")[0].name
    with pytest.raises(Conflict):
        grids.create_checkpoint(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id,
                                 data={"name": name, "radius_m": 50, **inside(town, "G1")})


def test_moving_a_checkpoint_keeps_it_inside_its_grid(session, town):
    cp = town.checkpoints("G1")[0]
    with pytest.raises(Invalid):
        grids.update_checkpoint(session, user=town.user(OFFICER_G12), checkpoint_id=cp.id,
                                 data={"name": cp.name, "radius_m": 50, **inside(town, "G3")})
    moved = grids.update_checkpoint(session, user=town.user(OFFICER_G12), checkpoint_id=cp.id,
                                     data={"name": "新名字", "radius_m": 120, **inside(town, "G1", 0.9, 0.9)})
    assert (moved.name, moved.radius_m) == ("新名字", 120)


def test_rotating_the_secret_voids_the_old_qr_code(session, town):
    cp = town.checkpoints("G1")[0]
    old = grids.qr_code(cp, "key")
    assert grids.checkpoint_for_qr(session, old, "key").id == cp.id
    grids.rotate_secret(session, user=town.user(OFFICER_G12), checkpoint_id=cp.id)
    with pytest.raises(Invalid):
        grids.checkpoint_for_qr(session, old, "key")
    assert grids.checkpoint_for_qr(session, grids.qr_code(cp, "key"), "key").id == cp.id
    assert count(session, AuditEvent, AuditEvent.action == "checkpoint.rotate_qr") == 1


# --- Routes ------------------------------------------------------------------------------------------------

def order(session, route_id: int) -> list[str]:
    session.expire_all()
    return [c.name for c in grids.route_checkpoints(session, route_id)]


def test_a_route_is_built_and_reordered_with_up_and_down(session, town):
    officer = town.user(OFFICER_G12)
    a, b, c = town.checkpoints("G1")
    route = grids.create_route(session, user=officer, grid_id=town.grid("G1").id, name="夜巡")
    for cp in (a, b, c):
        grids.add_stop(session, user=officer, route_id=route.id, checkpoint_id=str(cp.id))
    assert order(session, route.id) == [a.name, b.name, c.name]
    grids.move_stop(session, user=officer, route_id=route.id, checkpoint_id=c.id, direction="up")
    assert order(session, route.id) == [a.name, c.name, b.name]
    grids.move_stop(session, user=officer, route_id=route.id, checkpoint_id=a.id, direction="down")
    assert order(session, route.id) == [c.name, a.name, b.name]
    grids.move_stop(session, user=officer, route_id=route.id, checkpoint_id=c.id, direction="up")  # already first
    assert order(session, route.id) == [c.name, a.name, b.name]
    grids.remove_stop(session, user=officer, route_id=route.id, checkpoint_id=a.id)
    assert order(session, route.id) == [c.name, b.name]
    grids.add_stop(session, user=officer, route_id=route.id, checkpoint_id=a.id)
    assert order(session, route.id) == [c.name, b.name, a.name]


def test_a_route_passes_only_checkpoints_of_its_own_grid_and_each_once(session, town):
    route = session.exec(select(Route).where(Route.grid_id == town.grid("G1").id)).first()
    with pytest.raises(Invalid) as caught:
        grids.add_stop(session, user=town.user(COORDINATOR), route_id=route.id,
                        checkpoint_id=town.checkpoints("G2")[0].id)
    assert caught.value.code == "other_grid"
    with pytest.raises(Conflict):
        grids.add_stop(session, user=town.user(COORDINATOR), route_id=route.id,
                        checkpoint_id=town.checkpoints("G1")[0].id)


def test_a_stop_not_on_the_route_cannot_be_moved(session, town):
    route = grids.create_route(session, user=town.user(COORDINATOR), grid_id=town.grid("G1").id, name="空")
    with pytest.raises(NotFound):
        grids.move_stop(session, user=town.user(COORDINATOR), route_id=route.id,
                         checkpoint_id=town.checkpoints("G1")[0].id, direction="up")


# --- Who keeps what ----------------------------------------------------------------------------------------

def test_an_officer_sees_only_their_grids_and_others_do_not_exist_for_them(session, town):
    officer = town.user(OFFICER_G12)
    assert [g.code for g in grids.visible_grids(session, officer)] == ["G1", "G2"]
    with pytest.raises(NotFound):
        grids.grid_for(session, officer, town.grid("G3").id)
    with pytest.raises(NotFound):
        grids.create_checkpoint(session, user=officer, grid_id=town.grid("G3").id,
                                 data={"name": "x", "radius_m": 50, **inside(town, "G3")})
    with pytest.raises(NotFound):
        grids.rotate_secret(session, user=officer, checkpoint_id=town.checkpoints("G3")[0].id)


def test_volunteers_keep_nothing_here(session, town):
    with pytest.raises(Forbidden):
        grids.visible_grids(session, town.user(VOLUNTEER))
    with pytest.raises(Forbidden):
        grids.rotate_secret(session, user=town.user(VOLUNTEER), checkpoint_id=town.checkpoints("G1")[0].id)


def test_only_officers_of_the_station_can_hold_a_grid(session, town):
    g1 = town.grid("G1")
    coordinator = town.user(COORDINATOR)
    for wrong in (town.user(VOLUNTEER).id, coordinator.id, 999999, "abc"):
        with pytest.raises(Invalid):
            grids.set_officers(session, user=coordinator, grid_id=g1.id, officer_ids=[str(wrong)])
    grids.set_officers(session, user=coordinator, grid_id=g1.id,
                        officer_ids=[str(town.user(OFFICER_G34).id)])
    session.rollback()
    holders = list(session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == g1.id)))
    assert holders == [town.user(OFFICER_G34).id]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "grid.officers")).one()
    assert event.detail["added"] == [town.user(OFFICER_G34).id]
    assert event.detail["removed"] == [town.user(OFFICER_G12).id]
    with pytest.raises(Forbidden):
        grids.set_officers(session, user=town.user(OFFICER_G12), grid_id=g1.id, officer_ids=[])


# --- Retiring a checkpoint -----------------------------------------------------------------------------------

def test_a_retired_checkpoint_leaves_its_routes_and_the_grid_list_and_comes_back_without_them(session, town):
    officer = town.user(OFFICER_G12)
    a, b, c = town.checkpoints("G1")
    route = session.exec(select(Route).where(Route.grid_id == town.grid("G1").id)).first()
    before = order(session, route.id)
    assert b.name in before
    left = grids.retire_checkpoint(session, user=officer, checkpoint_id=b.id, ip="10.0.0.9")
    assert [r.id for r in left] == [route.id]
    assert order(session, route.id) == [n for n in before if n != b.name]
    view = grids.grid_view(session, town.grid("G1"))
    assert b.id not in [x.id for x in view.checkpoints] and [x.id for x in view.retired] == [b.id]
    assert b.id not in [cp.id for cp, _g in grids.checkpoints_in(session, [town.grid("G1").id])]
    assert grids.retire_checkpoint(session, user=officer, checkpoint_id=b.id) == []  # again: nothing more happens
    assert count(session, AuditEvent, AuditEvent.action == "checkpoint.retire") == 1
    with pytest.raises(Conflict) as caught:
        grids.add_stop(session, user=officer, route_id=route.id, checkpoint_id=b.id)
    assert caught.value.code == "checkpoint_retired"
    grids.restore_checkpoint(session, user=officer, checkpoint_id=b.id)
    session.expire_all()
    assert session.get(Checkpoint, b.id).retired_at is None
    assert order(session, route.id) == [n for n in before if n != b.name]  # back in use, not back on the route
    grids.add_stop(session, user=officer, route_id=route.id, checkpoint_id=b.id)
    assert order(session, route.id)[-1] == b.name
    assert count(session, AuditEvent, AuditEvent.action == "checkpoint.restore") == 1


@pytest.mark.parametrize("phone, error", [(OFFICER_G34, NotFound), (VOLUNTEER, Forbidden)])
def test_only_the_grids_keepers_retire_or_restore_a_checkpoint(session, town, phone, error):
    cp = town.checkpoints("G1")[0]
    with pytest.raises(error):
        grids.retire_checkpoint(session, user=town.user(phone), checkpoint_id=cp.id)
    with pytest.raises(error):
        grids.restore_checkpoint(session, user=town.user(phone), checkpoint_id=cp.id)
    session.expire_all()
    assert session.get(Checkpoint, cp.id).retired_at is None


# --- Renaming and deleting a route ---------------------------------------------------------------------------

def test_a_route_is_renamed_within_its_grids_names(session, town):
    officer = town.user(OFFICER_G12)
    route = session.exec(select(Route).where(Route.grid_id == town.grid("G1").id)).first()
    grids.create_route(session, user=officer, grid_id=town.grid("G1").id, name="夜巡")
    assert grids.rename_route(session, user=officer, route_id=route.id, name=" 早巡 ").name == "早巡"
    assert grids.rename_route(session, user=officer, route_id=route.id, name="早巡").name == "早巡"  # same: no event
    assert count(session, AuditEvent, AuditEvent.action == "route.rename") == 1
    with pytest.raises(Conflict):
        grids.rename_route(session, user=officer, route_id=route.id, name="夜巡")
    with pytest.raises(Invalid):
        grids.rename_route(session, user=officer, route_id=route.id, name="x" * 101)
    with pytest.raises(NotFound):
        grids.rename_route(session, user=town.user(OFFICER_G34), route_id=route.id, name="抢走")


def test_deleting_the_main_route_makes_the_next_one_the_volunteers_default(session, town):
    officer, g1 = town.user(OFFICER_G12), town.grid("G1")
    main = grids.first_route(session, g1.id)
    spare = grids.create_route(session, user=officer, grid_id=g1.id, name="备用")
    name, grid = grids.delete_route(session, user=officer, route_id=main.id)
    assert (name, grid.id) == (main.name, g1.id)
    assert grids.first_route(session, g1.id).id == spare.id
    assert count(session, Checkpoint, Checkpoint.grid_id == g1.id) == len(town.checkpoints("G1"))
    with pytest.raises(NotFound):
        grids.delete_route(session, user=officer, route_id=main.id)
