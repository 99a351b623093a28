"""CSRF on /api/v1 is skipped only for a request a valid Bearer token authenticated (issue 14, finding 2)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from tests.conftest import VOLUNTEER
from volunteers import accounts, demo
from volunteers.models import User

CID = "0b4c1c1e-5a8e-4a52-9f0e-8d6a3d2f0c11"


@pytest.fixture
def browser(make_app):
    """A client logged in by session cookie to an app that checks CSRF tokens, and a Bearer token of the same user."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as db:
        demo.build(db)
        token = accounts.issue_token(db, user=db.exec(select(User).where(User.phone == VOLUNTEER)).one())
    client = app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    return client, token


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer not-a-real-token", "Bearer ", "Token abc", "x"])
def test_a_session_request_with_some_other_authorization_header_still_needs_the_csrf_token(browser, header):
    client, _token = browser
    response = client.post("/api/v1/patrols", json={"client_id": CID}, headers={"Authorization": header})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf" and response.json["error"]["message"]


def test_a_valid_bearer_token_still_needs_no_csrf_token(browser):
    client, token = browser
    response = client.post("/api/v1/patrols", json={"client_id": CID}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), response.text
