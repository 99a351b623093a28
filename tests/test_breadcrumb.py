"""The patrol breadcrumb: batches of positions through the idempotent API (201 / 200 retry / 409 changed),
refusals with a message (positions outside the patrol's time, absurd values), and nobody else's patrol."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import func, select

from volunteers import breadcrumb
from volunteers.models import AuditEvent, Patrol, PatrolPosition

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def running(login_as):
    """Volunteer 13800000201 on a patrol that started ten minutes ago: (client, patrol id, start)."""
    client = login_as(VOLUNTEER)
    start = datetime.now(timezone.utc) - timedelta(minutes=10)
    response = client.post("/api/v1/patrols", json={"client_id": str(uuid.uuid4()), "recorded_at": iso(start)})
    assert response.status_code == 201
    return client, response.json["id"], start


def batch(start: datetime, n: int = 3, **extra) -> list[dict]:
    return [{"lat": 30.2501 + i * 0.0001, "lon": 120.0901, "accuracy_m": 8 + i,
             "recorded_at": iso(start + timedelta(minutes=1 + i))} | extra for i in range(n)]


def stored(session, patrol_id: int) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(PatrolPosition).where(PatrolPosition.patrol_id == patrol_id)).one()


def test_a_batch_is_stored_in_order_and_answered_with_its_count(running, session):
    client, patrol_id, start = running
    points = batch(start, 5)
    response = client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"client_id": str(uuid.uuid4()), "points": points})
    assert response.status_code == 201, response.text
    assert response.json["count"] == 5
    rows = breadcrumb.track(session, session.get(Patrol, patrol_id))
    assert [(r.lat, r.accuracy_m) for r in rows] == [(p["lat"], p["accuracy_m"]) for p in points]
    assert [r.seq for r in rows] == [0, 1, 2, 3, 4]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "patrol.positions")).one()
    assert event.object_id == patrol_id and event.detail["count"] == 5


def test_the_same_batch_again_is_a_retry_and_a_changed_one_is_409(running, session):
    client, patrol_id, start = running
    cid = str(uuid.uuid4())
    url = f"/api/v1/patrols/{patrol_id}/positions"
    points = batch(start)
    assert client.post(url, json={"client_id": cid, "points": points}).status_code == 201
    again = client.post(url, json={"client_id": cid, "points": points})
    assert again.status_code == 200 and again.json["count"] == 3
    changed = client.post(url, json={"client_id": cid, "points": points[:2]})
    assert changed.status_code == 409 and changed.json["error"]["code"] == "client_id_reused"
    assert stored(session, patrol_id) == 3


def test_a_batch_id_reused_on_another_patrol_is_409(running, login_as, session):
    client, patrol_id, start = running
    cid = str(uuid.uuid4())
    assert client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"client_id": cid, "points": batch(start)}).status_code == 201
    other = login_as("13800000202")
    other_id = other.post("/api/v1/patrols", json={"client_id": str(uuid.uuid4())}).json["id"]
    response = other.post(f"/api/v1/patrols/{other_id}/positions",
                          json={"client_id": cid, "points": batch(datetime.now(timezone.utc), 1)})
    assert response.status_code == 409
    assert stored(session, other_id) == 0


@pytest.mark.parametrize("point, code", [
    ({"recorded_at": "-2h"}, "outside_patrol"),
    ({"recorded_at": "+1h"}, "outside_patrol"),
    ({"lat": 95}, "out_of_range"),
    ({"lon": -181}, "out_of_range"),
    ({"accuracy_m": 99999}, "out_of_range"),
    ({"accuracy_m": -1}, "out_of_range"),
    ({"recorded_at": "1970-01-01T00:00:00Z"}, "out_of_range"),
], ids=["before-start", "in-the-future", "lat", "lon", "accuracy-huge", "accuracy-negative", "year-1970"])
def test_absurd_or_out_of_time_points_are_422_with_a_message_and_nothing_is_stored(running, session, point, code):
    client, patrol_id, start = running
    good = batch(start, 2)
    bad = dict(good[0])
    for key, value in point.items():
        if value in ("-2h", "+1h"):
            value = iso(start + (timedelta(hours=-2) if value == "-2h" else timedelta(hours=1, minutes=10)))
        bad[key] = value
    response = client.post(f"/api/v1/patrols/{patrol_id}/positions",
                           json={"client_id": str(uuid.uuid4()), "points": [good[1], bad]},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert stored(session, patrol_id) == 0


def test_a_point_before_the_end_of_an_ended_patrol_is_kept_and_one_after_is_refused(running, session):
    client, patrol_id, start = running
    end = client.post(f"/api/v1/patrols/{patrol_id}/end", json={})
    ended = datetime.fromisoformat(end.json["ended_at"].replace("Z", "+00:00"))
    url = f"/api/v1/patrols/{patrol_id}/positions"
    early = client.post(url, json={"client_id": str(uuid.uuid4()), "points": batch(start, 2)})
    assert early.status_code == 201  # sent late from the outbox, recorded while patrolling
    late = client.post(url, json={"client_id": str(uuid.uuid4()), "points": [
        batch(start, 1)[0] | {"recorded_at": iso(ended + timedelta(minutes=30))}]})
    assert late.status_code == 422 and late.json["error"]["code"] == "outside_patrol"
    assert "outside this patrol" in client.post(url, json={"client_id": str(uuid.uuid4()), "points": [
        batch(start, 1)[0] | {"recorded_at": iso(ended + timedelta(minutes=30))}]}, headers={"Accept-Language": "en"}).json["error"]["message"]


@pytest.mark.parametrize("body, status, code", [
    ({"points": []}, 422, "no_points"),
    ({"points": "here"}, 400, "bad_points"),
    ({"points": [1, 2]}, 400, "bad_points"),
    ({}, 400, "bad_points"),
    ({"points": [{"lat": 30.25, "lon": 120.09}]}, 400, "missing_field"),
    ({"points": [{"lat": "abc", "lon": 120.09, "recorded_at": "now"}]}, 400, "bad_number"),
    ({"points": [{"lat": 30.25, "lon": 120.09, "recorded_at": "yesterday"}]}, 400, "bad_time"),
], ids=["empty", "text", "numbers", "missing", "no-time", "bad-lat", "bad-time"])
def test_malformed_batches_are_refused_with_a_message(running, session, body, status, code):
    client, patrol_id, _start = running
    response = client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"client_id": str(uuid.uuid4())} | body)
    assert response.status_code == status, response.text
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert stored(session, patrol_id) == 0


def test_more_than_a_hundred_points_is_413(running, session):
    client, patrol_id, start = running
    points = [batch(start, 1)[0]] * 101
    response = client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"client_id": str(uuid.uuid4()), "points": points})
    assert response.status_code == 413 and response.json["error"]["code"] == "too_many_points"
    assert client.post(f"/api/v1/patrols/{patrol_id}/positions",
                       json={"client_id": str(uuid.uuid4()), "points": points[:100]}).status_code == 201


def test_a_missing_client_id_is_400(running):
    client, patrol_id, start = running
    response = client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"points": batch(start)})
    assert response.status_code == 400 and response.json["error"]["code"] == "missing_field"


@pytest.mark.parametrize("phone, status", [(VOLUNTEER_G3, 404), ("13800000202", 404), (OFFICER_G34, 404),
                                           (OFFICER_G12, 403)])
def test_nobody_else_can_add_to_a_patrol(running, login_as, session, phone, status):
    _client, patrol_id, start = running
    response = login_as(phone).post(f"/api/v1/patrols/{patrol_id}/positions",
                                    json={"client_id": str(uuid.uuid4()), "points": batch(start)})
    assert response.status_code == status
    assert stored(session, patrol_id) == 0


def test_an_unknown_patrol_is_404(login_as):
    response = login_as(VOLUNTEER).post("/api/v1/patrols/999999/positions",
                                        json={"client_id": str(uuid.uuid4()), "points": batch(datetime.now(timezone.utc))})
    assert response.status_code == 404


def test_the_last_position_is_the_newest_of_breadcrumb_and_check_ins(running, session, town):
    client, patrol_id, start = running
    cp = town.checkpoints("G1")[0]
    client.post(f"/api/v1/patrols/{patrol_id}/positions", json={"client_id": str(uuid.uuid4()), "points": batch(start, 2)})
    assert breadcrumb.last_positions(session, [patrol_id])[patrol_id][:2] == (30.2502, 120.0901)
    checkin = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json={
        "client_id": str(uuid.uuid4()), "checkpoint_id": cp.id, "lat": cp.lat, "lon": cp.lon, "accuracy_m": 5})
    assert checkin.status_code == 201, checkin.text
    session.rollback()
    assert breadcrumb.last_positions(session, [patrol_id])[patrol_id][:2] == (cp.lat, cp.lon)
