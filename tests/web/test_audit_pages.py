"""The audit log viewer: only the coordinator, only their station, filters through htmx, 50 a page."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import demo
from volunteers.auditlog import SHANGHAI
from volunteers.models import AuditEvent, Station, User, utcnow

HX = {"HX-Request": "true"}


def test_the_coordinator_sees_who_did_what_to_which_object_when_and_from_where(english, town):
    client = english(COORDINATOR)
    person = town.user("13800000223")
    client.post(f"/people/{person.id}/approve")
    page = client.get("/audit/")
    assert page.status_code == 200 and 'id="audit-filters"' in page.text
    assert '<strong title="person.approve">Account approved</strong>' in page.text
    assert f'href="/people/{person.id}"' in page.text
    assert ">Account approved</option>" in page.text  # the filter menu says it in words too
    assert "from 127.0.0.1" in page.text and "周协调" in page.text


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_officers_and_volunteers_get_403(login_as, phone):
    assert login_as(phone).get("/audit/").status_code == 403
    assert login_as(phone).get("/audit/", headers=HX).status_code == 403


def test_filters_answer_htmx_with_the_list_only(english, town, session):
    client = english(COORDINATOR)
    client.post(f"/people/{town.user('13800000223').id}/approve")
    officer, coordinator = town.user(OFFICER_G12), town.user(COORDINATOR)
    response = client.get(f"/audit/?actor={officer.id}", headers=HX)
    assert response.text.lstrip().startswith('<div id="audit-list"') and "<html" not in response.text
    assert '<strong title="person.approve">' not in response.text
    mine = client.get(f"/audit/?actor={coordinator.id}", headers=HX)
    assert '<strong title="person.approve">' in mine.text and '<strong title="login">' in mine.text
    by_action = client.get("/audit/?action=person.approve", headers=HX)
    assert '<strong title="person.approve">' in by_action.text and '<strong title="login">' not in by_action.text
    by_type = client.get("/audit/?object_type=team", headers=HX)
    assert "No events match." in by_type.text


def test_the_date_range_is_in_beijing_days(english, session, town):
    client = english(COORDINATOR)
    old_day = (utcnow() - timedelta(days=40)).date()
    # 00:30 in Beijing is still the day before in UTC: the range must count Beijing days.
    session.add(AuditEvent(actor_id=town.user(COORDINATOR).id, action="old.thing", object_type="",
                           at=datetime.combine(old_day, time(0, 30), SHANGHAI)))
    session.commit()
    shown = '<strong title="old.thing">'
    assert shown not in client.get(f"/audit/?since={(old_day + timedelta(days=2)).isoformat()}", headers=HX).text
    assert shown in client.get(f"/audit/?until={(old_day + timedelta(days=2)).isoformat()}", headers=HX).text
    assert shown in client.get(f"/audit/?since={old_day.isoformat()}&until={old_day.isoformat()}", headers=HX).text
    assert client.get("/audit/?since=not-a-date&actor=abc&before=99999999999").status_code == 200


def test_fifty_a_page_then_older(login_as, session, town):
    actor = town.user(COORDINATOR).id
    session.add_all([AuditEvent(actor_id=actor, action=f"bulk.{n:03d}", object_type="") for n in range(120)])
    session.commit()
    client = login_as(COORDINATOR)
    first = client.get("/audit/?action=")
    assert first.text.count('class="row audit-row"') == 50
    assert '<strong title="bulk.119">' in first.text and '<strong title="bulk.069">' not in first.text
    older = first.text.split('id="audit-next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older)
    assert second.text.count('class="row audit-row"') == 50 
    assert '<strong title="bulk.069">' in second.text and '<strong title="bulk.119">' not in second.text


def test_another_stations_events_are_not_shown(app, session, town):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    stranger = User(station_id=other.id, phone="13999999999", name="外站协调", role="coordinator",
                    password_hash=town.user(COORDINATOR).password_hash)
    session.add(stranger)
    session.add(AuditEvent(actor_id=town.user(COORDINATOR).id, action="ours.secret", object_type=""))
    session.commit()
    client = app.test_client()
    assert client.post("/login", data={"phone": "13999999999", "password": demo.PASSWORD}).status_code == 302
    page = client.get("/audit/")
    assert page.status_code == 200 and "ours.secret" not in page.text and "周协调" not in page.text
    assert session.exec(select(AuditEvent).where(AuditEvent.actor_id == stranger.id)).first() is not None
