"""Hazard rules without HTTP: the state machine, who may move a report, re-inspection by someone else,
clue-reporter privacy, idempotent reports that are saved whole or not at all, and the triage list."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from tests.factories import count
from volunteers import demo, hazards, photos
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from volunteers.models import (AuditEvent, Hazard, HazardEvent, Notification, Photo, Station, Team, TeamMember, User,
                               utcnow)
from volunteers.duties import today as shanghai_today  # the station's date, not the machine's (UTC)

FILES = Path(__file__).parent / "files"
JPEG, ROTATED, TEXT = ((FILES / n).read_bytes() for n in ("gps.jpg", "rotated.jpg", "not-an-image.jpg"))
VOLUNTEER_G1_OTHER, PENDING_G1 = "13800000202", "13800000223"

# DESIGN.md's state machine, written out here so a change to hazards.TRANSITIONS has to change this too.
STATES = ("reported", "accepted", "assigned", "rectifying", "rectified", "closed", "rejected", "duplicate")
LEGAL = {
    ("reported", "accepted"), ("reported", "rejected"), ("reported", "duplicate"),
    ("accepted", "assigned"), ("accepted", "rejected"), ("accepted", "duplicate"),
    ("assigned", "rectifying"),
    ("rectifying", "rectified"),
    ("rectified", "closed"), ("rectified", "rectifying"),
}
# How a fresh report reaches each state (closing is done by the coordinator: the officer marked it fixed).
PATH = {
    "reported": [], "accepted": ["accepted"], "assigned": ["accepted", "assigned"],
    "rectifying": ["accepted", "assigned", "rectifying"], "rectified": ["accepted", "assigned", "rectifying", "rectified"],
    "closed": ["accepted", "assigned", "rectifying", "rectified", "closed"],
    "rejected": ["rejected"], "duplicate": ["duplicate"],
}


def cell(row: int, col: int, north: float = 0.5, east: float = 0.5) -> tuple[float, float]:
    return demo.ORIGIN[0] + (row + north) * demo.STEP_LAT, demo.ORIGIN[1] + (col + east) * demo.STEP_LON


IN_G1, IN_G3, OUTSIDE = cell(1, 0), cell(0, 0), cell(3, 3)


def new_id() -> str:
    return str(uuid.uuid4())


def file_count(store: photos.PhotoStore) -> int:
    return sum(1 for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else 0


@pytest.fixture
def store(tmp_path) -> photos.PhotoStore:
    return photos.PhotoStore(tmp_path / "store")


@pytest.fixture
def people(town):
    """The demo's people by role."""
    class People:
        volunteer = town.user(VOLUNTEER)
        neighbour = town.user(VOLUNTEER_G1_OTHER)
        volunteer_g3 = town.user(VOLUNTEER_G3)
        officer = town.user(OFFICER_G12)
        officer_g34 = town.user(OFFICER_G34)
        coordinator = town.user(COORDINATOR)
    return People


@pytest.fixture
def file_report(session, people, store):
    """File a report (a fire hazard in G1 by the G1 volunteer unless told otherwise)."""
    def _report(user=None, *, point=IN_G1, uploads=(), client_id=None, **fields):
        data = {"client_id": client_id or new_id(), "kind": "hazard", "category": "fire",
                "description": "楼道堆放纸箱，堵住消防通道"} | fields
        if point is not None:
            data |= {"lat": point[0], "lon": point[1], "accuracy_m": 12}
        hazard, _created = hazards.report(session, user=user or people.volunteer, data=data, uploads=list(uploads),
                                          store=store)
        return hazard
    return _report


@pytest.fixture
def move(session, store):
    """Take one step as `user`."""
    def _move(user, hazard, to, photo=None, **data):
        return hazards.transition(session, user=user, hazard_id=hazard.id, data={"to": to, **data}, photo=photo,
                                  store=store)
    return _move


@pytest.fixture
def bring_to(people, file_report, move):
    """A fresh report, walked to `state` along the usual path."""
    def _bring(state: str, **fields):
        hazard = file_report(**fields)
        original = file_report() if "duplicate" in PATH[state] else None
        for to in PATH[state]:
            extra = {"duplicate_of": original.id} if to == "duplicate" else {}
            if to == "closed" and hazard.category == "dispute":
                extra["mediation_outcome"] = "mediated"
            hazard = move(people.coordinator if to == "closed" else people.officer, hazard, to, note="已处理", **extra)
        assert hazard.status == state
        return hazard
    return _bring


# --- the state machine -------------------------------------------------------------------------------

