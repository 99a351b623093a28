"""Messages: the unread count in the header, the list with links to the report, read once opened."""
from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from volunteers import hazards
from volunteers.models import Notification
from volunteers.photos import PhotoStore

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER

HX = {"HX-Request": "true"}


def badge(html: str) -> int:
    found = re.search(r'id="notification-badge">[^<]*<span class="badge"[^>]*>(\d+)</span>', html)
    return int(found.group(1)) if found else 0


@pytest.fixture
def reported(app, session, town):
    """A hazard reported by the G1 volunteer (which notifies the G1 officer)."""
    data = {"client_id": "0b9e7b1c-5d1e-4f6a-9a55-3c2d1e0f9a8b", "kind": "hazard", "category": "fire",
            "lat": "30.2535", "lon": "120.0952"}
    hazard, _ = hazards.report(session, user=town.user(VOLUNTEER), data=data, uploads=[],
                               store=PhotoStore(app.config["DATA_DIR"]))
    return hazard


def unread(session, user) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Notification)
                        .where(Notification.user_id == user.id, Notification.read_at.is_(None))).one()


def test_a_new_report_shows_in_the_officers_badge_and_list(english, reported, session, town):
    officer = english(OFFICER_G12)
    assert badge(officer.get("/").text) == 1
    page = officer.get("/notifications/")
    assert page.status_code == 200 and "<html" in page.text
    assert f"Report #{reported.id} “Fire safety”: new in your grid" in page.text
    assert f'href="/hazards/{reported.id}/thread"' in page.text and 'class="new"' in page.text
    assert badge(page.text) == 0  # opening the list reads them
    assert unread(session, town.user(OFFICER_G12)) == 0
    again = officer.get("/notifications/")
    assert f"Report #{reported.id} “Fire safety”" in again.text and 'class="new"' not in again.text


def test_the_other_grids_officer_is_not_told(english, reported):
    page = english(OFFICER_G34).get("/notifications/")
    assert badge(english(OFFICER_G34).get("/").text) == 0
    assert f"#{reported.id}" not in page.text and "No messages yet." in page.text


def test_the_reporter_is_told_when_the_status_changes(english, reported, session, town):
    volunteer = english(VOLUNTEER)
    assert badge(volunteer.get("/").text) == 0
    english(OFFICER_G12).post(f"/hazards/{reported.id}/transition", data={"to": "accepted"})
    assert badge(volunteer.get("/hazards/mine").text) == 1
    page = volunteer.get("/notifications/")
    assert "Your report “Fire safety”: Accepted" in page.text


def test_messages_are_translated_when_shown(login_as, reported):
    officer = login_as(OFFICER_G12)
    officer.post("/lang", data={"lang": "zh_CN"})
    text = officer.get("/notifications/").text
    assert f"#{reported.id}" in text and "%(id)" not in text


def test_the_list_as_a_partial(english, reported):
    partial = english(OFFICER_G12).get("/notifications/", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<ul class="rows" id="notification-list"')
    assert f"Report #{reported.id} “Fire safety”" in partial.text


def test_strangers_have_no_badge_and_are_sent_to_log_in(client):
    assert 'id="notification-badge"' not in client.get("/login").text
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
