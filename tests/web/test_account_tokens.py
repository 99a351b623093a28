"""A person's API tokens on their account page (issue 14): listed with their label and times, never the secret;
each revocable with a POST (CSRF, audited); another person's token id is 404."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, VOLUNTEER, VOLUNTEER_G3
from volunteers import accounts, demo
from volunteers.models import ApiToken, AuditEvent, utcnow


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_row(session, token: str) -> ApiToken | None:
    session.expire_all()
    return session.exec(select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())).first()


def test_the_account_page_lists_my_tokens_without_their_secret(app, english, town, session):
    mine = accounts.issue_token(session, user=town.user(VOLUNTEER), label="巡逻脚本 <b>")
    theirs = accounts.issue_token(session, user=town.user(VOLUNTEER_G3), label="G3 的脚本")
    page = english(VOLUNTEER).get("/account/password").text
    row = token_row(session, mine)
    assert f'id="token-{row.id}"' in page and "巡逻脚本 &lt;b&gt;" in page and "never used" in page
    assert mine not in page and row.token_hash not in page
    assert "G3 的脚本" not in page and f'id="token-{token_row(session, theirs).id}"' not in page
    # Once used, it says when.
    assert app.test_client().get("/api/v1/me", headers=bearer(mine)).status_code == 200
    page = english(VOLUNTEER).get("/account/password").text
    assert "never used" not in page and "last used" in page


def test_a_person_without_tokens_is_told_so(english):
    assert 'id="no-tokens"' in english(VOLUNTEER).get("/account/password").text


def test_revoking_my_token_ends_it_and_is_audited(app, english, town, session):
    token = accounts.issue_token(session, user=town.user(VOLUNTEER), label="old phone")
    other = accounts.issue_token(session, user=town.user(VOLUNTEER), label="new phone")
    row = token_row(session, token)
    volunteer = english(VOLUNTEER)
    response = volunteer.post(f"/account/tokens/{row.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    assert "“old phone” no longer works" in volunteer.get("/account/password").text
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer(other)).status_code == 200  # only that one
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "token.revoke")).one()
    assert event.actor_id == town.user(VOLUNTEER).id and event.detail["label"] == "old phone"
    assert volunteer.post(f"/account/tokens/{row.id}/revoke").status_code == 404  # gone is gone


@pytest.mark.parametrize("phone", [VOLUNTEER_G3, COORDINATOR])
def test_someone_elses_token_is_404_even_for_the_coordinator(app, english, town, session, phone):
    token = accounts.issue_token(session, user=town.user(VOLUNTEER))
    row = token_row(session, token)
    assert english(phone).post(f"/account/tokens/{row.id}/revoke").status_code == 404
    for bad in ("999999", "0", str(2 ** 40)):
        assert english(phone).post(f"/account/tokens/{bad}/revoke").status_code == 404
    assert token_row(session, token) is not None
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_revoking_needs_the_csrf_token_and_a_post(make_app, town_with_csrf):
    app, session, user = town_with_csrf
    token = accounts.issue_token(session, user=user, label="script")
    row = token_row(session, token)
    client = app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD, "csrf_token": csrf}).status_code == 302
    assert client.get(f"/account/tokens/{row.id}/revoke").status_code == 405
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 400
    assert token_row(session, token) is not None
    page = client.get("/account/password").text
    csrf = re.search(rf'/account/tokens/{row.id}/revoke">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                     page).group(1)
    assert client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert token_row(session, token) is None


@pytest.fixture
def town_with_csrf(make_app, demo_template, demo_rows):
    """The demo town in an app that checks CSRF tokens."""
    from sqlmodel import Session

    from tests.conftest import CHEAP_DEMO_HASH, insert_demo_rows
    from volunteers.models import User

    app = make_app(WTF_CSRF_ENABLED=True)
    engine = app.extensions["volunteers.engine"]
    with Session(engine, expire_on_commit=False) as s:
        if demo_rows:
            insert_demo_rows(engine, demo_rows)
        else:
            demo.build(s, password_hash=CHEAP_DEMO_HASH)
        yield app, s, s.exec(select(User).where(User.phone == VOLUNTEER)).one()


def test_last_use_is_written_at_most_every_few_minutes(session, town):
    token = accounts.issue_token(session, user=town.user(VOLUNTEER))
    assert token_row(session, token).last_used_at is None
    start = utcnow()
    assert accounts.user_for_token(session, token, now=start).id == town.user(VOLUNTEER).id
    assert token_row(session, token).last_used_at == start
    accounts.user_for_token(session, token, now=start + timedelta(minutes=5))
    assert token_row(session, token).last_used_at == start  # a read, not a write
    accounts.user_for_token(session, token, now=start + timedelta(minutes=11))
    assert token_row(session, token).last_used_at == start + timedelta(minutes=11)


def test_the_token_command_takes_a_label(app, town, session):
    result = app.test_cli_runner().invoke(args=["token", "--phone", VOLUNTEER, "--label", "值班室电脑"])
    assert result.exit_code == 0, result.output
    assert token_row(session, result.output.strip()).label == "值班室电脑"
