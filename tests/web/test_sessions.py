"""Sessions that end (issue 14, finding 1): a session or remember cookie copied before logout, a password reset or a
password change is replayed afterwards and must not work; a forced password change holds on the API too; logins end
when idle or too old."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, VOLUNTEER
from volunteers import accounts, demo
from volunteers.models import ApiToken, UserSession, utcnow
from volunteers.demo import PASSWORD

NEW_PASSWORD = "Qingshi2026"
POINT = (demo.ORIGIN[0] + 1.5 * demo.STEP_LAT, demo.ORIGIN[1] + 0.5 * demo.STEP_LON)  # inside G1


def copy_cookies(client) -> dict[str, str]:
    """The session and remember cookies as they are now, to replay from another client later."""
    return {name: client.get_cookie(name).value for name in ("session", "remember_token") if client.get_cookie(name)}


def replay(app, cookies: dict[str, str], only: str | None = None):
    """A fresh client carrying the copied cookies (or just one of them)."""
    thief = app.test_client()
    for name, value in cookies.items():
        if only is None or name == only:
            thief.set_cookie(name, value)
    return thief


def report(client, **headers):
    data = {"client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire", "description": "楼道堆放纸箱",
            "lat": str(POINT[0]), "lon": str(POINT[1]), "accuracy_m": "12"}
    return client.post("/api/v1/hazards", data=data, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reset_by_coordinator(login_as, town, phone=VOLUNTEER) -> str:
    answer = login_as(COORDINATOR).post(f"/people/{town.user(phone).id}/password")
    assert answer.status_code == 200, answer.text
    return re.search(r'class="big-code">([^<]+)</strong>', answer.text).group(1)


def test_both_cookies_of_a_login_work_before_logout(app, login_as):
    cookies = copy_cookies(login_as(VOLUNTEER))
    assert set(cookies) == {"session", "remember_token"}
    for name in cookies:
        assert replay(app, cookies, only=name).get("/api/v1/me").status_code == 200, name


@pytest.mark.parametrize("cookie", ["session", "remember_token", None])
def test_a_cookie_copied_before_logout_is_refused_afterwards(app, login_as, cookie):
    phone = login_as(VOLUNTEER)
    cookies = copy_cookies(phone)
    assert phone.post("/logout").status_code == 302
    assert phone.get("/api/v1/me").status_code == 401
    assert replay(app, cookies, only=cookie).get("/api/v1/me").status_code == 401


def test_logout_on_one_phone_keeps_the_persons_other_phones_logged_in(app, login_as):
    first, second = login_as(VOLUNTEER), login_as(VOLUNTEER)
    assert first.post("/logout").status_code == 302
    assert second.get("/api/v1/me").status_code == 200
    assert report(second).status_code == 201


def test_after_a_reset_the_old_session_and_token_cannot_report(app, login_as, town, session):
    phone = login_as(VOLUNTEER)
    cookies = copy_cookies(phone)
    token = accounts.issue_token(session, user=town.user(VOLUNTEER))
    assert report(phone).status_code == 201 and report(app.test_client(), **bearer(token)).status_code == 201

    reset_by_coordinator(login_as, town)
    for name in cookies:
        assert report(replay(app, cookies, only=name)).status_code == 401, name
    assert report(phone).status_code == 401
    assert report(app.test_client(), **bearer(token)).status_code == 401
    session.expire_all()
    assert session.exec(select(ApiToken).where(ApiToken.user_id == town.user(VOLUNTEER).id)).all() == []


def test_a_forced_password_change_holds_on_the_api_except_for_me(app, login_as, client, town):
    temporary = reset_by_coordinator(login_as, town)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": temporary}).status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    for answer in (report(client), client.get("/api/v1/checkpoints"), client.get("/api/v1/hazards")):
        assert answer.status_code == 403 and answer.json["error"]["code"] == "password_change_required", answer.text
        assert answer.json["error"]["message"]
    done = client.post("/account/password", data={"current": temporary, "password": NEW_PASSWORD,
                                                   "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert report(client).status_code == 201


def test_a_new_password_ends_the_other_sessions_and_tokens_but_not_this_one(app, login_as, town, session):
    other_phone, this_phone = login_as(VOLUNTEER), login_as(VOLUNTEER)
    cookies = copy_cookies(other_phone)
    token = accounts.issue_token(session, user=town.user(VOLUNTEER))
    done = this_phone.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                       "password2": NEW_PASSWORD})
    assert done.status_code == 302, done.text
    assert this_phone.get("/api/v1/me").status_code == 200
    assert report(this_phone).status_code == 201
    assert other_phone.get("/api/v1/me").status_code == 401
    for name in cookies:
        assert replay(app, cookies, only=name).get("/api/v1/me").status_code == 401, name
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_another_persons_new_password_touches_nobody_else(app, login_as, town, session):
    bystander = login_as(COORDINATOR)
    login_as(VOLUNTEER).post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                         "password2": NEW_PASSWORD})
    assert bystander.get("/api/v1/me").status_code == 200


def test_a_forged_or_old_style_id_is_not_a_login(app, town):
    """A session cookie naming the user id alone (the format before sessions were rows) or a wrong nonce."""
    for forged in (str(town.user(VOLUNTEER).id), f"{town.user(VOLUNTEER).id}:1:wrong", "x:y:z", ""):
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = forged
        assert client.get("/api/v1/me").status_code == 401, forged


def age(session, client_cookie_user: int, **shift):
    """Move every login of this user back in time."""
    for row in session.exec(select(UserSession).where(UserSession.user_id == client_cookie_user)):
        for field, days in shift.items():
            setattr(row, field, getattr(row, field) - timedelta(days=days))
        session.add(row)
    session.commit()


def test_a_login_unused_for_longer_than_the_idle_time_ends(app, login_as, town, session):
    assert app.config["SESSION_IDLE_DAYS"] == 30 and app.config["SESSION_MAX_DAYS"] == 90
    phone = login_as(VOLUNTEER)
    cookies = copy_cookies(phone)
    age(session, town.user(VOLUNTEER).id, created_at=8, last_seen_at=8)  # opened once a week: still logged in
    assert phone.get("/api/v1/me").status_code == 200
    age(session, town.user(VOLUNTEER).id, created_at=31, last_seen_at=31)
    assert phone.get("/api/v1/me").status_code == 401
    assert replay(app, cookies, only="remember_token").get("/api/v1/me").status_code == 401


def test_a_login_used_every_day_still_ends_at_its_absolute_lifetime(app, login_as, town, session):
    phone = login_as(VOLUNTEER)
    age(session, town.user(VOLUNTEER).id, created_at=89)
    assert phone.get("/api/v1/me").status_code == 200
    age(session, town.user(VOLUNTEER).id, created_at=2)
    assert phone.get("/api/v1/me").status_code == 401


def test_the_limits_are_configurable(make_app):
    app = make_app(SESSION_IDLE_DAYS=7, SESSION_MAX_DAYS=30)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=30)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


def test_last_seen_is_written_only_now_and_then(app, login_as, town, session):
    phone = login_as(VOLUNTEER)
    row = session.exec(select(UserSession).where(UserSession.user_id == town.user(VOLUNTEER).id)).one()
    seen = row.last_seen_at
    phone.get("/api/v1/me")
    session.refresh(row)
    assert row.last_seen_at == seen
    age(session, town.user(VOLUNTEER).id, last_seen_at=1)
    phone.get("/api/v1/me")
    session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_a_token_call_sets_no_cookie_and_a_cookie_login_still_keeps_and_ends_its_session(app, login_as, town, client):
    """The cookie session's shortcut for a call nobody's session was touched by (issue 13): a Bearer-token answer
    sets no cookie at all, while a browser login still gets its cookie, and logging out still ends it."""
    token = accounts.issue_token(town.session, user=town.user(VOLUNTEER))
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers.getlist("Set-Cookie") == []
    assert "Cookie" in answer.headers["Vary"]  # Flask-Login read the (empty) session: a cache must still key on it
    browser = app.test_client()
    login = browser.post("/login", data={"phone": VOLUNTEER, "password": PASSWORD})
    assert login.status_code == 302
    assert any(c.startswith("session=") for c in login.headers.getlist("Set-Cookie"))
    assert "Cookie" in login.headers.get("Vary", "")
    assert browser.get("/api/v1/me").status_code == 200  # the cookie carries the login
    assert browser.post("/logout").status_code == 302
    assert browser.get("/api/v1/me").status_code == 401
