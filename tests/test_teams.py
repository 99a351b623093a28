"""Team rules without HTTP: the coordinator creates, renames, sets the leader and members; officers only look at
teams with people in their grids; another station's team does not exist."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import teams
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import AuditEvent, Station, Team, TeamMember, User


def events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def team(session, town) -> Team:
    """A new, empty 最小应急处置单元 made by the coordinator."""
    return teams.create(session, user=town.user(COORDINATOR), data={"name": "东街应急单元", "kind": "emergency_unit"})


@pytest.mark.parametrize("kind", teams.KINDS)
def test_the_coordinator_creates_teams_of_every_kind(session, town, kind):
    made = teams.create(session, user=town.user(COORDINATOR), data={"name": f"新队 {kind}", "kind": kind}, ip="1.2.3.4")
    assert (made.kind, made.station_id) == (kind, town.user(COORDINATOR).station_id)
    assert events(session, "team.create")[0].object_id == made.id


def test_the_five_kinds_have_labels_and_the_demo_uses_them(session, town):
    assert set(teams.KIND_LABELS) == set(teams.KINDS) and len(teams.KINDS) == 5
    assert {t.kind for t in session.exec(select(Team))} <= set(teams.KINDS)


@pytest.mark.parametrize("data, code", [({"name": "", "kind": "auxiliary"}, "missing_name"),
                                        ({"name": "x" * 101, "kind": "auxiliary"}, "too_long"),
                                        ({"name": "新队", "kind": "choir"}, "bad_choice"),
                                        ({"name": "义警队", "kind": "auxiliary"}, "name_taken")])
def test_bad_teams_are_refused_and_nothing_is_saved(session, town, data, code):
    before = session.exec(select(func.count()).select_from(Team)).one()
    with pytest.raises(Invalid) as err:
        teams.create(session, user=town.user(COORDINATOR), data=data)
    assert err.value.code == code
    session.rollback()
    assert session.exec(select(func.count()).select_from(Team)).one() == before


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_only_the_coordinator_creates_or_changes_teams(session, town, team, phone):
    user = town.user(phone)
    with pytest.raises(Forbidden):
        teams.create(session, user=user, data={"name": "新队", "kind": "auxiliary"})
    with pytest.raises(Forbidden):
        teams.update(session, user=user, team_id=team.id, data={"name": "改名", "kind": "auxiliary"})
    with pytest.raises(Forbidden):
        teams.add_member(session, user=user, team_id=team.id, data={"phone": VOLUNTEER})


def test_renaming_keeps_its_own_name_free_and_is_audited(session, town, team):
    teams.update(session, user=town.user(COORDINATOR), team_id=team.id, data={"name": "东街应急单元", "kind": "auxiliary"})
    teams.update(session, user=town.user(COORDINATOR), team_id=team.id, data={"name": "东街一号单元", "kind": "auxiliary"})
    assert session.get(Team, team.id).name == "东街一号单元"
    assert events(session, "team.update")[-1].detail["before"]["name"] == "东街应急单元"


def test_members_are_added_by_phone_in_any_spelling_and_once(session, town, team):
    coordinator = town.user(COORDINATOR)
    person = teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": "１３８０００００２０１"})
    assert person.phone == VOLUNTEER
    with pytest.raises(Conflict):
        teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": VOLUNTEER})
    with pytest.raises(Invalid):
        teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": "13999999999"})
    with pytest.raises(Invalid):
        teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": ""})
    assert [m.phone for m in teams.members(session, team)] == [VOLUNTEER]


def test_the_leader_must_be_an_active_member(session, town, team):
    coordinator = town.user(COORDINATOR)
    volunteer = town.user(VOLUNTEER)
    with pytest.raises(Invalid) as err:
        teams.set_leader(session, user=coordinator, team_id=team.id, data={"leader_id": str(volunteer.id)})
    assert err.value.code == "not_a_member"
    teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": VOLUNTEER})
    teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": "13800000224"})  # suspended
    with pytest.raises(Invalid) as err:
        teams.set_leader(session, user=coordinator, team_id=team.id, data={"leader_id": str(town.user("13800000224").id)})
    assert err.value.code == "not_active"
    teams.set_leader(session, user=coordinator, team_id=team.id, data={"leader_id": str(volunteer.id)})
    assert session.get(Team, team.id).leader_id == volunteer.id
    teams.set_leader(session, user=coordinator, team_id=team.id, data={"leader_id": ""})
    assert session.get(Team, team.id).leader_id is None
    assert len(events(session, "team.leader")) == 2


def test_a_leader_who_leaves_stops_leading(session, town, team):
    coordinator, volunteer = town.user(COORDINATOR), town.user(VOLUNTEER)
    teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": VOLUNTEER})
    teams.set_leader(session, user=coordinator, team_id=team.id, data={"leader_id": volunteer.id})
    teams.remove_member(session, user=coordinator, team_id=team.id, person_id=volunteer.id)
    session.expire_all()
    assert session.get(Team, team.id).leader_id is None
    assert session.get(TeamMember, (team.id, volunteer.id)) is None
    with pytest.raises(NotFound):
        teams.remove_member(session, user=coordinator, team_id=team.id, person_id=volunteer.id)
    assert len(events(session, "team.remove_member")) == 1


def test_officers_see_teams_with_people_in_their_grids_only(session, town, team):
    coordinator = town.user(COORDINATOR)
    teams.add_member(session, user=coordinator, team_id=team.id, data={"phone": VOLUNTEER_G3})
    assert team.id in {t.id for t in teams.visible_teams(session, town.user(OFFICER_G34))}
    assert team.id not in {t.id for t in teams.visible_teams(session, town.user(OFFICER_G12))}
    assert teams.visible(session, town.user(OFFICER_G34), team.id).id == team.id
    with pytest.raises(NotFound):
        teams.visible(session, town.user(OFFICER_G12), team.id)
    with pytest.raises(Forbidden):
        teams.visible_teams(session, town.user(VOLUNTEER))


def test_another_stations_team_does_not_exist(session, town):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    foreign = Team(station_id=other.id, name="外队", kind="auxiliary")
    session.add(foreign)
    stranger = User(station_id=other.id, phone="13999999999", name="外站协调", password_hash="x", role="coordinator")
    session.add(stranger)
    session.commit()
    with pytest.raises(NotFound):
        teams.visible(session, town.user(COORDINATOR), foreign.id)
    with pytest.raises(Invalid):  # our volunteer is not at their station
        teams.add_member(session, user=stranger, team_id=foreign.id, data={"phone": VOLUNTEER})
    assert [t.id for t in teams.visible_teams(session, stranger)] == [foreign.id]