def test_the_domain_has_exactly_the_designed_states_and_edges():
    assert set(hazards.STATES) == set(STATES)
    assert {(a, b) for a, targets in hazards.TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize("current, to", [(a, b) for a in STATES for b in STATES], ids=lambda s: s)
def test_every_pair_of_states_is_legal_or_a_409(session, people, bring_to, move, file_report, current, to):
    hazard = bring_to(current)
    actor = people.coordinator if to == "closed" else people.officer
    extra = {"duplicate_of": file_report().id} if to == "duplicate" else {}
    events = count(session, HazardEvent, HazardEvent.hazard_id == hazard.id)
    if (current, to) in LEGAL:
        moved = move(actor, hazard, to, note="理由写在这里", **extra)
        assert moved.status == to == session.get(Hazard, hazard.id).status
        last = hazards.history(session, actor, moved)[-1].event
        assert (last.from_status, last.to_status, last.actor_id) == (current, to, actor.id)
        assert count(session, HazardEvent, HazardEvent.hazard_id == hazard.id) == events + 1
    else:
        with pytest.raises(Conflict) as err:
            move(actor, hazard, to, note="理由写在这里", **extra)
        assert err.value.code == "illegal_transition" and err.value.status == 409
        session.expire_all()
        assert session.get(Hazard, hazard.id).status == current
        assert count(session, HazardEvent, HazardEvent.hazard_id == hazard.id) == events


@pytest.mark.parametrize("to", ["", "open", "CLOSED", "deleted", None])
def test_an_unknown_state_is_a_422(people, bring_to, move, to):
    with pytest.raises(Invalid) as err:
        move(people.officer, bring_to("reported"), to)
    assert err.value.code == "unknown_state" and err.value.status == 422


def test_a_note_longer_than_1000_characters_is_refused(session, people, bring_to, move):
    hazard = bring_to("reported")
    with pytest.raises(Invalid) as err:
        move(people.officer, hazard, "rejected", note="长" * 1001)
    assert err.value.code == "too_long"
    assert move(people.officer, hazard, "rejected", note="长" * 1000).status == "rejected"


# --- who may move it ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who, error", [
    ("volunteer", Forbidden),      # the reporter sees it but may not move it
    ("neighbour", NotFound),       # another volunteer of the grid does not even see it
    ("volunteer_g3", NotFound),
    ("officer_g34", NotFound),     # an officer of another grid: as if it did not exist
])
def test_only_officers_of_the_grid_or_the_coordinator_may_move_a_report(session, people, bring_to, move, who, error):
    hazard = bring_to("reported")
    with pytest.raises(error):
        move(getattr(people, who), hazard, "accepted")
    session.expire_all()
    assert session.get(Hazard, hazard.id).status == "reported"


@pytest.mark.parametrize("who", ["officer", "coordinator"])
def test_the_grid_officer_and_the_coordinator_may_move_a_report(people, bring_to, move, who):
    assert move(getattr(people, who), bring_to("reported"), "accepted").status == "accepted"


def test_the_assigned_volunteer_sees_the_report_but_may_not_move_it(session, people, bring_to, move):
    hazard = move(people.officer, bring_to("accepted"), "assigned", assignee_id=people.neighbour.id)
    assert hazards.visible(session, people.neighbour, hazard.id).id == hazard.id
    with pytest.raises(Forbidden):
        move(people.neighbour, hazard, "rectifying")


def test_a_report_outside_every_grid_is_moved_by_the_coordinator_only(people, file_report, move):
    hazard = file_report(point=OUTSIDE)
    assert hazard.grid_id is None
    for officer in (people.officer, people.officer_g34):
        with pytest.raises(NotFound):
            move(officer, hazard, "accepted")
    assert move(people.coordinator, hazard, "accepted").status == "accepted"


def test_the_coordinator_of_another_station_cannot_see_the_report(session, people, bring_to, move):
    other = Station(code="XYZ", name="别的派出所")
    session.add(other)
    session.flush()
    stranger = User(station_id=other.id, phone="13900000000", name="外所协调员", password_hash="x", role="coordinator")
    session.add(stranger)
    session.commit()
    with pytest.raises(NotFound):
        move(stranger, bring_to("reported"), "accepted")


# --- re-inspection --------------------------------------------------------------------------------------

def test_whoever_marked_it_fixed_may_not_close_it(session, people, bring_to, move):
    hazard = bring_to("rectified")
    assert hazard.rectified_by_id == people.officer.id
    with pytest.raises(DomainError) as err:
        move(people.officer, hazard, "closed", note="复查通过")
    assert err.value.code == "same_inspector" and err.value.status == 403
    session.expire_all()
    assert session.get(Hazard, hazard.id).status == "rectified"
    assert "closed" not in hazards.next_states(session, people.officer, hazard)
    assert "closed" in hazards.next_states(session, people.coordinator, hazard)
    assert move(people.coordinator, hazard, "closed", note="复查通过").status == "closed"


