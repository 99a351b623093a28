"""The audit log viewer: only the coordinator, only their station, filters through htmx, 50 a page."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import demo
from volunteers.audit import SHANGHAI
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


# --- Readable in Chinese: labels, names, before → after, batches, filters (issue 15) ---------------------------

def recorded_actions() -> set[str]:
    """Every action code the app records: the literal ones in the source, and those made from a code's parts."""
    import pathlib
    import re as regex
    from volunteers import hazards, people, tasks
    root = pathlib.Path(__file__).resolve().parents[2] / "volunteers"
    found = set()
    for path in root.rglob("*.py"):
        found |= set(regex.findall(r'action="([a-z_]+\.[a-z_]+|login|logout)"', path.read_text(encoding="utf-8")))
    found |= {f"hazard.{state}" for state in hazards.STATE_LABELS if state != "reported"}
    found |= {f"person.{step}" for step in people.STEPS}
    found |= {f"assignment.{action}" for action in tasks.ACTIONS}
    found |= {"service_record.derive_patrol", "service_record.derive_assignment", "service_record.approve",
              "service_record.reject", "patrol.start", "checkin.create", "patrol.end", "patrol.discard"}
    return found


def test_every_action_the_app_records_has_a_label_in_chinese():
    from babel.support import Translations
    from volunteers import audit
    actions = recorded_actions()
    assert "user.clear_lockout" in actions and "grid.officers" in actions  # the scan finds them
    missing = sorted(a for a in actions if a not in audit.ACTION_LABELS)
    assert not missing, missing
    zh = Translations.load("translations", ["zh_Hans_CN"])
    untranslated = sorted(a for a in actions if zh.gettext(audit.ACTION_LABELS[a]) == audit.ACTION_LABELS[a])
    assert not untranslated, untranslated


def line_of(html: str, action: str) -> str:
    """The first (newest) line of the log with this action, its items included."""
    lines = html.split('<li class="row audit-row')[1:]
    found = [line for line in lines if f'<span class="audit-what"><strong title="{action}">' in line]
    assert found, action
    assert re.match(r'[^"]*" id="audit-\d+">\s*<span class="audit-when[^>]*>[^<]*</span>\s*<span class="audit-what">',
                    found[0]), found[0][:300]
    return found[0]


def test_a_status_change_reads_as_names_and_words_with_the_time_apart(english, town):
    client = english(COORDINATOR)
    person = town.user("13800000223")
    client.post(f"/people/{person.id}/approve")
    line = line_of(client.get("/audit/").text, "person.approve")
    assert f'<a class="audit-object" href="/people/{person.id}">Person · {person.name}</a>' in line
    assert "Waiting for approval → <strong>Active</strong>" in line
    assert "after=" not in line and "before=" not in line and "user #" not in line
    when = re.search(r'<span class="audit-when[^>]*>([^<]*)</span>', line).group(1)
    assert when.strip() and "Account approved" not in when  # the time on its own, not glued to the action


def test_a_role_change_and_a_new_leader_read_in_words(english, town, session):
    from volunteers.models import Team, TeamMember
    client = english(COORDINATOR)
    promoted = town.user("13800000203")
    assert client.post(f"/people/{promoted.id}/role", data={"role": "officer"}).status_code in (200, 302, 303)
    team, person = session.exec(select(Team, User).join(TeamMember, TeamMember.team_id == Team.id)
                                .join(User, User.id == TeamMember.user_id)
                                .where(User.status == "active", User.role == "volunteer", (Team.leader_id.is_(None)) | (Team.leader_id != User.id))
                                .order_by(Team.id, User.id)).first()
    assert client.post(f"/teams/{team.id}/leader", data={"leader_id": str(person.id)}).status_code in (200, 302, 303)
    html = client.get("/audit/").text
    assert "Volunteer → <strong>Grid officer</strong>" in line_of(html, "person.role")
    leader = line_of(html, "team.leader")
    assert f"→ <strong>{person.name}</strong>" in leader and f'href="/teams/{team.id}">Team · {team.name}</a>' in leader


def test_a_bulk_approval_is_one_line_with_a_count_that_opens_to_its_records(english, town, session):
    from volunteers.models import ServiceRecord
    pending = session.exec(select(ServiceRecord).where(ServiceRecord.status == "pending",
                                                       ServiceRecord.grid_id.in_([town.grid("G1").id, town.grid("G2").id]))
                           ).all()
    assert len(pending) >= 3
    officer = english(OFFICER_G12)
    assert officer.post("/hours/review", data={"decision": "approve", "ids": [str(r.id) for r in pending],
                                               "confirm": "1"}).status_code in (200, 302, 303)
    html = english(COORDINATOR).get("/audit/?action=service_record.approve").text
    assert html.count('class="row audit-row') == 1
    line = line_of(html, "service_record.approve")
    assert f"× {len(pending)} at once" in line and f"Show the {len(pending)} items" in line
    for record in pending:
        assert f'href="/hours/{record.id}">Service hours · ' in line
    assert "servicerecord #" not in html


def test_filters_by_person_object_and_date_together(english, town, session):
    client = english(COORDINATOR)
    approved, other = town.user("13800000223"), town.user("13800000224")
    client.post(f"/people/{approved.id}/approve")
    client.post(f"/people/{other.id}/reactivate")
    coordinator = town.user(COORDINATOR)
    today = utcnow().astimezone(SHANGHAI).date().isoformat()
    one = client.get(f"/audit/?actor={coordinator.id}&object_type=user&object_id={approved.id}&since={today}&until={today}",
                     headers=HX).text
    assert '<strong title="person.approve">' in one and '<strong title="person.reactivate">' not in one
    assert client.get(f"/audit/?object_type=user&object_id={approved.id}&since=2001-01-01&until=2001-01-02",
                      headers=HX).text.count('class="row audit-row') == 0
    page = client.get(f"/audit/?object_type=user&object_id={approved.id}").text
    assert 'id="a-object"' in page and f"Person · {approved.name}" in page  # the page says which object it is
    assert f'href="/audit/?object_type=user&amp;object_id={approved.id}"' in page  # each line links to its object's log


def test_the_object_filter_does_not_reach_another_station(app, session, town):
    other = Station(code="XY", name="别的派出所")
    session.add(other)
    session.flush()
    stranger = User(station_id=other.id, phone="13999999998", name="外站协调", role="coordinator",
                    password_hash=town.user(COORDINATOR).password_hash)
    session.add(stranger)
    session.commit()
    person = town.user("13800000223")
    session.add(AuditEvent(actor_id=town.user(COORDINATOR).id, action="person.approve", object_type="user",
                           object_id=person.id, detail={"before": "pending", "after": "active"}))
    session.commit()
    client = app.test_client()
    assert client.post("/login", data={"phone": "13999999998", "password": demo.PASSWORD}).status_code == 302
    page = client.get(f"/audit/?object_type=user&object_id={person.id}")
    assert page.status_code == 200 and person.name not in page.text and 'title="person.approve"' not in page.text
