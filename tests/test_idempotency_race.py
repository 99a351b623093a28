"""Every create goes through clientids (issue 17): a copy of a submit that loses the race for its client_id answers as
a retry would — the winner's object, or 409 `client_id_reused` if the winner holds other content or is someone else's
— and an IntegrityError that is not the client_id is never disguised as a 409: it raises (a 500 in the app).

The race is simulated: the winner is saved first, then the copy runs with its "saved already?" look-up blinded, so
its INSERT meets the winner's row as it would when both looked at the same instant."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER
from volunteers import breadcrumb, clientids, db, demo, duties, hazards, hours, patrols, tasks, threads
from volunteers.errors import Conflict
from volunteers.models import (Duty, Hazard, HazardEvent, HazardMessage, Patrol, PatrolPosition, ServiceRecord, Task,
                               utcnow)
from volunteers.photos import PhotoStore

FILES = Path(__file__).parent / "files"
HERE = (demo.ORIGIN[0] + 1.3 * demo.STEP_LAT, demo.ORIGIN[1] + 0.3 * demo.STEP_LON)  # in G1
OTHER_G1 = "13800000202"


def new_id() -> str:
    return str(uuid.uuid4())


def rows(session, model, *where) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


@pytest.fixture
def race(monkeypatch):
    """race.blind(): the next look-up for an earlier submit finds nothing (the winner saved right after it looked);
    later look-ups — the one after the collision — see the database as it is. race.collisions counts the INSERTs
    that met a row under their client_id."""
    real_saved, real_collided = clientids.saved, clientids.collided
    state = SimpleNamespace(armed=False, collisions=0)

    def saved(*args):
        if state.armed:
            state.armed = False
            return None
        return real_saved(*args)

    def collided(*args, **kwargs):
        state.collisions += 1
        return real_collided(*args, **kwargs)

    monkeypatch.setattr(clientids, "saved", saved)
    monkeypatch.setattr(clientids, "collided", collided)
    state.blind = lambda: setattr(state, "armed", True)
    return state


@pytest.fixture
def store(app):
    return PhotoStore(app.config["DATA_DIR"])


# --- ORM creates: the savepoint rolls back, the winner is replayed -------------------------------------------

def later(hours_: float) -> str:
    return (utcnow() + timedelta(hours=hours_)).isoformat()


def task_body(town, **data):
    return {"client_id": new_id(), "kind": "patrol", "title": "夜间巡逻", "grid": town.grid("G1").id,
            "starts_at": later(2), "ends_at": later(4), "volunteer_ids": [town.user(VOLUNTEER).id]} | data


def test_a_task_create_that_loses_the_race_gets_the_winners_task(session, town, race):
    body = task_body(town)
    winner, created = tasks.create(session, user=town.user(OFFICER_G12), data=body)
    race.blind()
    loser, again = tasks.create(session, user=town.user(OFFICER_G12), data=body)
    assert created and not again and loser.id == winner.id and race.collisions == 1
    assert rows(session, Task, Task.client_id == body["client_id"]) == 1


@pytest.mark.parametrize("by, change", [(OFFICER_G12, {"title": "别的"}), (COORDINATOR, {})])
def test_a_task_create_that_loses_the_race_to_other_content_or_someone_else_is_409(session, town, race, by, change):
    body = task_body(town)
    tasks.create(session, user=town.user(OFFICER_G12), data=body)
    race.blind()
    with pytest.raises(Conflict) as err:
        tasks.create(session, user=town.user(by), data=body | change)
    assert err.value.code == "client_id_reused" and race.collisions == 1
    assert rows(session, Task, Task.client_id == body["client_id"]) == 1


def manual_body(town, **data):
    return {"client_id": new_id(), "volunteer_id": str(town.user(VOLUNTEER).id), "day": "2025-03-10",
            "minutes": "90", "reason": "消防培训"} | data


def test_a_manual_hours_entry_that_loses_the_race_gets_the_winners_record_or_409(session, town, race):
    body = manual_body(town)
    winner = hours.add_manual(session, user=town.user(COORDINATOR), data=body)
    race.blind()
    assert hours.add_manual(session, user=town.user(COORDINATOR), data=body).id == winner.id
    race.blind()
    with pytest.raises(Conflict):
        hours.add_manual(session, user=town.user(COORDINATOR), data=body | {"minutes": "60"})
    assert race.collisions == 2
    assert rows(session, ServiceRecord, ServiceRecord.client_id == body["client_id"]) == 1


def test_a_correction_that_loses_the_race_gets_the_winners_correction(session, town, race):
    record = hours.add_manual(session, user=town.user(COORDINATOR), data=manual_body(town))
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    body = {"client_id": new_id(), "minutes": "-30", "reason": "实际只有一小时"}
    winner = hours.correct(session, user=town.user(OFFICER_G12), record_id=record.id, data=body)
    race.blind()
    assert hours.correct(session, user=town.user(OFFICER_G12), record_id=record.id, data=body).id == winner.id
    assert race.collisions == 1
    assert rows(session, ServiceRecord, ServiceRecord.client_id == body["client_id"]) == 1


def duty_form(town, **overrides):
    return {"title": "护学岗", "kind": "school_gate", "grid": str(town.grid("G1").id), "weekdays": ["0", "4"],
            "start_1": "07:20", "end_1": "08:00", "first_day": "2030-03-04", "last_day": "2030-06-30",
            "capacity": "2"} | overrides


def test_a_duty_that_loses_the_race_gets_the_winners_duty_and_shifts_or_409(town, race):
    s, officer, cid = town.session, town.user(OFFICER_G12), new_id()
    now = utcnow().replace(year=2030, month=3, day=1)
    winner, made = duties.create_pattern(s, user=officer, data=duty_form(town, client_id=cid), now=now)
    race.blind()
    loser, shown = duties.create_pattern(s, user=officer, data=duty_form(town, client_id=cid), now=now)
    assert made and loser.id == winner.id and [t.id for t in shown] == [t.id for t in made]
    race.blind()
    with pytest.raises(Conflict):
        duties.create_pattern(s, user=officer, data=duty_form(town, client_id=cid, capacity="3"), now=now)
    assert race.collisions == 2 and rows(s, Duty, Duty.client_id == cid) == 1


def test_a_breadcrumb_batch_that_loses_the_race_is_answered_with_the_winners_count_or_409(session, quiet_day, race):
    user = quiet_day.user(VOLUNTEER)
    patrol, _ = patrols.start(session, user=user, client_id=new_id())
    body = {"client_id": new_id(), "points": [{"lat": HERE[0], "lon": HERE[1], "accuracy_m": 10,
                                               "recorded_at": (patrol.started_at + timedelta(seconds=n)).isoformat()}
                                              for n in range(3)]}
    assert breadcrumb.record(session, user=user, patrol_id=patrol.id, data=body) == (3, True)
    race.blind()
    assert breadcrumb.record(session, user=user, patrol_id=patrol.id, data=body) == (3, False)
    race.blind()
    with pytest.raises(Conflict):
        breadcrumb.record(session, user=user, patrol_id=patrol.id, data=body | {"points": body["points"][:2]})
    assert race.collisions == 2
    assert rows(session, PatrolPosition, PatrolPosition.client_id == body["client_id"]) == 3


def file(session, store, user):
    data = {"client_id": new_id(), "kind": "hazard", "category": "fire", "description": "楼道堆放杂物",
            "lat": str(HERE[0]), "lon": str(HERE[1])}
    return hazards.report(session, user=user, data=data, uploads=[], store=store)[0]


def test_a_thread_message_that_loses_the_race_gets_the_winners_message_or_409(session, town, store, race):
    me = town.user(VOLUNTEER)
    hazard = file(session, store, me)
    data = {"client_id": new_id(), "text": "又多了两袋"}
    winner, created = threads.post(session, user=me, hazard_id=hazard.id, data=data, uploads=[], store=store)
    race.blind()
    loser, again = threads.post(session, user=me, hazard_id=hazard.id, data=data, uploads=[], store=store)
    assert created and not again and loser.id == winner.id
    race.blind()
    with pytest.raises(Conflict):
        threads.post(session, user=me, hazard_id=hazard.id, data=data | {"text": "别的"}, uploads=[], store=store)
    assert race.collisions == 2
    assert rows(session, HazardMessage, HazardMessage.client_id == data["client_id"]) == 1


def test_a_confirmation_that_loses_the_race_gets_the_report(session, town, store, race):
    me, other = town.user(VOLUNTEER), town.user(OTHER_G1)
    original = file(session, store, other)
    data = {"client_id": new_id(), "description": "还在"}
    assert threads.confirm(session, user=me, hazard_id=original.id, data=data, uploads=[], store=store)[1]
    race.blind()
    hazard, created = threads.confirm(session, user=me, hazard_id=original.id, data=data, uploads=[], store=store)
    assert hazard.id == original.id and not created and race.collisions == 1
    assert rows(session, HazardMessage, HazardMessage.client_id == data["client_id"]) == 1


def test_a_reopen_that_loses_the_race_for_its_message_changes_nothing_more(session, town, store, race):
    """The winner's reopen message is there, the report still closed (the winner's state change not yet visible):
    the copy's state change is rolled back with its message, and it answers as a retry."""
    me = town.user(VOLUNTEER)
    hazard = file(session, store, me)
    hazard.status = "closed"
    session.add(hazard)
    session.add(HazardEvent(hazard_id=hazard.id, at=utcnow() - timedelta(days=1), from_status="rectified",
                            to_status="closed"))
    cid = new_id()
    session.add(HazardMessage(client_id=cid, fingerprint=clientids.fingerprint({"hazard": hazard.id, "reopen": "又堆满了"}),
                              hazard_id=hazard.id, author_id=me.id, kind="reopen", text="又堆满了", at=utcnow()))
    session.commit()
    race.blind()
    _hazard, created = threads.reopen(session, user=me, hazard_id=hazard.id, data={"client_id": cid, "text": "又堆满了"})
    assert not created and race.collisions == 1
    assert rows(session, Hazard, Hazard.id == hazard.id, Hazard.status == "closed") == 1
    assert rows(session, HazardMessage, HazardMessage.client_id == cid) == 1


