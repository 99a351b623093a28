"""Tasks: offers, the assignment steps, overlaps and capacity."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3, begun
from volunteers import hours, tasks
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from volunteers.models import Assignment, AuditEvent, Notification, ServiceRecord, Station, Team, utcnow

# --- creating --------------------------------------------------------------------------------------------

def later(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def new_task(session, town, *, by=OFFICER_G12, grid="G1", **data):
    body = {"client_id": str(uuid.uuid4()), "kind": "patrol", "title": "夜间巡逻", "grid": town.grid(grid).id,
            "starts_at": later(2), "ends_at": later(4), "volunteer_ids": [town.user(VOLUNTEER).id]}
    body.update(data)
    return tasks.create(session, user=town.user(by), data=body)


def test_an_officer_offers_a_task_to_volunteers_of_the_grid_and_they_are_told(session, town):
    task, created = new_task(session, town)
    assert created and task.capacity == 1
    [offer] = session.exec(select(Assignment).where(Assignment.task_id == task.id)).all()
    assert offer.state == "offered" and offer.volunteer_id == town.user(VOLUNTEER).id
    assert session.exec(select(Notification).where(Notification.user_id == offer.volunteer_id)).first()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "task.create")).first()


def test_a_task_for_a_team_is_offered_to_its_active_members(session, town):
    team = session.exec(select(Team).where(Team.kind == "school_gate")).one()
    task, _ = new_task(session, town, team_id=team.id, volunteer_ids=[], capacity=3)
    offered = session.exec(select(Assignment).where(Assignment.task_id == task.id)).all()
    assert offered and all(town.session.get(type(town.user(VOLUNTEER)), a.volunteer_id).status == "active" for a in offered)


def test_a_retry_returns_the_same_task_and_other_content_is_a_conflict(session, town):
    cid = str(uuid.uuid4())
    starts, ends = later(2), later(3)
    first, _ = new_task(session, town, client_id=cid, starts_at=starts, ends_at=ends)
    again, created = new_task(session, town, client_id=cid, starts_at=starts, ends_at=ends)
    assert again.id == first.id and not created
    with pytest.raises(Conflict):
        new_task(session, town, client_id=cid, starts_at=starts, ends_at=ends, title="别的")


@pytest.mark.parametrize("change, code", [
    (lambda t: {"ends_at": later(1), "starts_at": later(2)}, "ends_before_start"),
    (lambda t: {"starts_at": later(-3), "ends_at": later(-2)}, "in_the_past"),
    (lambda t: {"capacity": 0, "volunteer_ids": []}, "bad_capacity"),
    (lambda t: {"capacity": -2}, "bad_capacity"),
    (lambda t: {"volunteer_ids": [999999]}, "unknown_volunteer"),
    (lambda t: {"kind": "party"}, "bad_choice"),
    (lambda t: {"starts_at": "tomorrow"}, "bad_time"),
    (lambda t: {"volunteer_ids": [t.user("13800000223").id]}, "not_active"),
])
def test_bad_tasks_are_refused_with_a_reason_and_nothing_saved(session, town, change, code):
    with pytest.raises(DomainError) as err:
        new_task(session, town, **change(town))
    assert err.value.code == code and err.value.status in (400, 422)
    assert session.exec(select(Assignment).where(Assignment.state == "offered")).all() == []


def test_a_team_of_another_station_is_refused(session, town):
    other = Station(code="X", name="别的派出所")
    session.add(other)
    session.flush()
    team = Team(station_id=other.id, name="外站队", kind="auxiliary")
    session.add(team)
    session.commit()
    with pytest.raises(Invalid) as err:
        new_task(session, town, team_id=team.id, volunteer_ids=[])
    assert err.value.code == "unknown_team"


def test_officers_task_only_their_own_grids_and_volunteers(session, town):
    with pytest.raises(Forbidden):
        new_task(session, town, by=OFFICER_G34)  # G1 is not theirs
    with pytest.raises(Forbidden):
        new_task(session, town, volunteer_ids=[town.user(VOLUNTEER_G3).id])  # a G3 volunteer on a G1 task
    with pytest.raises(Forbidden):
        new_task(session, town, by=VOLUNTEER)
    task, _ = new_task(session, town, by=COORDINATOR)
    assert task.id


# --- the steps --------------------------------------------------------------------------------------------

STEPS = [  # (state before, action, allowed)
    ("offered", "accept", True), ("offered", "decline", True), ("offered", "done", False),
    ("offered", "verify", False), ("offered", "no_show", False),
    ("accepted", "done", True), ("accepted", "decline", True), ("accepted", "verify", False),
    ("accepted", "no_show", True), ("done", "verify", True), ("done", "no_show", True), ("done", "accept", False),
    ("declined", "accept", False), ("declined", "done", False), ("verified", "no_show", False),
    ("no_show", "verify", False),
]


@pytest.mark.parametrize("state, action, allowed", STEPS)
def test_every_step_from_every_state(session, town, state, action, allowed):
    task, _ = new_task(session, town)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    offer.state = state
    session.add(offer)
    session.commit()
    if action in ("no_show", "done"):  # done, or who did not come, is known once the shift has begun
        begun(session, task)
    actor = town.user(VOLUNTEER if tasks.ACTIONS[action][2] == "volunteer" else OFFICER_G12)
    data = {"reason": "家里有事"}
    if allowed:
        moved = tasks.act(session, user=actor, assignment_id=offer.id, action=action, data=data)
        assert moved.state == tasks.ACTIONS[action][1]
    else:
        with pytest.raises(Conflict) as err:
            tasks.act(session, user=actor, assignment_id=offer.id, action=action, data=data)
        assert err.value.code == "illegal_action"


def test_nobody_is_marked_absent_before_the_shift_begins(session, town):
    task, _ = new_task(session, town)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="accept")
    with pytest.raises(Conflict) as err:
        tasks.act(session, user=town.user(OFFICER_G12), assignment_id=offer.id, action="no_show")
    assert err.value.code == "not_started"
    session.expire_all()
    assert session.get(Assignment, offer.id).state == "accepted"


def test_a_decline_tells_the_grids_officers_who_why_and_when(session, town):
    task, _ = new_task(session, town, title="周六集市安保")
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    officer = town.user(OFFICER_G12)
    before = len(session.exec(select(Notification).where(Notification.user_id == officer.id)).all())
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="decline", data={"reason": "孙子发烧"})
    notes = session.exec(select(Notification).where(Notification.user_id == officer.id)
                         .order_by(Notification.id.desc())).all()
    assert len(notes) == before + 1
    note = notes[0]
    assert note.link == f"/tasks/#task-{task.id}"
    assert (note.params["name"], note.params["title"], note.params["reason"]) == (
        town.user(VOLUNTEER).name, "周六集市安保", "孙子发烧")
    assert not session.exec(select(Notification).where(Notification.user_id == town.user(OFFICER_G34).id,
                                                       Notification.link == note.link)).all()


def test_steps_belong_to_the_right_person(session, town):
    task, _ = new_task(session, town)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    with pytest.raises(Forbidden):
        tasks.act(session, user=town.user(OFFICER_G12), assignment_id=offer.id, action="accept")
    with pytest.raises(NotFound):
        tasks.act(session, user=town.user(VOLUNTEER_G3), assignment_id=offer.id, action="accept")
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="accept")
    begun(session, task)
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="done")
    with pytest.raises(Forbidden):
        tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="verify")
    with pytest.raises(NotFound):
        tasks.act(session, user=town.user(OFFICER_G34), assignment_id=offer.id, action="verify")
    assert tasks.act(session, user=town.user(OFFICER_G12), assignment_id=offer.id, action="verify").state == "verified"


def test_repeating_the_step_just_taken_is_a_harmless_retry(session, town):
    task, _ = new_task(session, town)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    first = tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="accept")
    again = tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="accept")
    assert first.answered_at == again.answered_at and again.state == "accepted"


def test_declining_needs_a_reason(session, town):
    task, _ = new_task(session, town)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    with pytest.raises(Invalid) as err:
        tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="decline", data={})
    assert err.value.code == "reason_required"


def test_a_volunteer_cannot_take_two_overlapping_shifts(session, town):
    one, _ = new_task(session, town, starts_at=later(2), ends_at=later(4))
    two, _ = new_task(session, town, starts_at=later(3), ends_at=later(5))
    volunteer = town.user(VOLUNTEER)
    offer = lambda t: session.exec(select(Assignment).where(Assignment.task_id == t.id)).one()
    tasks.act(session, user=volunteer, assignment_id=offer(one).id, action="accept")
    with pytest.raises(Conflict) as err:
        tasks.act(session, user=volunteer, assignment_id=offer(two).id, action="accept")
    assert err.value.code == "overlap"
    back_to_back, _ = new_task(session, town, starts_at=one.ends_at.isoformat(), ends_at=later(6))
    assert tasks.act(session, user=volunteer, assignment_id=offer(back_to_back).id, action="accept").state == "accepted"


def test_open_places_are_claimed_until_full(session, town):
    task, _ = new_task(session, town, volunteer_ids=[], capacity=1)
    first = tasks.claim(session, user=town.user(VOLUNTEER), task_id=task.id)
    assert first.state == "accepted"
    assert tasks.claim(session, user=town.user(VOLUNTEER), task_id=task.id).id == first.id  # a retry
    with pytest.raises(Conflict) as err:
        tasks.claim(session, user=town.user("13800000202"), task_id=task.id)
    assert err.value.code == "full"
    with pytest.raises(NotFound):
        tasks.claim(session, user=town.user(VOLUNTEER_G3), task_id=task.id)  # another grid cannot even see it


def test_open_places_list_only_the_coming_week_but_a_later_place_can_still_be_claimed(session, town):
    soon, _ = new_task(session, town, volunteer_ids=[], starts_at=later(24 * 6), ends_at=later(24 * 6 + 1))
    far, _ = new_task(session, town, volunteer_ids=[], starts_at=later(24 * 8), ends_at=later(24 * 8 + 1))
    listed = {t.id for t, _taken in tasks.open_for(session, town.user(VOLUNTEER))}
    assert soon.id in listed and far.id not in listed
    assert tasks.claim(session, user=town.user(VOLUNTEER), task_id=far.id).state == "accepted"


def test_todays_tasks_are_the_offered_and_accepted_places_of_the_beijing_day_not_yet_over(session, town):
    def on_7_jan(hh, hours=1, day=7):
        start = datetime(2030, 1, day, hh, tzinfo=tasks.SHANGHAI)
        return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}
    me = town.user(VOLUNTEER)
    running, _ = new_task(session, town, title="进行中", **on_7_jan(9, 2))
    later_today, _ = new_task(session, town, title="下午", volunteer_ids=[], **on_7_jan(14))
    over, _ = new_task(session, town, title="已结束", **on_7_jan(7))
    tomorrow, _ = new_task(session, town, title="明天", **on_7_jan(9, day=8))
    declined, _ = new_task(session, town, title="不去", **on_7_jan(16))
    tasks.claim(session, user=me, task_id=later_today.id)
    offer = session.exec(select(Assignment).where(Assignment.task_id == declined.id)).one()
    tasks.act(session, user=me, assignment_id=offer.id, action="decline", data={"reason": "有事"})
    now = datetime(2030, 1, 7, 10, tzinfo=tasks.SHANGHAI)
    found = [(t.title, a.state) for t, a in tasks.today_for(session, me, now=now)]
    assert found == [("进行中", "offered"), ("下午", "accepted")]
    assert tasks.today_for(session, town.user(VOLUNTEER_G3), now=now) == []


def test_done_keeps_the_gps_evidence_and_the_publicity_reach(session, town):
    school = town.checkpoints("G1")[1]
    task, _ = new_task(session, town, kind="publicity", checkpoint_id=school.id)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    volunteer = town.user(VOLUNTEER)
    tasks.act(session, user=volunteer, assignment_id=offer.id, action="accept")
    begun(session, task)
    done = tasks.act(session, user=volunteer, assignment_id=offer.id, action="done",
                     data={"lat": school.lat, "lon": school.lon, "accuracy_m": 6, "people": "35", "leaflets": 80})
    assert done.distance_m < 1 and done.reach == {"people": 35, "leaflets": 80, "app_installs": 0}


# --- evidence first --------------------------------------------------------------------------------------

def accepted(session, town, **data):
    task, _ = new_task(session, town, **data)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="accept")
    return task, offer


def test_a_shift_is_not_done_before_it_begins(session, town):
    task, offer = accepted(session, town)
    with pytest.raises(Conflict) as err:
        tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="done", data={"no_location": "1"})
    assert err.value.code == "not_started"
    session.expire_all()
    assert session.get(Assignment, offer.id).state == "accepted"
    begun(session, task, minutes_ago=1)
    assert tasks.act(session, user=town.user(VOLUNTEER), assignment_id=offer.id, action="done").state == "done"


def test_done_with_nothing_or_only_no_location_is_flagged_no_evidence_and_so_is_its_service_record(session, town):
    silent_task, silent = accepted(session, town)
    begun(session, silent_task)
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=silent.id, action="done")
    said_task, said = accepted(session, town, starts_at=later(5), ends_at=later(6))
    begun(session, said_task, minutes_ago=90)  # ended half an hour ago, before the first began
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=said.id, action="done", data={"no_location": "on"})
    found = tasks.evidence_of(session, [silent.id, said.id])
    assert found[silent.id].flags == (hours.FLAG_NO_EVIDENCE,) and not found[silent.id].no_location
    assert found[said.id].flags == (hours.FLAG_NO_EVIDENCE,) and found[said.id].no_location
    tasks.act(session, user=town.user(OFFICER_G12), assignment_id=said.id, action="verify")
    record = session.exec(select(ServiceRecord).where(ServiceRecord.assignment_id == said.id)).one()
    assert hours.FLAG_NO_EVIDENCE in record.flags


def test_a_check_in_at_the_post_is_evidence_and_far_from_it_is_flagged(session, town):
    gate = town.checkpoints("G1")[1]
    near_task, near = accepted(session, town, checkpoint_id=gate.id)
    begun(session, near_task)
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=near.id, action="done",
              data={"lat": gate.lat, "lon": gate.lon, "accuracy_m": 8})
    far_task, far = accepted(session, town, checkpoint_id=gate.id, starts_at=later(5), ends_at=later(6))
    begun(session, far_task, minutes_ago=90)
    tasks.act(session, user=town.user(VOLUNTEER), assignment_id=far.id, action="done",
              data={"lat": gate.lat + 0.01, "lon": gate.lon, "accuracy_m": 8})  # about 1,100 m north
    found = tasks.evidence_of(session, [near.id, far.id])
    assert found[near.id].located and found[near.id].distance_m < 1 and found[near.id].flags == ()
    assert found[far.id].distance_m > 1000 and found[far.id].flags == (hours.FLAG_FAR,)


def test_done_that_overlaps_other_service_is_flagged_before_it_is_verified(session, town):
    task, offer = accepted(session, town)
    begun(session, task, minutes_ago=30)
    volunteer = town.user(VOLUNTEER)
    session.add(ServiceRecord(station_id=volunteer.station_id, volunteer_id=volunteer.id, grid_id=town.grid("G1").id,
                              source="patrol", starts_at=utcnow() - timedelta(minutes=40), ends_at=utcnow(),
                              month=hours.month_of(utcnow()), minutes=40))
    session.commit()
    tasks.act(session, user=volunteer, assignment_id=offer.id, action="done", data={"lat": 30.25, "lon": 120.09})
    assert tasks.evidence_of(session, [offer.id])[offer.id].flags == (hours.FLAG_OVERLAP,)


END = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("evidence, flags", [
    (dict(located=False, photos=0), [hours.FLAG_NO_EVIDENCE]),
    (dict(located=False, photos=1), []),                                          # a photo of the post is evidence
    (dict(located=True, photos=0), []),                                           # a location with no post to compare
    (dict(located=True, photos=0, distance_m=60, radius_m=50, accuracy_m=20), []),  # within the fix's accuracy
    (dict(located=True, photos=0, distance_m=200, radius_m=50, accuracy_m=20), [hours.FLAG_FAR]),
    (dict(located=True, photos=0, distance_m=900, radius_m=50, accuracy_m=5000), [hours.FLAG_FAR]),  # allowance capped
    (dict(located=True, photos=0, done_at=END + timedelta(hours=2)), []),
    (dict(located=False, photos=0, done_at=END + timedelta(hours=2, minutes=1)),
     [hours.FLAG_NO_EVIDENCE, hours.FLAG_DONE_LATE]),
])
def test_the_evidence_rules(evidence, flags):
    evidence.setdefault("done_at", END - timedelta(minutes=5))
    assert hours.done_flags(ends_at=END, **evidence) == flags