def test_the_rectifier_may_still_send_it_back_and_then_someone_else_closes(session, people, bring_to, move):
    hazard = move(people.officer, bring_to("rectified"), "rectifying", note="还有一个纸箱")
    hazard = move(people.coordinator, hazard, "rectified", note="全部清走")
    assert hazard.rectified_by_id == people.coordinator.id
    with pytest.raises(DomainError, match="other than"):
        move(people.coordinator, hazard, "closed")
    assert move(people.officer, hazard, "closed").status == "closed"


# --- what each step needs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, to", [("reported", "rejected"), ("accepted", "rejected"), ("rectified", "rectifying")])
@pytest.mark.parametrize("note", ["", "   "])
def test_rejecting_and_sending_back_need_a_reason(session, people, bring_to, move, state, to, note):
    hazard = bring_to(state)
    actor = people.coordinator if state == "rectified" else people.officer  # the officer fixed it; anyone may send back
    with pytest.raises(Invalid) as err:
        move(actor, hazard, to, note=note)
    assert err.value.code == "reason_required"
    assert move(actor, hazard, to, note="不属于隐患").status == to


def test_marking_it_fixed_needs_a_note_or_an_after_photo(session, people, bring_to, move):
    hazard = bring_to("rectifying")
    with pytest.raises(Invalid) as err:
        move(people.officer, hazard, "rectified")
    assert err.value.code == "evidence_required"
    fixed = move(people.officer, hazard, "rectified", photo=JPEG)
    step = hazards.history(session, people.officer, fixed)[-1]
    assert fixed.status == "rectified" and len(step.photo_ids) == 1
    assert session.get(Photo, step.photo_ids[0]).event_id == step.event.id


@pytest.mark.parametrize("priority, days", sorted(hazards.DEADLINE_DAYS.items()))
def test_accepting_sets_the_priority_and_a_deadline_by_priority(people, bring_to, move, priority, days):
    before = utcnow()
    hazard = move(people.officer, bring_to("reported"), "accepted", priority=priority)
    assert hazard.priority == priority
    assert before + timedelta(days=days) <= hazard.deadline <= utcnow() + timedelta(days=days)


def test_accepting_without_a_priority_means_normal_and_a_week(people, bring_to, move):
    hazard = move(people.officer, bring_to("reported"), "accepted")
    assert hazard.priority == "normal"
    assert timedelta(days=6, hours=23) < hazard.deadline - utcnow() <= timedelta(days=7)


def test_a_deadline_given_as_a_date_ends_that_day_in_shanghai(people, bring_to, move):
    day = shanghai_today() + timedelta(days=10)
    hazard = move(people.officer, bring_to("reported"), "accepted", priority="high", deadline=day.isoformat())
    assert hazard.deadline == datetime.combine(day, time(23, 59), ZoneInfo("Asia/Shanghai"))
    assert hazard.priority == "high"