# --- Core hot paths: the INSERT collides, and only then the client_id is looked up -------------------------

def report_body():
    return {"client_id": new_id(), "kind": "hazard", "category": "fire", "description": "楼道堆放杂物",
            "lat": str(HERE[0]), "lon": str(HERE[1])}


def test_a_report_that_loses_the_race_gets_the_winners_report_or_409(session, town, store, race):
    me, data = town.user(VOLUNTEER), report_body()
    winner, created = hazards.report(session, user=me, data=data, uploads=[], store=store)
    loser, again = hazards.report(session, user=me, data=data, uploads=[], store=store)
    assert created and not again and loser.id == winner.id
    for user, change in ((me, {"description": "别的"}), (town.user(OTHER_G1), {})):
        with pytest.raises(Conflict) as err:
            hazards.report(session, user=user, data=data | change, uploads=[], store=store)
        assert err.value.code == "client_id_reused"
    assert race.collisions == 3 and rows(session, Hazard, Hazard.client_id == data["client_id"]) == 1


def test_a_report_with_a_photo_that_loses_the_race_gets_the_winners_report(session, town, store, race):
    me, photo, data = town.user(VOLUNTEER), (FILES / "gps.jpg").read_bytes(), report_body()
    winner, _ = hazards.report(session, user=me, data=data, uploads=[photo], store=store)
    race.blind()
    loser, again = hazards.report(session, user=me, data=data, uploads=[photo], store=store)
    assert not again and loser.id == winner.id and race.collisions == 1
    assert rows(session, Hazard, Hazard.client_id == data["client_id"]) == 1


