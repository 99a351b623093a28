"""Honour pages: the station's honours with the form, recording through htmx, one volunteer's and one team's honours,
and who may record what."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from tests.conftest import CHEAP_DEMO_HASH, COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER
from tests.factories import count
from tests.test_certificates import other_coordinator
from tests.test_commendations import honour
from volunteers.models import Commendation, Team

HX = {"HX-Request": "true"}


def added(session) -> int:
    """Honours beyond the demo town's two."""
    return count(session, Commendation) - 2


def test_the_station_honours_page_lists_honours_and_offers_staff_the_form(english, session, town):
    honour(session, town, COORDINATOR, volunteer_id=town.user(VOLUNTEER).id)
    page = english(OFFICER_G12).get("/commendations/")
    assert page.status_code == 200 and "见义勇为 群众卫士" in page.text and town.user(VOLUNTEER).name in page.text
    assert 'id="honour-form"' in page.text and "Silk banner" in page.text
    volunteer_page = english(VOLUNTEER).get("/commendations/")
    assert volunteer_page.status_code == 200 and "见义勇为 群众卫士" in volunteer_page.text
    assert 'id="honour-form"' not in volunteer_page.text


def test_an_officer_records_an_honour_for_a_volunteer_of_their_grid_through_htmx(english, session, town):
    volunteer = town.user(VOLUNTEER)
    answer = english(OFFICER_G12).post("/commendations/", headers=HX, data={
        "target": f"v{volunteer.id}", "kind": "banner", "title": "热心巡逻 守护平安", "given_by": "东街菜场",
        "awarded_on": "2026-11-02", "note": ""})
    assert answer.status_code == 200 and "<html" not in answer.text and 'id="honour-board"' in answer.text
    assert "热心巡逻 守护平安" in answer.text and "is recorded" in answer.text
    saved = session.exec(select(Commendation).where(Commendation.title == "热心巡逻 守护平安",
                                                   Commendation.given_by == "东街菜场")).one()
    assert saved.volunteer_id == volunteer.id and saved.team_id is None and saved.given_by == "东街菜场"


def test_an_officer_of_another_grid_cannot_commend_and_is_told_why(english, session, town):
    answer = english(OFFICER_G34).post("/commendations/", headers=HX, data={
        "target": f"v{town.user(VOLUNTEER).id}", "kind": "banner", "title": "越权"})
    assert answer.status_code == 403 and "only honour volunteers of your own grids" in answer.text
    assert added(session) == 0


def test_a_volunteer_cannot_record_an_honour(login_as, session, town):
    response = login_as(VOLUNTEER).post("/commendations/", data={"target": f"v{town.user(VOLUNTEER).id}",
                                                                 "title": "自封"})
    assert response.status_code == 403 and added(session) == 0


def test_a_plain_form_post_redirects_to_the_list(login_as, session, town):
    team = session.exec(select(Team).where(Team.name == "义警队")).one()
    response = login_as(COORDINATOR).post("/commendations/", data={"target": f"t{team.id}", "kind": "commendation",
                                                                   "title": "优秀服务队"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/commendations/"
    assert session.exec(select(Commendation).where(Commendation.title == "优秀服务队")).one().team_id == team.id


def test_a_volunteers_and_a_teams_honours_pages_and_partials(english, session, town):
    volunteer = town.user(VOLUNTEER)
    team = session.exec(select(Team).where(Team.name == "义警队")).one()
    honour(session, town, COORDINATOR, volunteer_id=volunteer.id)
    honour(session, town, COORDINATOR, team_id=team.id, title="优秀服务队")
    client = english(VOLUNTEER)
    page = client.get(f"/commendations/volunteers/{volunteer.id}")
    assert page.status_code == 200 and "见义勇为 群众卫士" in page.text and "优秀服务队" not in page.text
    partial = client.get(f"/commendations/teams/{team.id}", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="honours"' in partial.text
    assert "优秀服务队" in partial.text and "见义勇为" not in partial.text


@pytest.mark.parametrize("url", ["/commendations/volunteers/{v}", "/commendations/teams/{t}",
                                 "/commendations/volunteers/99999", "/commendations/teams/99999999999"])
def test_another_stations_coordinator_gets_404(app, session, town, url):
    team = session.exec(select(Team)).first()
    stranger = other_coordinator(session)
    stranger.password_hash = CHEAP_DEMO_HASH
    session.add(stranger)
    session.commit()
    client = app.test_client()
    client.post("/login", data={"phone": stranger.phone, "password": "demo1234"})
    assert client.get(url.format(v=town.user(VOLUNTEER).id, t=team.id)).status_code == 404


@pytest.mark.parametrize("url", ["/commendations/", "/commendations/volunteers/1", "/commendations/teams/1"])
def test_anonymous_visitors_are_sent_to_log_in(client, town, url):
    response = client.get(url)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_honours_show_on_the_volunteers_profile_hours_page_and_the_teams_page(login_as, session, town):
    volunteer = town.user(VOLUNTEER)
    team = session.exec(select(Team).where(Team.name == "义警队")).one()
    honour(session, town, COORDINATOR, team_id=team.id, title="优秀服务队")
    coordinator = login_as(COORDINATOR)
    profile = coordinator.get(f"/people/{volunteer.id}")
    assert profile.status_code == 200 and 'id="person-honours"' in profile.text and "热心巡逻 守护平安" in profile.text
    team_page = coordinator.get(f"/teams/{team.id}")
    assert team_page.status_code == 200 and 'id="team-honours"' in team_page.text and "优秀服务队" in team_page.text
    mine = login_as(VOLUNTEER).get("/hours/")
    assert mine.status_code == 200 and 'id="my-honours"' in mine.text and "热心巡逻 守护平安" in mine.text