@pytest.mark.parametrize("deadline", [
    (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
    (shanghai_today() - timedelta(days=2)).isoformat(),
], ids=["an-hour-ago", "two-days-ago"])
def test_a_deadline_in_the_past_is_refused_and_nothing_changes(session, people, bring_to, move, file_report, deadline):
    hazard = bring_to("reported")
    with pytest.raises(Invalid) as err:
        move(people.officer, hazard, "accepted", priority="urgent", deadline=deadline)
    assert err.value.code == "deadline_past"
    # The caller's session carries on (here: another report is filed and committed) — the refused step must not leak.
    file_report()
    session.expire_all()
    again = session.get(Hazard, hazard.id)
    assert (again.status, again.priority, again.deadline) == ("reported", "normal", None)


@pytest.mark.parametrize("data, code", [
    ({"priority": "critical"}, "bad_choice"),
    ({"deadline": "next week"}, "bad_time"),
    ({"deadline": "2031-01-01T10:00:00"}, "bad_time"),  # no zone: ambiguous
])
def test_accepting_with_a_bad_priority_or_deadline_is_refused(people, bring_to, move, data, code):
    with pytest.raises(Invalid) as err:
        move(people.officer, bring_to("reported"), "accepted", **data)
    assert err.value.code == code


def test_a_refused_step_leaves_no_changes_behind_in_the_session(session, people, bring_to, move, file_report):
    """Every validation failure must leave the hazard as it was, even if the caller's session commits later."""
    fixing = bring_to("rectifying")
    with pytest.raises(Invalid):
        move(people.officer, fixing, "rectified", photo=TEXT, note="修好了")
    assigning = bring_to("accepted")
    with pytest.raises(Invalid):
        move(people.officer, assigning, "assigned", assignee_id=people.volunteer_g3.id)
    file_report()  # commits the session
    session.expire_all()
    assert session.get(Hazard, fixing.id).rectified_by_id is None
    assert session.get(Hazard, assigning.id).assignee_id is None


# --- duplicates -------------------------------------------------------------------------------------------------

def test_a_duplicate_links_to_the_original(session, people, bring_to, move, file_report):
    original = file_report()
    copy = move(people.officer, bring_to("reported"), "duplicate", duplicate_of=original.id)
    assert copy.duplicate_of_id == original.id
    assert hazards.history(session, people.officer, copy)[-1].event.detail == {"duplicate_of": original.id}


def test_a_duplicate_of_a_duplicate_links_to_the_first_report(people, bring_to, move, file_report):
    first = file_report()
    second = move(people.officer, file_report(), "duplicate", duplicate_of=first.id)
    third = move(people.officer, file_report(), "duplicate", duplicate_of=str(second.id))  # forms send text
    assert third.duplicate_of_id == first.id


def test_a_report_may_even_duplicate_one_in_another_grid_of_the_station(people, move, file_report):
    in_g3 = file_report(people.volunteer_g3, point=IN_G3)
    assert move(people.officer, file_report(), "duplicate", duplicate_of=in_g3.id).duplicate_of_id == in_g3.id


@pytest.mark.parametrize("original, code, status", [
    (None, "missing_field", 400),
    ("self", "unknown_original", 422),
    (10 ** 9, "unknown_original", 422),
    ("abc", "bad_number", 400),
])
def test_a_duplicate_needs_a_real_other_original(session, people, bring_to, move, original, code, status):
    hazard = bring_to("reported")
    data = {} if original is None else {"duplicate_of": hazard.id if original == "self" else original}
    with pytest.raises(Invalid) as err:
        move(people.officer, hazard, "duplicate", **data)
    assert (err.value.code, err.value.status) == (code, status)


def test_a_report_cannot_become_a_duplicate_of_its_own_duplicate(people, move, file_report):
    original = file_report()
    copy = move(people.officer, file_report(), "duplicate", duplicate_of=original.id)
    with pytest.raises(Invalid) as err:
        move(people.officer, original, "duplicate", duplicate_of=copy.id)
    assert err.value.code == "unknown_original"


def test_a_report_of_another_station_cannot_be_the_original(session, people, bring_to, move):
    other = Station(code="XYZ", name="别的派出所")
    session.add(other)
    session.flush()
    foreign = Hazard(client_id=new_id(), fingerprint="x", station_id=other.id, kind="hazard", category="fire")
    session.add(foreign)
    session.commit()
    with pytest.raises(Invalid) as err:
        move(people.officer, bring_to("reported"), "duplicate", duplicate_of=foreign.id)
    assert err.value.code == "unknown_original"


# --- assignment ---------------------------------------------------------------------------------------------------

def test_assigning_without_a_name_gives_it_to_the_acting_officer(people, bring_to, move):
    hazard = move(people.officer, bring_to("accepted"), "assigned")
    assert (hazard.assignee_id, hazard.team_id) == (people.officer.id, None)


def test_assigning_to_a_volunteer_of_the_grid_notifies_them(session, people, bring_to, move):
    hazard = move(people.officer, bring_to("accepted"), "assigned", assignee_id=str(people.neighbour.id))
    assert hazard.assignee_id == people.neighbour.id
    notes = session.exec(select(Notification).where(Notification.user_id == people.neighbour.id)).all()
    assert [n.params["id"] for n in notes] == [hazard.id] and notes[0].link == f"/hazards/{hazard.id}"


def test_assigning_to_a_team_of_the_station(session, people, bring_to, move):
    team = session.exec(select(Team).where(Team.station_id == people.officer.station_id).order_by(Team.id)).first()
    hazard = move(people.officer, bring_to("accepted"), "assigned", team_id=team.id)
    assert (hazard.assignee_id, hazard.team_id) == (None, team.id)
    member_id = session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team.id)).first()
    member = session.get(User, member_id)
    assert hazards.visible(session, member, hazard.id).id == hazard.id  # the team may see what it must fix