def test_a_patrol_start_that_loses_the_race_gets_the_winners_patrol_or_409(session, quiet_day, race):
    me, cid = quiet_day.user(VOLUNTEER), new_id()
    winner, created = patrols.start(session, user=me, client_id=cid)
    loser, again = patrols.start(session, user=me, client_id=cid)
    assert created and not again and loser.id == winner.id
    with pytest.raises(Conflict) as err:
        patrols.start(session, user=me, client_id=cid, recorded_at=utcnow().isoformat())
    assert err.value.code == "client_id_reused"
    with pytest.raises(Conflict) as err:
        patrols.start(session, user=me, client_id=new_id())
    assert err.value.code == "patrol_open"
    assert race.collisions == 3 and rows(session, Patrol, Patrol.client_id == cid) == 1


def test_a_check_in_that_loses_the_race_gets_the_winners_check_in_or_409(session, quiet_day, race):
    me = quiet_day.user(VOLUNTEER)
    patrol, _ = patrols.start(session, user=me, client_id=new_id())
    gate = quiet_day.checkpoints("G1")[1]
    data = {"client_id": new_id(), "lat": gate.lat, "lon": gate.lon, "accuracy_m": 5, "checkpoint_id": gate.id}
    winner, created = patrols.check_in(session, user=me, patrol_id=patrol.id, data=data, qr_key="k")
    loser, again = patrols.check_in(session, user=me, patrol_id=patrol.id, data=data, qr_key="k")
    assert created and not again and loser.id == winner.id
    with pytest.raises(Conflict) as err:
        patrols.check_in(session, user=me, patrol_id=patrol.id, data=data | {"accuracy_m": 6}, qr_key="k")
    assert err.value.code == "client_id_reused" and race.collisions == 2


