"""Accounts: phone numbers, password checks, throttling, account states, tokens, grids per role."""
from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER, VOLUNTEER_G3
from volunteers import accounts, demo
from volunteers.models import AuditEvent, LoginFailure


@pytest.mark.parametrize("raw, phone", [
    ("13800000201", "13800000201"), ("+86 138-0000-0201", "13800000201"), ("0086 13800000201", "13800000201"),
    (" 138 0000 0201 ", "13800000201"), ("", ""),
])
def test_phone_numbers_are_normalised(raw, phone):
    assert accounts.normalise_phone(raw) == phone


def test_phone_numbers_are_masked_in_lists():
    assert accounts.mask_phone("13800000201") == "138****0201"
    assert accounts.mask_phone("12345") == "*****"


def test_right_password_logs_in_and_is_audited(session, town):
    user = accounts.authenticate(session, phone="+86 13800000201", password=demo.PASSWORD, ip="10.0.0.1")
    assert user.phone == VOLUNTEER
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.actor_id == user.id)).one()


def test_wrong_password_says_how_many_tries_are_left(session, town):
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone=VOLUNTEER, password="nope", ip="10.0.0.1")
    assert (err.value.code, err.value.status, err.value.params["left"]) == ("wrong_password", 401, 4)


def test_five_wrong_passwords_pause_that_phone_number_from_that_address_only(session, town):
    """A stranger typing the owner's number five times stops themself, not the owner on their own phone."""
    for _ in range(5):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(session, phone=VOLUNTEER, password="nope", ip="10.0.0.1")
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.0.0.1")
    assert err.value.code == "throttled" and err.value.status == 429
    assert accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.0.0.2").phone == VOLUNTEER


def test_guessing_one_number_from_many_addresses_is_throttled_everywhere(session, town):
    for n in range(5 * accounts.PHONE_FACTOR):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(session, phone=VOLUNTEER, password="nope", ip=f"10.1.{n // 250}.{n % 250}")
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.0.0.2")
    assert err.value.code == "throttled"


def test_a_village_address_holds_many_honest_mistakes_before_it_is_throttled(session, town):
    for n in range(20):  # what used to lock every account behind a village's one address
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(session, phone=f"1390000{n:04d}", password="x", ip="10.9.9.9")
    assert accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.9.9.9").phone == VOLUNTEER
    for n in range(20, 5 * accounts.ADDRESS_FACTOR):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(session, phone=f"1390000{n:04d}", password="x", ip="10.9.9.9")
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone=VOLUNTEER_G3, password=demo.PASSWORD, ip="10.9.9.9")
    assert err.value.code == "throttled"


def test_an_officer_sees_and_clears_a_lockout(session, town):
    for _ in range(5):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(session, phone=VOLUNTEER, password="nope", ip="10.0.0.1")
    assert accounts.lockouts(session, phones=[VOLUNTEER]) == {VOLUNTEER: 5}
    assert accounts.clear_lockout(session, actor=town.user(OFFICER_G12), user=town.user(VOLUNTEER)) == 5
    assert accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.0.0.1").phone == VOLUNTEER


def test_a_successful_login_clears_the_failures(session, town):
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(session, phone=VOLUNTEER, password="nope", ip="10.0.0.1")
    accounts.authenticate(session, phone=VOLUNTEER, password=demo.PASSWORD, ip="10.0.0.1")
    assert session.exec(select(LoginFailure).where(LoginFailure.phone == VOLUNTEER)).all() == []


@pytest.mark.parametrize("phone, code", [("13800000223", "pending"), ("13800000224", "suspended")])
def test_pending_and_suspended_accounts_are_told_why(session, town, phone, code):
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone=phone, password=demo.PASSWORD, ip="10.0.0.1")
    assert err.value.code == code and err.value.status == 403


def test_an_unknown_phone_fails_like_a_wrong_password(session, town):
    with pytest.raises(accounts.LoginRefused) as err:
        accounts.authenticate(session, phone="13999999999", password=demo.PASSWORD, ip="10.0.0.1")
    assert err.value.code == "wrong_password"


def test_tokens_are_stored_hashed_and_stop_working_when_suspended(session, town):
    user = town.user(VOLUNTEER)
    token = accounts.issue_token(session, user=user)
    assert accounts.user_for_token(session, token).id == user.id
    assert accounts.user_for_token(session, token + "x") is None
    user.status = "suspended"
    session.add(user)
    session.commit()
    assert accounts.user_for_token(session, token) is None


def test_each_role_works_in_its_own_grids(session, town):
    g = {code: town.grid(code).id for code in ("G1", "G2", "G3", "G4")}
    assert accounts.grid_ids(session, town.user(VOLUNTEER)) == [g["G1"]]
    assert accounts.grid_ids(session, town.user("13800000211")) == [g["G3"]]
    assert accounts.grid_ids(session, town.user(OFFICER_G12)) == sorted([g["G1"], g["G2"]])
    assert accounts.grid_ids(session, town.user(COORDINATOR)) == sorted(g.values())