@pytest.mark.parametrize("whom, code", [
    ("volunteer_g3", "unknown_assignee"),   # a volunteer of another grid
    ("pending", "unknown_assignee"),        # not yet approved
    ("nobody", "unknown_assignee"),
    ("foreign_team", "unknown_team"),
    ("no_team", "unknown_team"),
])
def test_assigning_refuses_people_and_teams_who_cannot_take_it(session, town, people, bring_to, move, whom, code):
    hazard = bring_to("accepted")
    if whom == "foreign_team":
        other = Station(code="XYZ", name="别的派出所")
        session.add(other)
        session.flush()
        team = Team(station_id=other.id, name="外所义警队", kind="auxiliary")
        session.add(team)
        session.commit()
        data = {"team_id": team.id}
    elif whom == "no_team":
        data = {"team_id": 10 ** 9}
    else:
        target = {"volunteer_g3": people.volunteer_g3, "pending": town.user(PENDING_G1)}.get(whom)
        data = {"assignee_id": target.id if target else 10 ** 9}
    if whom == "pending":
        assert town.user(PENDING_G1).home_grid_id == hazard.grid_id and town.user(PENDING_G1).status == "pending"
    with pytest.raises(Invalid) as err:
        move(people.officer, hazard, "assigned", **data)
    assert err.value.code == code
    session.expire_all()
    assert session.get(Hazard, hazard.id).status == "accepted"


# --- disputes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, code", [(None, "missing_field"), ("", "missing_field"), ("resolved", "bad_choice")])
def test_a_dispute_needs_a_mediation_outcome_to_close(session, people, bring_to, move, outcome, code):
    dispute = bring_to("rectified", category="dispute")
    data = {} if outcome is None else {"mediation_outcome": outcome}
    with pytest.raises(Invalid) as err:
        move(people.coordinator, dispute, "closed", **data)
    assert err.value.code == code


def test_other_categories_close_without_an_outcome(people, bring_to, move):
    closed = move(people.coordinator, bring_to("rectified"), "closed")
    assert closed.status == "closed" and closed.mediation_outcome is None


def test_the_mediation_success_rate_counts_closed_disputes_by_outcome(session, people, bring_to, move):
    station = people.officer.station_id
    assert hazards.mediation_success_rate(session, station) == pytest.approx(1 / 2)  # the demo: mediated, referred
    for outcome in ("failed", "mediated", "mediated"):
        dispute = move(people.coordinator, bring_to("rectified", category="dispute"), "closed", mediation_outcome=outcome)
        assert dispute.mediation_outcome == outcome
    bring_to("rectified", category="dispute")  # open disputes do not count
    assert hazards.mediation_success_rate(session, station) == pytest.approx(3 / 5)


def test_a_station_without_closed_disputes_has_no_rate(session, town):
    other = Station(code="XYZ", name="别的派出所")
    session.add(other)
    session.commit()
    assert hazards.mediation_success_rate(session, other.id) is None


# --- the record of each step -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, to", sorted(LEGAL))
def test_each_step_writes_an_event_an_audit_row_and_tells_the_reporter(session, people, bring_to, move, file_report,
                                                                       state, to):
    hazard = bring_to(state)
    actor = people.coordinator if to == "closed" else people.officer
    extra = {"duplicate_of": file_report().id} if to == "duplicate" else {}
    before = (count(session, AuditEvent),)
    move(actor, hazard, to, note="第一步", **extra)
    event = session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)
                         .order_by(HazardEvent.id.desc())).first()
    assert (event.actor_id, event.from_status, event.to_status, event.note) == (actor.id, state, to, "第一步")
    assert utcnow() - event.at < timedelta(minutes=1)
    audit = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (audit.action, audit.object_type, audit.object_id, audit.actor_id) == (f"hazard.{to}", "hazard", hazard.id, actor.id)
    assert count(session, AuditEvent) == before[0] + 1
    # Steps within a few minutes are one message to the reporter (issue 16), its last change this step.
    notes = session.exec(select(Notification).where(Notification.user_id == hazard.reporter_id,
                                                    Notification.hazard_id == hazard.id)).all()
    assert len(notes) == 1 and notes[0].link == f"/hazards/{hazard.id}/thread"
    assert notes[0].params["changes"][-1][0] in (hazards.STATE_LABELS[to], "given to %(name)s", "rejected: %(note)s")
    assert len(notes[0].params["changes"]) == len(PATH[state]) + 1


def test_an_officer_moving_their_own_report_is_not_notified_about_it(session, people, file_report, move):
    own = file_report(people.officer)
    move(people.officer, own, "accepted")
    assert count(session, Notification, Notification.user_id == people.officer.id,
                 Notification.message.like("Your report%")) == 0


