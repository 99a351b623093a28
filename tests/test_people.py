"""People rules without HTTP: sign-up checks, who sees and manages whom, every account step allowed and refused,
role changes, phone masking."""
from __future__ import annotations

import pytest
from sqlmodel import select
from werkzeug.security import check_password_hash

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from tests.factories import count
from volunteers import accounts, people
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from volunteers.models import AuditEvent, GridOfficer, Station, Team, TeamMember, User

PENDING, SUSPENDED = "13800000223", "13800000224"  # the demo's pending (G1) and suspended (G3) volunteers


def signup_data(town, **overrides) -> dict:
    data = {"phone": "13912345678", "name": "新志愿者", "password": "qingshi2026", "password2": "qingshi2026",
            "grid": str(town.grid("G1").id), "team_ids": []}
    data.update(overrides)
    return data


# --- Phone numbers and passwords ------------------------------------------------------------------

@pytest.mark.parametrize("raw, phone", [("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"),
                                        ("１３９１２３４５６７８", "13912345678"), ("008619912345678", "19912345678")])
def test_mainland_mobiles_are_accepted_after_normalising(raw, phone):
    assert people.valid_mobile(raw) == phone


@pytest.mark.parametrize("raw, code", [("", "missing_phone"), ("12912345678", "bad_phone"), ("1391234567", "bad_phone"),
                                       ("139123456789", "bad_phone"), ("02887654321", "bad_phone"), ("abc", "missing_phone"),
                                       (None, "missing_phone"), ("11012345678", "bad_phone")])
def test_other_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(Invalid) as err:
        people.valid_mobile(raw)
    assert err.value.code == code and err.value.status == 422


@pytest.mark.parametrize("password, code", [("", "missing_password"), ("abc123", "short_password"),
                                            ("12345678", "weak_password"), ("aaaaaaaa", "weak_password"),
                                            ("abababab", "weak_password"), ("PassWord", "weak_password"),
                                            ("x13912345678", "weak_password"), ("abcdefgh", "weak_password"),
                                            ("x" * 129, "long_password")])
def test_weak_or_short_passwords_are_refused(password, code):
    with pytest.raises(Invalid) as err:
        people.check_password(password, phone="13912345678")
    assert err.value.code == code


def test_a_good_password_typed_twice_differently_is_refused():
    assert people.check_password("qingshi2026", confirm="qingshi2026") == "qingshi2026"
    with pytest.raises(Invalid) as err:
        people.check_password("qingshi2026", confirm="qingshi2025")
    assert err.value.code == "password_mismatch"


@pytest.mark.parametrize("phone, masked", [("13800000201", "138****0201"), ("1380000", "*******"), ("", "")])
def test_masking_keeps_the_first_three_and_last_four_digits(phone, masked):
    assert accounts.mask_phone(phone) == masked


# --- Signing up -----------------------------------------------------------------------------------------

def test_a_sign_up_is_a_pending_volunteer_in_the_grids_station_with_teams_and_an_audit_event(session, town):
    team = session.exec(select(Team)).first()
    user = people.signup(session, data=signup_data(town, team_ids=[str(team.id)]), ip="10.0.0.9")
    assert (user.role, user.status, user.home_grid_id) == ("volunteer", "pending", town.grid("G1").id)
    assert user.station_id == town.grid("G1").station_id
    assert check_password_hash(user.password_hash, "qingshi2026")
    assert session.get(TeamMember, (team.id, user.id)) is not None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "person.signup")).one()
    assert (event.object_id, event.ip) == (user.id, "10.0.0.9")


@pytest.mark.parametrize("phone", [VOLUNTEER, "+86 138 0000 0201", "１３８０００００２０１"])
def test_a_phone_that_has_an_account_cannot_sign_up_again_in_any_spelling(session, town, phone):
    before = count(session, User)
    with pytest.raises(Invalid) as err:
        people.signup(session, data=signup_data(town, phone=phone), ip="10.0.0.9")
    assert err.value.code == "phone_taken" and err.value.status == 422
    session.rollback()
    assert count(session, User) == before


@pytest.mark.parametrize("field, value, code", [("phone", "12345", "bad_phone"), ("name", "  ", "missing_name"),
                                                ("name", "名" * 51, "too_long"), ("password", "short", "short_password"),
                                                ("password2", "different99", "password_mismatch"),
                                                ("grid", "", "missing_grid"), ("grid", "99999", "missing_grid"),
                                                ("grid", "99999999999999", "missing_grid"),
                                                ("team_ids", ["99999"], "unknown_team")])
def test_a_bad_sign_up_saves_nothing(session, town, field, value, code):
    users, members, events = count(session, User), count(session, TeamMember), count(session, AuditEvent)
    team = session.exec(select(Team)).first()
    data = signup_data(town, team_ids=[str(team.id)])
    data[field] = value
    with pytest.raises(Invalid) as err:
        people.signup(session, data=data, ip="10.0.0.9")
    assert err.value.code == code
    session.rollback()
    assert (count(session, User), count(session, TeamMember), count(session, AuditEvent)) == (users, members, events)


