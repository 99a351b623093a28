"""Honours (锦旗, 表彰): who may record them for which volunteer or team, retries, and the lists."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from tests.test_certificates import other_coordinator
from volunteers import commendations
from volunteers.errors import Forbidden, Invalid, NotFound
from volunteers.models import AuditEvent, Commendation, Team, TeamMember, utcnow


def honour(session, town, phone: str, **data):
    body = {"kind": "banner", "title": "见义勇为 群众卫士", "given_by": "东街居民", "awarded_on": "2026-11-01", **data}
    return commendations.record(session, user=town.user(phone), data=body)


def new_team(session, town, name: str, members: list[str], leader: str | None = None) -> Team:
    team = Team(station_id=town.user(COORDINATOR).station_id, name=name, kind="auxiliary",
                leader_id=town.user(leader).id if leader else None)
    session.add(team)
    session.flush()
    for phone in members:
        session.add(TeamMember(team_id=team.id, user_id=town.user(phone).id))
    session.commit()
    return team


def test_the_coordinator_honours_a_volunteer_and_a_team_and_they_are_listed(session, town):
    volunteer = town.user(VOLUNTEER)
    team = session.exec(select(Team).where(Team.name == "义警队")).one()
    first, created = honour(session, town, COORDINATOR, volunteer_id=volunteer.id)
    assert created and first.station_id == volunteer.station_id and first.recorded_by_id == town.user(COORDINATOR).id
    second, _ = honour(session, town, COORDINATOR, team_id=team.id, kind="commendation", title="优秀平安志愿服务队",
                       awarded_on="2026-10-01")
    mine = commendations.for_volunteer(session, volunteer.id)
    assert ("见义勇为 群众卫士", volunteer.name, False) in [(h.item.title, h.recipient, h.is_team) for h in mine]
    assert all(h.item.volunteer_id == volunteer.id for h in mine)
    theirs = commendations.for_team(session, team.id)
    assert [(h.item.title, h.recipient, h.is_team) for h in theirs] == [("优秀平安志愿服务队", "义警队", True)]  # newest first
    station = commendations.for_station(session, volunteer.station_id)
    ids = [h.item.id for h in station]  # the demo's own honours are dated from today, so only ours are compared
    assert ids.index(first.id) < ids.index(second.id)  # newest first
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "commendation.record",
                                                 AuditEvent.object_id == first.id)).all()


def test_the_same_honour_sent_twice_is_recorded_once(session, town):
    volunteer = town.user(VOLUNTEER)
    first, _ = honour(session, town, COORDINATOR, volunteer_id=volunteer.id)
    again, created = honour(session, town, COORDINATOR, volunteer_id=volunteer.id)
    assert not created and again.id == first.id
    assert len(session.exec(select(Commendation).where(Commendation.title == "见义勇为 群众卫士")).all()) == 1


def test_an_officer_honours_volunteers_of_their_grids_only(session, town):
    g1_volunteer = town.user(VOLUNTEER)
    assert honour(session, town, OFFICER_G12, volunteer_id=g1_volunteer.id)[1]
    with pytest.raises(Forbidden):
        honour(session, town, OFFICER_G34, volunteer_id=g1_volunteer.id, title="别的")
    with pytest.raises(Forbidden):
        honour(session, town, OFFICER_G12, volunteer_id=town.user(VOLUNTEER_G3).id)
    assert len(session.exec(select(Commendation).where(Commendation.title == "见义勇为 群众卫士")).all()) == 1


def test_a_teams_grid_is_its_leaders_home_grid_else_where_most_members_live(session, town):
    led = new_team(session, town, "东街巡逻队", [VOLUNTEER, "13800000202", VOLUNTEER_G3], leader=VOLUNTEER_G3)
    assert commendations.team_grid_id(session, led) == town.grid("G3").id
    leaderless = new_team(session, town, "西街巡逻队", [VOLUNTEER, "13800000202", VOLUNTEER_G3])
    assert commendations.team_grid_id(session, leaderless) == town.grid("G1").id
    assert commendations.team_grid_id(session, new_team(session, town, "空队", [])) is None
    assert honour(session, town, OFFICER_G34, team_id=led.id)[1]
    with pytest.raises(Forbidden):
        honour(session, town, OFFICER_G12, team_id=led.id, title="别的")
    assert honour(session, town, OFFICER_G12, team_id=leaderless.id)[1]


@pytest.mark.parametrize("data, code", [
    ({}, "one_target"),
    ({"volunteer_id": "V", "team_id": None}, "bad_number"),
    ({"title": ""}, "missing_field"),
    ({"kind": "medal"}, "bad_choice"),
    ({"awarded_on": (utcnow() + timedelta(days=3)).date().isoformat()}, "future_date"),
    ({"awarded_on": "1.11.2026"}, "bad_date"),
    ({"note": "长" * 501}, "too_long"),
])
def test_bad_input_is_refused_with_a_reason(session, town, data, code):
    body = {"volunteer_id": town.user(VOLUNTEER).id, **data}
    if code == "one_target":
        body.pop("volunteer_id")
    with pytest.raises(Invalid) as err:
        honour(session, town, COORDINATOR, **body)
    assert err.value.code == code


def test_both_a_volunteer_and_a_team_at_once_is_refused(session, town):
    team = session.exec(select(Team)).first()
    with pytest.raises(Invalid):
        honour(session, town, COORDINATOR, volunteer_id=town.user(VOLUNTEER).id, team_id=team.id)


def test_volunteers_record_no_honours_and_other_stations_cannot_reach_ours(session, town):
    with pytest.raises(Forbidden):
        honour(session, town, VOLUNTEER, volunteer_id=town.user(VOLUNTEER).id)
    stranger = other_coordinator(session)
    with pytest.raises(NotFound):
        commendations.record(session, user=stranger, data={"volunteer_id": town.user(VOLUNTEER).id, "title": "x"})
    with pytest.raises(NotFound):
        commendations.visible_volunteer(session, stranger, town.user(VOLUNTEER).id)


def test_the_choices_of_an_officer_are_the_people_of_their_grids(session, town):
    people, _teams = commendations.recipient_choices(session, town.user(OFFICER_G12))
    grids = {town.grid("G1").id, town.grid("G2").id}
    assert people and all(p.home_grid_id in grids for p in people)
    assert commendations.recipient_choices(session, town.user(VOLUNTEER)) == ([], [])


def test_the_demo_town_has_a_banner_for_a_volunteer_and_a_commendation_for_a_team(session, town):
    honours = commendations.for_station(session, town.user(COORDINATOR).station_id)
    assert sorted((h.item.kind, h.is_team) for h in honours) == [("banner", False), ("commendation", True)]
    assert [h.item.title for h in commendations.for_volunteer(session, town.user(VOLUNTEER).id)] == ["热心巡逻 守护平安"]
