"""The tasks API as DESIGN.md: GET/POST /api/v1/tasks, POST /api/v1/assignments/<id>/<action>."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3, begun
from volunteers.models import utcnow


def later(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


@pytest.fixture
def body(town):
    return {"client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "护学岗", "grid": town.grid("G1").id,
            "starts_at": later(20), "ends_at": later(21), "volunteer_ids": [town.user(VOLUNTEER).id]}


def test_an_officer_gives_a_task_and_the_volunteer_accepts_does_and_is_verified(login_as, body, session):
    officer, volunteer = login_as(OFFICER_G12), login_as(VOLUNTEER)
    created = officer.post("/api/v1/tasks", json=body)
    assert created.status_code == 201
    [offer] = created.json["assignments"]
    assert offer["state"] == "offered" and offer["volunteer_phone"] == "138****0201"
    assert officer.post("/api/v1/tasks", json=body).status_code == 200
    assert officer.post("/api/v1/tasks", json=body | {"title": "别的"}).status_code == 409

    [mine] = [t for t in volunteer.get("/api/v1/tasks").json if t["id"] == created.json["id"]]
    assert [a["state"] for a in mine["assignments"]] == ["offered"]
    for action, state in (("accept", "accepted"), ("done", "done")):
        if action == "done":
            assert volunteer.post(f"/api/v1/assignments/{offer['id']}/done", json={}).json["error"]["code"] == "not_started"
            begun(session, created.json["id"])
        answer = volunteer.post(f"/api/v1/assignments/{offer['id']}/{action}", json={})
        assert answer.status_code == 200 and answer.json["state"] == state
    assert volunteer.post(f"/api/v1/assignments/{offer['id']}/verify", json={}).status_code == 403
    assert volunteer.post(f"/api/v1/assignments/{offer['id']}/accept", json={}).status_code == 409
    assert officer.post(f"/api/v1/assignments/{offer['id']}/verify", json={}).json["state"] == "verified"


def test_strangers_get_404_and_anonymous_401(login_as, client, body):
    offer = login_as(OFFICER_G12).post("/api/v1/tasks", json=body).json["assignments"][0]
    assert login_as(VOLUNTEER_G3).post(f"/api/v1/assignments/{offer['id']}/accept", json={}).status_code == 404
    assert login_as(OFFICER_G34).post(f"/api/v1/assignments/{offer['id']}/verify", json={}).status_code == 404
    assert login_as(VOLUNTEER).post(f"/api/v1/assignments/{offer['id']}/dance", json={}).status_code == 404
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.post("/api/v1/tasks", json=body).json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("change, status, code", [
    ({"starts_at": "2026-13-01"}, 400, "bad_time"),
    ({"grid": "G1"}, 400, "bad_number"),
    ({"client_id": "x"}, 400, "bad_client_id"),
    ({"ends_at": later(19)}, 422, "ends_before_start"),
    ({"capacity": 0, "volunteer_ids": []}, 422, "bad_capacity"),
    ({"volunteer_ids": [987654]}, 422, "unknown_volunteer"),
])
def test_bad_tasks_get_a_clear_error(login_as, body, change, status, code):
    answer = login_as(OFFICER_G12).post("/api/v1/tasks", json=body | change)
    assert answer.status_code == status and answer.json["error"]["code"] == code
    assert answer.json["error"]["message"]


def test_an_officer_cannot_task_another_grid(login_as, body):
    answer = login_as(OFFICER_G34).post("/api/v1/tasks", json=body)
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"


def test_an_open_place_is_claimed(login_as, body):
    # Forty days ahead: past the demo's generated 护学岗 shifts, which 13800000202 may hold at any hour of the day.
    body |= {"volunteer_ids": [], "capacity": 1, "starts_at": later(24 * 40), "ends_at": later(24 * 40 + 1)}
    task = login_as(OFFICER_G12).post("/api/v1/tasks", json=body).json
    taken = login_as("13800000202").post(f"/api/v1/tasks/{task['id']}/claim", json={})
    assert taken.status_code == 200 and taken.json["state"] == "accepted"
    full = login_as(VOLUNTEER).post(f"/api/v1/tasks/{task['id']}/claim", json={})
    assert full.status_code == 409 and full.json["error"]["code"] == "full"
