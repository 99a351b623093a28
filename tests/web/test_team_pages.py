"""Team pages: the list and a team (full pages and htmx partials), the coordinator's forms, and who may reach what."""
from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import demo, teams
from volunteers.models import AuditEvent, Station, Team, TeamMember, User

HX = {"HX-Request": "true"}


@pytest.fixture
def unit(session, town) -> Team:
    """A 最小应急处置单元 with one member, the G3 volunteer."""
    team = teams.create(session, user=town.user(COORDINATOR), data={"name": "南山应急单元", "kind": "emergency_unit"})
    teams.add_member(session, user=town.user(COORDINATOR), team_id=team.id, data={"phone": VOLUNTEER_G3})
    return team


def test_the_coordinator_lists_teams_with_translated_kinds_and_gets_the_new_team_form(english, town):
    page = english(COORDINATOR).get("/teams/")
    assert page.status_code == 200 and "红袖标巡逻队" in page.text and "Red armband patrol" in page.text
    assert 'id="new-team"' in page.text and "Minimum emergency response unit" in page.text
    partial = english(COORDINATOR).get("/teams/", headers=HX)
    assert partial.text.lstrip().startswith('<div id="teams"') and "<html" not in partial.text


def test_creating_a_team_goes_to_its_page(login_as, session, town):
    response = login_as(COORDINATOR).post("/teams/", data={"name": "东街十户联防", "kind": "joint_defence"})
    assert response.status_code == 302
    team = session.exec(select(Team).where(Team.name == "东街十户联防")).one()
    assert response.headers["Location"].endswith(f"/teams/{team.id}") and team.kind == "joint_defence"


@pytest.mark.parametrize("data, words", [({"name": "", "kind": "auxiliary"}, "give the team a name"),
                                         ({"name": "义警队", "kind": "auxiliary"}, "already has a team"),
                                         ({"name": "新队", "kind": "x"}, "not a valid")])
def test_a_bad_new_team_is_422_with_the_reason(english, town, data, words):
    response = english(COORDINATOR).post("/teams/", data=data)
    assert response.status_code == 422 and words in response.text


def test_the_team_page_lists_members_with_masked_phones(login_as, unit):
    page = login_as(COORDINATOR).get(f"/teams/{unit.id}")
    assert page.status_code == 200 and "138****0211" in page.text and VOLUNTEER_G3 not in page.text
    assert 'id="team-members"' in page.text and 'name="leader_id"' in page.text
    partial = login_as(COORDINATOR).get(f"/teams/{unit.id}", headers=HX)
    assert partial.text.lstrip().startswith(f'<div id="team-{unit.id}"')


def test_the_coordinator_sets_the_leader_adds_and_removes_members_through_htmx(english, session, town, unit):
    client = english(COORDINATOR)
    member = town.user(VOLUNTEER_G3)
    response = client.post(f"/teams/{unit.id}/leader", data={"leader_id": str(member.id)}, headers=HX)
    assert response.status_code == 200 and "The leader was saved." in response.text
    response = client.post(f"/teams/{unit.id}/members", data={"phone": VOLUNTEER}, headers=HX)
    assert response.status_code == 200 and "138****0201" in response.text
    again = client.post(f"/teams/{unit.id}/members", data={"phone": VOLUNTEER}, headers=HX)
    assert again.status_code == 409 and "already in this team" in again.text
    response = client.post(f"/teams/{unit.id}/members/{member.id}/remove", headers=HX)
    assert response.status_code == 200 and "138****0211" not in response.text
    session.expire_all()
    assert session.get(Team, unit.id).leader_id is None
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "team"))]
    assert {"team.create", "team.add_member", "team.leader", "team.remove_member"} <= set(actions)


def test_a_leader_who_is_not_a_member_is_422(english, town, unit):
    response = english(COORDINATOR).post(f"/teams/{unit.id}/leader", data={"leader_id": str(town.user(VOLUNTEER).id)})
    assert response.status_code == 422


def test_renaming_with_a_plain_form_goes_back_to_the_team(login_as, session, unit):
    response = login_as(COORDINATOR).post(f"/teams/{unit.id}", data={"name": "南山一号单元", "kind": "emergency_unit"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Team, unit.id).name == "南山一号单元"


def test_an_officer_sees_teams_with_people_in_their_grids_without_buttons(login_as, unit):
    officer = login_as(OFFICER_G34)
    assert "南山应急单元" in officer.get("/teams/").text
    page = officer.get(f"/teams/{unit.id}")
    assert page.status_code == 200 and 'name="leader_id"' not in page.text and 'id="new-team"' not in page.text
    assert officer.post(f"/teams/{unit.id}/members", data={"phone": VOLUNTEER}).status_code == 403
    other = login_as(OFFICER_G12)
    assert "南山应急单元" not in other.get("/teams/").text
    assert other.get(f"/teams/{unit.id}").status_code == 404


@pytest.mark.parametrize("method, suffix", [("GET", "/teams/"), ("GET", "/teams/{id}"), ("POST", "/teams/"),
                                            ("POST", "/teams/{id}"), ("POST", "/teams/{id}/leader"),
                                            ("POST", "/teams/{id}/members")])
def test_volunteers_get_403_everywhere(login_as, session, unit, method, suffix):
    response = login_as(VOLUNTEER).open(suffix.format(id=unit.id), method=method,
                                        data={"name": "x", "kind": "auxiliary", "phone": VOLUNTEER})
    assert response.status_code == 403
    assert session.exec(select(TeamMember).where(TeamMember.team_id == unit.id)).all().__len__() == 1


def test_a_team_of_another_station_is_404(app, session, town, unit):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    session.add(User(station_id=other.id, phone="13999999999", name="外站协调", role="coordinator",
                     password_hash=town.user(COORDINATOR).password_hash))
    session.commit()
    client = app.test_client()
    assert client.post("/login", data={"phone": "13999999999", "password": demo.PASSWORD}).status_code == 302
    assert client.get(f"/teams/{unit.id}").status_code == 404
    assert client.post(f"/teams/{unit.id}/members", data={"phone": "13999999999"}).status_code == 404
    assert "南山应急单元" not in client.get("/teams/").text
