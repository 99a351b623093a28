"""Identical task creates at the same instant (issue 14, finding 8): the copy that loses the race for the client_id
answers 200 with the one task, as hazards and patrols do, never 409 changed_meanwhile."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, func, select

from tests.conftest import OFFICER_G12, VOLUNTEER
from volunteers import clientids, tasks
from volunteers.models import Task, User, utcnow


def later(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def racing(monkeypatch, app, body, *, other_content=None):
    """Make the next create meet a twin that saves first, right after its 'saved already?' check found nothing."""
    original = clientids.earlier
    state = {"raced": False}

    def earlier(session, model, cid, creator_id, content):
        found = original(session, model, cid, creator_id, content)
        if model is Task and not state["raced"]:
            state["raced"] = True
            with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as twin:
                tasks.create(twin, user=twin.get(User, creator_id), data=body | (other_content or {}))
        return found

    monkeypatch.setattr(clientids, "earlier", earlier)
    return state


def test_the_copy_that_loses_the_race_answers_200_with_the_task(monkeypatch, app, login_as, town):
    body = {"client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "护学岗", "grid": town.grid("G1").id,
            "starts_at": later(20), "ends_at": later(21), "volunteer_ids": [town.user(VOLUNTEER).id]}
    officer = login_as(OFFICER_G12)
    state = racing(monkeypatch, app, body)
    answer = officer.post("/api/v1/tasks", json=body)
    assert state["raced"]
    assert answer.status_code == 200, answer.text
    with Session(app.extensions["volunteers.engine"]) as s:
        [task] = s.exec(select(Task).where(Task.client_id == body["client_id"])).all()
    assert answer.json["id"] == task.id and answer.json["title"] == "护学岗"
    assert len(answer.json["assignments"]) == 1
    for _ in range(19):  # the other retries of the twenty
        again = officer.post("/api/v1/tasks", json=body)
        assert again.status_code == 200 and again.json["id"] == task.id
    with Session(app.extensions["volunteers.engine"]) as s:
        assert s.exec(select(func.count()).select_from(Task).where(Task.client_id == body["client_id"])).one() == 1


def test_a_twin_with_other_content_under_the_same_id_is_still_409_client_id_reused(monkeypatch, app, login_as, town):
    body = {"client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "护学岗", "grid": town.grid("G1").id,
            "starts_at": later(20), "ends_at": later(21), "volunteer_ids": [town.user(VOLUNTEER).id]}
    racing(monkeypatch, app, body, other_content={"title": "别的"})
    answer = login_as(OFFICER_G12).post("/api/v1/tasks", json=body)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "client_id_reused"