def test_a_new_report_notifies_the_grids_officers_and_is_audited(session, people, file_report):
    hazard = file_report()
    told = session.exec(select(Notification).where(Notification.user_id == people.officer.id)
                        .order_by(Notification.id)).all()[-1]
    assert (told.hazard_id, told.params["id"], told.params["changes"]) == (hazard.id, hazard.id, [["new in your grid", {}]])
    assert count(session, Notification, Notification.user_id == people.officer_g34.id) == 0
    assert count(session, AuditEvent, AuditEvent.action == "hazard.report", AuditEvent.object_id == hazard.id) == 1


# --- a clue's reporter -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, shown", [
    ("volunteer", True),      # the reporter themself
    ("officer", True),        # the officer of its grid
    ("coordinator", False),   # not even the coordinator
    ("officer_g34", False),
    ("neighbour", False),     # another volunteer, even one it was given to
    ("volunteer_g3", False),
])
def test_a_clues_reporter_is_shown_only_to_the_officers_of_its_grid(session, people, file_report, move, who, shown):
    clue = file_report(kind="clue", category="suspicious", description="夜里有陌生人多次看校门")
    move(people.officer, clue, "accepted")
    clue = move(people.officer, clue, "assigned", assignee_id=people.neighbour.id)
    viewer = getattr(people, who)
    assert hazards.reporter_shown_to(session, viewer, clue) is shown
    if hazards.can_see(session, viewer, clue):
        names = [step.actor_name for step in hazards.history(session, viewer, clue)]
        assert names[0] == (people.volunteer.name if shown else None)
        assert names[1:] == [people.officer.name, people.officer.name]
        assert people.volunteer.name not in names[1:] or shown


def test_a_hazards_reporter_is_shown_to_the_coordinator(session, people, file_report):
    hazard = file_report()
    assert hazards.reporter_shown_to(session, people.coordinator, hazard)
    assert hazards.history(session, people.coordinator, hazard)[0].actor_name == people.volunteer.name
    assert not hazards.reporter_shown_to(session, people.officer_g34, hazard)


@pytest.mark.parametrize("who, sees", [
    ("volunteer", True), ("officer", True), ("coordinator", True),
    ("neighbour", False), ("volunteer_g3", False), ("officer_g34", False),
])
def test_who_may_see_a_report(session, people, file_report, who, sees):
    hazard = file_report()
    if sees:
        assert hazards.visible(session, getattr(people, who), hazard.id).id == hazard.id
    else:
        with pytest.raises(NotFound):
            hazards.visible(session, getattr(people, who), hazard.id)


# --- filing a report ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("point, grid", [(IN_G1, "G1"), (IN_G3, "G3"), (OUTSIDE, None)])
def test_a_report_lands_in_the_grid_of_its_point(town, file_report, point, grid):
    hazard = file_report(point=point)
    assert hazard.grid_id == (town.grid(grid).id if grid else None)
    assert (hazard.status, hazard.lat, hazard.lon) == ("reported", point[0], point[1])


def test_a_report_by_address_alone_goes_to_the_station_queue(file_report):
    hazard = file_report(point=None, address="省道 S21 青石出口往东 300 米")
    assert (hazard.grid_id, hazard.lat, hazard.address) == (None, None, "省道 S21 青石出口往东 300 米")


@pytest.mark.parametrize("fields, code", [
    ({"point": None}, "location_required"),
    ({"point": (91, 120)}, "out_of_range"),
    ({"point": (30, 181)}, "out_of_range"),
    ({"category": "ufo"}, "bad_choice"),
    ({"category": ""}, "missing_field"),
    ({"kind": "rumour"}, "bad_choice"),
    ({"description": "字" * 2001}, "too_long"),
    ({"client_id": "not-a-uuid"}, "bad_client_id"),
])
def test_a_bad_report_is_refused_with_a_clear_code(session, file_report, fields, code):
    hazards_before = count(session, Hazard)
    with pytest.raises(Invalid) as err:
        file_report(**fields)
    assert err.value.code == code
    assert count(session, Hazard) == hazards_before


def test_a_retried_report_returns_the_first_one(session, people, store):
    data = {"client_id": new_id(), "kind": "hazard", "category": "fire", "lat": IN_G1[0], "lon": IN_G1[1]}
    first, created = hazards.report(session, user=people.volunteer, data=dict(data), uploads=[JPEG], store=store)
    again, created_again = hazards.report(session, user=people.volunteer, data=dict(data), uploads=[JPEG], store=store)
    assert created and not created_again and again.id == first.id
    assert count(session, Hazard, Hazard.client_id == data["client_id"]) == 1
    assert count(session, Photo, Photo.hazard_id == first.id) == 1 and file_count(store) == 2  # photo + thumbnail