def test_a_team_of_another_station_cannot_be_joined(session, town):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    team = Team(station_id=other.id, name="外队", kind="auxiliary")
    session.add(team)
    session.commit()
    with pytest.raises(Invalid) as err:
        people.signup(session, data=signup_data(town, team_ids=[str(team.id)]), ip="10.0.0.9")
    assert err.value.code == "unknown_team"


def test_one_address_may_send_only_a_few_sign_ups_an_hour(session, town):
    for n in range(3):
        people.signup(session, data=signup_data(town, phone=f"1391234560{n}"), ip="10.0.0.7", max_per_ip=3)
    with pytest.raises(Invalid) as err:
        people.signup(session, data=signup_data(town, phone="13912345699"), ip="10.0.0.7", max_per_ip=3)
    assert err.value.status == 429
    people.signup(session, data=signup_data(town, phone="13912345699"), ip="10.0.0.8", max_per_ip=3)


def test_the_approvers_are_the_grids_officers_and_the_coordinator(session, town):
    user = people.signup(session, data=signup_data(town), ip="10.0.0.9")
    officers, coordinators = people.approvers(session, user)
    assert [o.phone for o in officers] == [OFFICER_G12]
    assert [c.phone for c in coordinators] == [COORDINATOR]


# --- Status steps ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, action, end", [("pending", "approve", "active"), ("pending", "suspend", "suspended"),
                                                ("active", "suspend", "suspended"), ("suspended", "reactivate", "active")])
@pytest.mark.parametrize("actor", [COORDINATOR, OFFICER_G12])
def test_allowed_steps(session, town, start, action, end, actor):
    person = town.user("13800000202")
    person.status = start
    session.add(person)
    session.commit()
    people.step(session, user=town.user(actor), person_id=person.id, action=action, ip="1.2.3.4")
    session.expire_all()
    assert session.get(User, person.id).status == end
    event = session.exec(select(AuditEvent).where(AuditEvent.action == f"person.{action}")).one()
    assert event.detail == {"before": start, "after": end} and event.actor_id == town.user(actor).id


@pytest.mark.parametrize("start, action", [("active", "approve"), ("suspended", "approve"), ("suspended", "suspend"),
                                           ("active", "reactivate"), ("pending", "reactivate")])
def test_steps_that_do_not_fit_the_status_are_409(session, town, start, action):
    person = town.user("13800000202")
    person.status = start
    session.add(person)
    session.commit()
    with pytest.raises(Conflict) as err:
        people.step(session, user=town.user(COORDINATOR), person_id=person.id, action=action)
    assert err.value.status == 409 and err.value.params == {"state": people.STATUS_LABELS[start]}
    session.rollback()
    assert session.get(User, person.id).status == start


def test_nobody_suspends_themself(session, town):
    with pytest.raises(Conflict):
        people.step(session, user=town.user(COORDINATOR), person_id=town.user(COORDINATOR).id, action="suspend")


def test_an_officer_manages_only_volunteers_living_in_their_grids(session, town):
    officer = town.user(OFFICER_G12)
    with pytest.raises(NotFound):  # G3 is not theirs: they are not told the person exists
        people.step(session, user=officer, person_id=town.user(SUSPENDED).id, action="reactivate")
    with pytest.raises(NotFound):
        people.step(session, user=officer, person_id=town.user(OFFICER_G34).id, action="suspend")
    people.step(session, user=officer, person_id=town.user(PENDING).id, action="approve")


def test_an_officer_cannot_suspend_a_coordinator_living_in_their_grid(session, town):
    coordinator = town.user(COORDINATOR)
    coordinator.home_grid_id = town.grid("G1").id
    session.add(coordinator)
    session.commit()
    with pytest.raises(Forbidden):
        people.step(session, user=town.user(OFFICER_G12), person_id=coordinator.id, action="suspend")


def test_volunteers_manage_nobody(session, town):
    with pytest.raises(NotFound):
        people.step(session, user=town.user(VOLUNTEER), person_id=town.user(PENDING).id, action="approve")
    with pytest.raises(Forbidden):
        people.search(session, town.user(VOLUNTEER), people.Filters())


def test_a_suspended_leader_stops_leading(session, town):
    person = town.user("13800000202")
    team = session.exec(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                        .where(TeamMember.user_id == person.id)).first()
    team.leader_id = person.id
    session.add(team)
    session.commit()
    people.step(session, user=town.user(COORDINATOR), person_id=person.id, action="suspend")
    session.expire_all()
    assert session.get(Team, team.id).leader_id is None


# --- Passwords and roles --------------------------------------------------------------------------------

def test_a_reset_password_logs_in_and_the_old_one_does_not(session, town):
    person, temporary = people.reset_password(session, user=town.user(OFFICER_G12), person_id=town.user(VOLUNTEER).id)
    assert len(temporary) == 8
    assert accounts.authenticate(session, phone=VOLUNTEER, password=temporary, ip="1.1.1.1").id == person.id
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(session, phone=VOLUNTEER, password="demo1234", ip="1.1.1.1")
    assert count(session, AuditEvent, AuditEvent.action == "person.reset_password") == 1