# --- Any other IntegrityError is a bug: it raises, never a 409 ------------------------------------------------

def test_a_foreign_key_error_in_a_patrol_start_raises_instead_of_claiming_a_patrol_is_open(session, town):
    ghost = SimpleNamespace(id=999_999, station_id=town.user(VOLUNTEER).station_id, home_grid_id=None)
    with pytest.raises(sa.exc.IntegrityError):
        patrols.start(session, user=ghost, client_id=new_id())


def test_a_not_null_error_in_an_orm_create_raises_instead_of_a_409(session, town):
    broken = Task(station_id=town.user(OFFICER_G12).station_id, grid_id=town.grid("G1").id, kind="patrol", title=None,
                  created_by_id=town.user(OFFICER_G12).id, starts_at=utcnow(), ends_at=utcnow(), capacity=1)
    with pytest.raises(sa.exc.IntegrityError) as err:
        clientids.create(session, Task, new_id(), town.user(OFFICER_G12).id, {"title": None}, make=lambda: broken)
    assert not db.is_unique_violation(err.value)


def test_the_app_no_longer_turns_an_integrity_error_into_a_409(app, login_as, monkeypatch):
    def broken(*_args, **_kwargs):
        raise sa.exc.IntegrityError("INSERT …", {}, Exception("NOT NULL constraint failed: patrol.user_id"))

    monkeypatch.setattr(patrols, "start", broken)
    client = login_as(VOLUNTEER)
    with pytest.raises(sa.exc.IntegrityError):  # TESTING propagates it: in production a 500, and in the log
        client.post("/api/v1/patrols", json={"client_id": new_id()})


# --- Races on other unique constraints: each is a translated 409 of its own ---------------------------------

def test_two_coordinators_certifying_one_month_at_once_the_second_gets_a_409(session, town, monkeypatch):
    coordinator = town.user(COORDINATOR)
    month = (utcnow().replace(day=1) - timedelta(days=40)).strftime("%Y-%m")
    monkeypatch.setattr(hours, "certify_blockers", lambda *_a: [])
    hours.certify(session, user=coordinator, month=month)
    original = session.exec.__func__

    def blind_once(self, statement, *a, **k):  # the "certified already?" look-up misses the other's row
        monkeypatch.setattr(type(session), "exec", original)
        return original(self, select(ServiceRecord).where(sa.false()), *a, **k)

    monkeypatch.setattr(type(session), "exec", blind_once)
    with pytest.raises(Conflict) as err:
        hours.certify(session, user=coordinator, month=month)
    assert err.value.code == "month_certified_meanwhile" and err.value.status == 409


def test_adding_a_member_twice_at_once_is_the_already_member_409(session, town, monkeypatch):
    from volunteers import teams
    from volunteers.models import Team, TeamMember
    team = session.exec(select(Team)).first()
    person = town.user(OFFICER_G34)
    session.add(TeamMember(team_id=team.id, user_id=person.id))  # the other coordinator's add, saved meanwhile
    session.commit()
    real_get = type(session).get
    monkeypatch.setattr(type(session), "get", lambda self, model, key, **k:
                        None if model is TeamMember else real_get(self, model, key, **k))
    with pytest.raises(Conflict) as err:
        teams.add_member(session, user=town.user(COORDINATOR), team_id=team.id, data={"user_id": str(person.id)})
    assert err.value.code == "already_member"