@pytest.mark.parametrize("change", [
    {"description": "另一件事"}, {"category": "traffic"}, {"lat": IN_G3[0], "lon": IN_G3[1]},
    {"uploads": [ROTATED]}, {"uploads": []}, {"uploads": [JPEG, JPEG]},
], ids=["description", "category", "place", "another-photo", "no-photo", "extra-photo"])
def test_the_same_client_id_with_other_content_is_a_409(session, people, store, change):
    data = {"client_id": new_id(), "kind": "hazard", "category": "fire", "description": "楼道堆物",
            "lat": IN_G1[0], "lon": IN_G1[1]}
    hazards.report(session, user=people.volunteer, data=dict(data), uploads=[JPEG], store=store)
    files = file_count(store)
    uploads = change.pop("uploads", [JPEG])
    with pytest.raises(Conflict) as err:
        hazards.report(session, user=people.volunteer, data=data | change, uploads=uploads, store=store)
    assert err.value.code == "client_id_reused" and err.value.status == 409
    assert count(session, Hazard, Hazard.client_id == data["client_id"]) == 1 and file_count(store) == files


def test_someone_elses_client_id_is_a_409(session, people, store, file_report):
    taken = file_report().client_id
    with pytest.raises(Conflict):
        file_report(people.neighbour, client_id=taken)


def test_six_photos_are_kept_with_the_report(session, file_report, store):
    hazard = file_report(uploads=[JPEG, ROTATED] * 3)
    assert len(hazards.report_photos(session, hazard)) == 6 and file_count(store) == 12


def test_seven_photos_are_refused_and_nothing_is_saved(session, file_report, store):
    before = count(session, Hazard), count(session, Photo)
    with pytest.raises(Invalid) as err:
        file_report(uploads=[JPEG] * 7)
    assert err.value.code == "too_many_photos" and err.value.status == 422
    assert (count(session, Hazard), count(session, Photo)) == before and file_count(store) == 0


def test_a_bad_photo_among_good_ones_saves_nothing(session, file_report, store):
    before = count(session, Hazard), count(session, Photo), count(session, HazardEvent)
    with pytest.raises(Invalid) as err:
        file_report(uploads=[JPEG, TEXT, ROTATED])
    assert err.value.code == "not_an_image"
    assert (count(session, Hazard), count(session, Photo), count(session, HazardEvent)) == before
    assert file_count(store) == 0


def test_a_photo_that_fails_to_be_written_takes_the_others_back_out(session, people, tmp_path):
    class FlakyStore(photos.PhotoStore):
        saves = 0

        def save(self, photo):
            FlakyStore.saves += 1
            if FlakyStore.saves == 3:
                raise OSError("disk full")
            return super().save(photo)

    store = FlakyStore(tmp_path / "flaky")
    before = count(session, Hazard)
    data = {"client_id": new_id(), "kind": "hazard", "category": "fire", "lat": IN_G1[0], "lon": IN_G1[1]}
    with pytest.raises(OSError):
        hazards.report(session, user=people.volunteer, data=data, uploads=[JPEG, ROTATED, JPEG], store=store)
    assert count(session, Hazard) == before and file_count(store) == 0


def test_a_refused_after_photo_leaves_no_file_and_no_step(session, people, bring_to, move, store):
    hazard = bring_to("rectifying")
    files, events = file_count(store), count(session, HazardEvent, HazardEvent.hazard_id == hazard.id)
    with pytest.raises(Invalid):
        move(people.officer, hazard, "rectified", photo=TEXT, note="修好了")
    assert file_count(store) == files
    assert count(session, HazardEvent, HazardEvent.hazard_id == hazard.id) == events


# --- the triage list ---------------------------------------------------------------------------------------------

def sort_key(hazard: Hazard):
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}[hazard.priority]
    return hazard.status in hazards.FINAL, rank, -hazard.reported_at.timestamp()


@pytest.mark.parametrize("who, grids", [
    ("officer", {"G1", "G2"}), ("officer_g34", {"G3", "G4"}), ("coordinator", {"G1", "G2", "G3", "G4", None}),
])
def test_triage_shows_only_the_users_grids(session, town, people, who, grids):
    listed = hazards.triage(session, getattr(people, who))
    assert {hazards.grid_code(session, h) for h in listed} == grids
    everything = session.exec(select(Hazard)).all()
    assert len(listed) == sum(hazards.grid_code(session, h) in grids for h in everything)


@pytest.mark.parametrize("who", ["volunteer", "neighbour"])
def test_volunteers_have_no_triage_list(session, people, who):
    assert hazards.triage(session, getattr(people, who)) == []


