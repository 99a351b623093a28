"""GET /api/v1/hours: a filter naming a volunteer, team or grid outside the caller's scope is 404, as
docs/decisions.md says (issue 14, finding 9)."""
from __future__ import annotations

from sqlmodel import select

from tests.web.test_api_hours import period
from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers.models import Team, TeamMember, User


def hours(client, **filters):
    return client.get("/api/v1/hours", query_string=period() | filters)


def team_living_only_in(town, codes):
    """A team whose members all live in these grids."""
    grids = {town.grid(c).id for c in codes}
    for team in town.session.exec(select(Team).order_by(Team.id)):
        homes = {u.home_grid_id for u in town.session.exec(
            select(User).join(TeamMember, TeamMember.user_id == User.id).where(TeamMember.team_id == team.id))}
        if homes and homes <= grids:
            return team
    return None


def test_an_officer_naming_a_volunteer_of_another_officers_grid_gets_404(login_as, town):
    officer = login_as(OFFICER_G12)
    outsider = town.user(VOLUNTEER_G3)
    response = hours(officer, volunteer=outsider.id)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert hours(officer, volunteer=town.user(VOLUNTEER).id).status_code == 200
    assert hours(login_as(OFFICER_G34), volunteer=outsider.id).status_code == 200
    assert hours(login_as(COORDINATOR), volunteer=outsider.id).status_code == 200


def test_a_volunteer_naming_someone_else_gets_404(login_as, town):
    response = hours(login_as(VOLUNTEER), volunteer=town.user(VOLUNTEER_G3).id)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_an_officer_naming_a_grid_outside_their_own_gets_404(login_as, town):
    officer = login_as(OFFICER_G12)
    assert hours(officer, grid=town.grid("G3").id).status_code == 404
    assert hours(officer, grid=town.grid("G1").id).status_code == 200


def test_an_officer_naming_a_team_with_nobody_in_their_grids_gets_404(login_as, town):
    officer = login_as(OFFICER_G12)
    team = team_living_only_in(town, ["G3", "G4"])
    if team is None:  # the demo's teams mix grids: make one that lives in G3 only
        team = Team(station_id=town.user(VOLUNTEER_G3).station_id, name="G3 only", kind="义警队")
        town.session.add(team)
        town.session.flush()
        town.session.add(TeamMember(team_id=team.id, user_id=town.user(VOLUNTEER_G3).id))
        town.session.commit()
    response = hours(officer, team=team.id)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert hours(login_as(COORDINATOR), team=team.id).status_code == 200
