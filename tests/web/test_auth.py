"""Logging in by phone number through the login page: success, wrong passwords counted down and throttled, pending and
suspended accounts told why, `next` followed only within the site, logout by POST, and a suspension that takes
effect on the next request."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from volunteers import demo
from volunteers.models import LoginFailure, User

from tests.conftest import OFFICER_G12, VOLUNTEER

EN = {"Accept-Language": "en"}
PENDING, SUSPENDED = "13800000223", "13800000224"


def log_in(client, phone: str, password: str = demo.PASSWORD, next_: str | None = None, **kwargs):
    url = "/login" if next_ is None else f"/login?next={next_}"
    return client.post(url, data={"phone": phone, "password": password}, headers=EN, **kwargs)


def test_the_login_page_asks_for_phone_and_password(client, town):
    page = client.get("/login", headers=EN)
    assert page.status_code == 200 and "<html" in page.text
    assert 'name="phone"' in page.text and 'type="password"' in page.text
    assert 'inputmode="numeric"' in page.text


def test_the_login_page_says_who_to_ask_for_a_forgotten_password_and_how_long_a_lock_lasts(client, town, app):
    page = client.get("/login")
    help_text = page.text.split('id="forgot-password"')[1].split("</details>")[0]
    assert "忘记密码" in help_text and "网格民警" in help_text
    assert f"{app.config['LOGIN_WINDOW_MINUTES']} 分钟" in help_text and str(app.config["LOGIN_MAX_FAILURES"]) in help_text


def test_the_login_page_is_chinese_by_default(client, town):
    page = client.get("/login")
    assert 'lang="zh-CN"' in page.text and "登录" in page.text


def test_a_volunteer_logs_in_and_lands_on_the_start_page(client, town):
    response = log_in(client, VOLUNTEER)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/", headers=EN)
    assert home.status_code == 200 and town.user(VOLUNTEER).name in home.text


@pytest.mark.parametrize("spelling", ["+86 138-0000-0201", "0086 13800000201", " 138 0000 0201 "])
def test_the_phone_number_may_be_written_with_prefix_and_spaces(client, town, spelling):
    assert log_in(client, spelling).status_code == 302


def test_a_wrong_password_is_401_and_says_how_many_tries_are_left(client, town):
    first = log_in(client, VOLUNTEER, "Wr0ngPass")
    assert first.status_code == 401 and "4 tries left" in first.text
    second = log_in(client, VOLUNTEER, "Wr0ngPass")
    assert second.status_code == 401 and "3 tries left" in second.text
    # The phone number stays filled in; the password does not.
    assert 'value="13800000201"' in second.text and "Wr0ngPass" not in second.text


def test_an_unknown_phone_is_answered_like_a_wrong_password(client, town):
    response = log_in(client, "13899999999", "whatever")
    assert response.status_code == 401 and "tries left" in response.text


def test_five_wrong_passwords_lock_the_phone_even_for_the_right_password(client, town):
    statuses = [log_in(client, VOLUNTEER, f"wrong{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = log_in(client, VOLUNTEER)
    assert locked.status_code == 429 and "wait 15 minutes" in locked.text
    assert client.get("/").status_code == 302  # still not logged in
    # Another phone from the same address may still log in.
    assert log_in(client, "13800000202").status_code == 302


def test_a_good_login_clears_the_failures(client, town, session):
    log_in(client, VOLUNTEER, "wrong")
    assert log_in(client, VOLUNTEER).status_code == 302
    session.rollback()
    assert session.exec(select(LoginFailure).where(LoginFailure.phone == VOLUNTEER)).first() is None


@pytest.mark.parametrize("phone, reason", [(PENDING, "waiting for approval"), (SUSPENDED, "suspended")])
def test_pending_and_suspended_accounts_are_403_and_told_why(client, town, phone, reason):
    response = log_in(client, phone)
    assert response.status_code == 403 and reason in response.text
    assert client.get("/").status_code == 302


def test_a_pending_account_with_a_wrong_password_learns_nothing_about_its_state(client, town):
    response = log_in(client, PENDING, "wrong")
    assert response.status_code == 401 and "approval" not in response.text


@pytest.mark.parametrize("target", ["/patrols/", "/hazards/mine?status=all"])
def test_next_is_followed_for_a_path_on_this_site(client, town, target):
    response = log_in(client, VOLUNTEER, next_=target.replace("?", "%3F").replace("=", "%3D"))
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "http://evil.com/patrols/", "/\\evil.com",
                                    "\\\\evil.com", "javascript:alert(1)", "evil.com", "///evil.com",
                                    "%2F%2Fevil.com", "/%5Cevil.com", "/%09/evil.com", "/%0D%0A/evil.com",
                                    "%20//evil.com"])
def test_next_to_another_site_is_refused(client, town, target):
    response = log_in(client, VOLUNTEER, next_=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_logged_in_visit_to_the_login_page_goes_home(login_as):
    response = login_as(VOLUNTEER).get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_logout_is_a_post(login_as):
    client = login_as(VOLUNTEER)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # a GET (a prefetch, an image tag) does not log out
    out = client.post("/logout", headers=EN)
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert "logged out" in client.get("/login", headers=EN).text
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_logout_forgets_the_remember_me_cookie_too(login_as):
    client = login_as(VOLUNTEER)
    assert client.get_cookie("remember_token") is not None
    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    assert client.get("/").status_code == 302


def test_a_volunteer_suspended_after_logging_in_is_logged_out_on_the_next_request(login_as, town, session):
    client = login_as(VOLUNTEER)
    assert client.get("/").status_code == 200
    user = town.user(VOLUNTEER)
    user.status = "suspended"
    session.add(user)
    session.commit()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/patrols", json={"client_id": "00000000-0000-4000-8000-000000000001"}).status_code == 401


def test_an_officer_logs_in_too(login_as):
    assert login_as(OFFICER_G12).get("/").status_code == 200


def test_with_csrf_on_the_login_form_needs_its_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
    client = app.test_client()
    refused = client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD}, headers=EN)
    assert refused.status_code == 400 and "<html" in refused.text and "expired" in refused.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    # Logging out by a cross-site form (no token) does not work either.
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_logins_are_audited(client, town, session):
    from volunteers.models import AuditEvent
    log_in(client, VOLUNTEER)
    session.rollback()
    user = session.exec(select(User).where(User.phone == VOLUNTEER)).one()
    assert session.exec(select(AuditEvent).where(AuditEvent.actor_id == user.id, AuditEvent.action == "login")).first()


def test_a_phone_typed_in_full_width_digits_logs_in(client, town):
    """A Chinese input method in full-width mode types １３８０… — the same number."""
    assert log_in(client, "１３８００００ ０２０１").status_code == 302


def test_full_width_digits_count_towards_the_same_lock(client, town):
    for _ in range(4):
        log_in(client, VOLUNTEER, "wrong")
    assert log_in(client, "１３８０００００２０１", "wrong").status_code == 429
    assert log_in(client, VOLUNTEER).status_code == 429


def test_superscripts_are_not_digits(client, town):
    assert log_in(client, "¹3800000201").status_code == 401