def test_nobody_resets_their_own_password_here_and_officers_not_outside_their_grids(session, town):
    with pytest.raises(Conflict):
        people.reset_password(session, user=town.user(COORDINATOR), person_id=town.user(COORDINATOR).id)
    with pytest.raises(NotFound):
        people.reset_password(session, user=town.user(OFFICER_G12), person_id=town.user(VOLUNTEER_G3).id)


@pytest.mark.parametrize("role", ["officer", "coordinator", "volunteer"])
def test_the_coordinator_gives_roles(session, town, role):
    person = town.user(VOLUNTEER)
    people.change_role(session, user=town.user(COORDINATOR), person_id=person.id, role=role)
    session.expire_all()
    assert session.get(User, person.id).role == role


def test_an_officer_who_becomes_a_volunteer_gives_up_their_grids(session, town):
    officer = town.user(OFFICER_G12)
    people.change_role(session, user=town.user(COORDINATOR), person_id=officer.id, role="volunteer")
    assert count(session, GridOfficer, GridOfficer.user_id == officer.id) == 0
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "person.role")).one()
    assert event.detail["before"] == "officer" and len(event.detail["grids_released"]) == 2


@pytest.mark.parametrize("role", ["officer", "coordinator", "volunteer"])
def test_an_officer_can_never_change_a_role(session, town, role):
    with pytest.raises(Forbidden):
        people.change_role(session, user=town.user(OFFICER_G12), person_id=town.user(VOLUNTEER).id, role=role)


def test_nobody_changes_their_own_role_and_admin_is_not_given(session, town):
    coordinator = town.user(COORDINATOR)
    with pytest.raises(Conflict):
        people.change_role(session, user=coordinator, person_id=coordinator.id, role="volunteer")
    with pytest.raises(Invalid):
        people.change_role(session, user=coordinator, person_id=town.user(VOLUNTEER).id, role="admin")


def test_a_coordinator_of_another_station_does_not_see_ours(session, town):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    stranger = User(station_id=other.id, phone="13999999999", name="外站协调", password_hash="x", role="coordinator")
    session.add(stranger)
    session.commit()
    with pytest.raises(NotFound):
        people.visible(session, stranger, town.user(VOLUNTEER).id)
    with pytest.raises(NotFound):
        people.change_role(session, user=stranger, person_id=town.user(VOLUNTEER).id, role="officer")
    assert people.search(session, stranger, people.Filters())[1] == 1  # only themself


# --- Lists ------------------------------------------------------------------------------------------------

def test_the_officers_list_holds_only_people_of_their_grids_pending_first(session, town):
    items, total = people.search(session, town.user(OFFICER_G12), people.Filters())
    grids = {town.grid("G1").id, town.grid("G2").id}
    assert total == len(items) and {p.home_grid_id for p in items} <= grids
    assert items[0].status == "pending"
    assert VOLUNTEER_G3 not in {p.phone for p in items}


def test_filters_narrow_the_list(session, town):
    coordinator = town.user(COORDINATOR)
    assert {p.status for p in people.search(session, coordinator, people.Filters(status="suspended"))[0]} == {"suspended"}
    assert {p.role for p in people.search(session, coordinator, people.Filters(role="officer"))[0]} == {"officer"}
    g3 = town.grid("G3").id
    assert {p.home_grid_id for p in people.search(session, coordinator, people.Filters(grid=g3))[0]} == {g3}
    team = session.exec(select(Team)).first()
    found = people.search(session, coordinator, people.Filters(team=team.id))[0]
    assert found and all(session.get(TeamMember, (team.id, p.id)) for p in found)
    assert [p.phone for p in people.search(session, coordinator, people.Filters(q="0201"))[0]] == [VOLUNTEER]
    name = town.user(VOLUNTEER).name
    assert VOLUNTEER in [p.phone for p in people.search(session, coordinator, people.Filters(q=name))[0]]
    assert people.search(session, coordinator, people.Filters(q="%"))[1] == 0


def test_the_whole_phone_goes_to_the_person_their_officer_and_the_coordinator_only(session, town):
    person = town.user(VOLUNTEER)
    assert people.shows_whole_phone(session, person, person)
    assert people.shows_whole_phone(session, town.user(OFFICER_G12), person)
    assert people.shows_whole_phone(session, town.user(COORDINATOR), person)
    assert not people.shows_whole_phone(session, town.user(OFFICER_G34), person)
    assert not people.shows_whole_phone(session, town.user(VOLUNTEER_G3), person)


def test_errors_carry_translatable_messages(session, town):
    with pytest.raises(DomainError) as err:
        people.signup(session, data=signup_data(town, phone="123"), ip="x")
    assert "%(phone)s" in err.value.message and err.value.params == {"phone": "123"}