def test_triage_puts_open_before_finished_then_urgent_first_then_newest(session, people, bring_to, move, file_report):
    old_urgent = move(people.officer, bring_to("reported"), "accepted", priority="urgent")
    newest = file_report()
    listed = hazards.triage(session, people.coordinator)
    assert [sort_key(h) for h in listed] == sorted(sort_key(h) for h in listed)
    ids = [h.id for h in listed]
    assert ids[0] == old_urgent.id
    assert ids.index(newest.id) < min(ids.index(h.id) for h in listed if h.priority == "normal" and h.id != newest.id)
    finished = [i for i, h in enumerate(listed) if h.status in hazards.FINAL]
    assert finished and finished == list(range(len(listed) - len(finished), len(listed)))


@pytest.mark.parametrize("filters", [
    {"status": "open"}, {"status": "reported"}, {"status": "closed"}, {"status": "duplicate"},
    {"category": "traffic"}, {"category": "dispute", "status": "closed"},
    {"grid": "G2"}, {"grid": "queue"}, {"overdue": True},
])
def test_triage_filters(session, town, people, filters):
    filters = dict(filters)
    grid = filters.pop("grid", None)
    if grid:
        filters["grid_id"] = 0 if grid == "queue" else town.grid(grid).id
    listed = hazards.triage(session, people.coordinator, **filters)
    everything = session.exec(select(Hazard)).all()

    def wanted(h: Hazard) -> bool:
        status = filters.get("status")
        return ((status is None or (h.status not in hazards.FINAL if status == "open" else h.status == status))
                and filters.get("category") in (None, h.category)
                and ("grid_id" not in filters or h.grid_id == (filters["grid_id"] or None))
                and (not filters.get("overdue") or hazards.is_overdue(h)))

    assert listed and {h.id for h in listed} == {h.id for h in everything if wanted(h)}


def test_an_overdue_report_shows_up_until_it_is_finished(session, people, bring_to, move):
    late = bring_to("assigned")
    late.deadline = utcnow() - timedelta(hours=1)
    session.add(late)
    session.commit()
    assert late.id in {h.id for h in hazards.triage(session, people.officer, overdue=True)}
    assert hazards.is_overdue(late)
    move(people.officer, late, "rectifying")
    closed = move(people.coordinator, move(people.officer, late, "rectified", note="ok"), "closed")
    assert not hazards.is_overdue(closed)
    assert closed.id not in {h.id for h in hazards.triage(session, people.officer, overdue=True)}


def test_an_officer_cannot_filter_their_way_into_another_grid(session, town, people):
    assert hazards.triage(session, people.officer, grid_id=town.grid("G3").id) == []
    assert hazards.triage(session, people.officer, grid_id=0) == []


def test_my_reports_lists_only_mine_newest_first(session, people, file_report):
    first, second = file_report(), file_report()
    file_report(people.neighbour)
    mine = hazards.mine(session, people.volunteer)
    assert [h.id for h in mine][:2] == [second.id, first.id]
    assert {h.reporter_id for h in mine} == {people.volunteer.id}


@pytest.mark.parametrize("huge", [2 ** 31, 10 ** 25])
def test_ids_too_big_for_any_id_column_name_nothing(session, people, huge):
    """PostgreSQL ids are 32-bit: a bigger number must be a miss, not a database error."""
    with pytest.raises(NotFound):
        hazards.visible(session, people.officer, huge)
    with pytest.raises(NotFound):
        hazards.visible_photo(session, people.officer, huge)
    assert hazards.triage(session, people.coordinator, grid_id=huge) == []


def test_when_two_people_move_one_report_at_once_the_second_gets_a_409_and_leaves_nothing(session, app, people,
                                                                                        bring_to, store):
    hazard = bring_to("reported")
    hazards.visible(session, people.coordinator, hazard.id)  # this session now holds it as "reported"
    with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as elsewhere:
        officer = elsewhere.get(User, people.officer.id)
        hazards.transition(elsewhere, user=officer, hazard_id=hazard.id, data={"to": "accepted"}, photo=None, store=store)
        # counted there: count() on this session would end its transaction and let it see "accepted"
        files, events = file_count(store), count(elsewhere, HazardEvent, HazardEvent.hazard_id == hazard.id)
    with pytest.raises(Conflict) as err:
        hazards.transition(session, user=people.coordinator, hazard_id=hazard.id,
                           data={"to": "rejected", "note": "重复"}, photo=JPEG, store=store)
    assert err.value.code == "changed_meanwhile"
    session.expire_all()
    assert session.get(Hazard, hazard.id).status == "accepted"
    assert count(session, HazardEvent, HazardEvent.hazard_id == hazard.id) == events and file_count(store) == files
