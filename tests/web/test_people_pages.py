"""Sign-up and people pages: the whole sign-up flow with the test client, the list (full page and htmx partial,
phones masked), a person's page, the account steps, and who may reach what."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import demo
from volunteers.models import AuditEvent, Grid, Station, User

HX = {"HX-Request": "true"}
PENDING_G1 = "13800000223"


def signup_form(town, **overrides) -> dict:
    data = {"phone": "１３９ １２３４ ５６７８", "name": "新志愿者", "password": "qingshi2026", "password2": "qingshi2026",
            "grid": str(town.grid("G1").id)}
    data.update(overrides)
    return data


def users(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(User)).one()


# --- Signing up -----------------------------------------------------------------------------------

def test_the_login_page_links_to_the_sign_up_form_which_lists_grids_by_name_and_teams(client, town):
    assert 'href="/signup/"' in client.get("/login").text
    page = client.get("/signup/")
    assert page.status_code == 200
    assert "东街社区" in page.text and "南山村" in page.text and "护学岗队" in page.text
    assert 'name="password2"' in page.text and 'name="csrf_token"' in page.text


def test_sign_up_then_pending_then_approved_then_log_in(app, client, town, session, english):
    response = client.post("/signup/", data=signup_form(town, team_ids=[]))
    assert response.status_code == 302 and response.headers["Location"].endswith("/signup/done")
    done = client.get("/signup/done")
    assert "陈警官" in done.text and "周协调" in done.text  # who will approve it
    person = session.exec(select(User).where(User.phone == "13912345678")).one()
    assert person.status == "pending"

    refused = app.test_client().post("/login", data={"phone": "13912345678", "password": "qingshi2026"})
    assert refused.status_code == 403 and 'id="login-error"' in refused.text

    officer = english(OFFICER_G12)
    listed = officer.get("/people/?status=pending")
    assert "139****5678" in listed.text and "13912345678" not in listed.text
    assert officer.post(f"/people/{person.id}/approve").status_code == 302

    fresh = app.test_client()
    assert fresh.post("/login", data={"phone": "13912345678", "password": "qingshi2026"}).status_code == 302
    assert fresh.get("/").status_code == 200


@pytest.mark.parametrize("field, value, words", [("phone", "12345678901", "not a mainland mobile number"),
                                                 ("phone", VOLUNTEER, "already has an account"),
                                                 ("password", "1234", "at least 8"),
                                                 ("password2", "qingshi2025", "not the same"),
                                                 ("name", "", "enter your name"),
                                                 ("grid", "", "grid you live in")])
def test_a_bad_sign_up_is_422_with_the_reason_and_what_was_typed_but_not_the_password(client, town, session, field,
                                                                                      value, words):
    client.post("/lang", data={"lang": "en"})
    before = users(session)
    response = client.post("/signup/", data=signup_form(town, **{field: value}))
    assert response.status_code == 422
    assert words in response.text and 'id="signup-error"' in response.text
    assert "qingshi2026" not in response.text
    if field != "name":
        assert 'value="新志愿者"' in response.text
    assert users(session) == before


def test_sign_ups_from_one_address_are_throttled(make_app):
    app = make_app(SIGNUP_MAX_PER_IP=2)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
        grid = str(db.exec(select(Grid)).first().id)
    client = app.test_client()
    for n in range(2):
        data = {"phone": f"1391234560{n}", "name": "甲", "password": "qingshi2026", "password2": "qingshi2026", "grid": grid}
        assert client.post("/signup/", data=data).status_code == 302
        client = app.test_client()
    data = {"phone": "13912345699", "name": "甲", "password": "qingshi2026", "password2": "qingshi2026", "grid": grid}
    assert client.post("/signup/", data=data).status_code == 429


def test_sign_up_is_csrf_protected(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
        grid = str(db.exec(select(Grid)).first().id)
    client = app.test_client()
    data = {"phone": "13912345678", "name": "甲", "password": "qingshi2026", "password2": "qingshi2026", "grid": grid}
    assert client.post("/signup/", data=data).status_code == 400  # no token: an expired form, not a login redirect
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signup/").text).group(1)
    assert client.post("/signup/", data={**data, "csrf_token": token}).status_code == 302


def test_logged_in_people_are_sent_home_from_the_sign_up_form(login_as):
    client = login_as(VOLUNTEER)
    assert client.get("/signup/").status_code == 302
    assert client.get("/signup/done").status_code == 302


# --- The list -------------------------------------------------------------------------------------------

def test_the_coordinator_sees_the_whole_station_pending_first_with_masked_phones(login_as, town):
    page = login_as(COORDINATOR).get("/people/")
    assert page.status_code == 200 and 'id="people-filters"' in page.text
    phones = re.findall(r"1\d\d\*\*\*\*\d{4}", page.text)
    assert phones and not re.search(r"1[3-9]\d{9}", page.text.replace(COORDINATOR, ""))
    assert page.text.index("138****0223") < page.text.index("138****0201")  # pending first
    assert 'id="people-next"' not in page.text or "page=2" in page.text


def test_the_list_is_paged_by_fifty(login_as, town, session):
    station = town.user(COORDINATOR).station_id
    for n in range(40):
        session.add(User(station_id=station, phone=f"1370000{n:04d}", name=f"乙{n}", password_hash="x"))
    session.commit()
    client = login_as(COORDINATOR)
    first = client.get("/people/")
    assert 'id="people-next"' in first.text
    second = client.get("/people/?page=2")
    assert second.status_code == 200 and 'rel="prev"' in second.text


def test_the_filters_answer_htmx_with_the_list_only(english, town):
    client = english(COORDINATOR)
    response = client.get(f"/people/?grid={town.grid('G3').id}&status=active", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="people-list"')
    assert "138****0211" in response.text and "138****0201" not in response.text
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    by_name = client.get("/people/?q=0211", headers=HX)
    assert "138****0211" in by_name.text and "138****0212" not in by_name.text


def test_an_officer_sees_only_people_of_their_grids_even_when_asking_for_another(login_as, town):
    client = login_as(OFFICER_G12)
    page = client.get("/people/")
    assert "138****0201" in page.text and "138****0211" not in page.text
    asked = client.get(f"/people/?grid={town.grid('G3').id}")
    assert "138****0211" not in asked.text


@pytest.mark.parametrize("url", ["/people/", "/people/?status=pending"])
def test_volunteers_get_403_on_the_list(login_as, town, url):
    assert login_as(VOLUNTEER).get(url).status_code == 403


# --- A person's page ----------------------------------------------------------------------------------

@pytest.mark.parametrize("viewer, whole", [(VOLUNTEER, True), (OFFICER_G12, True), (COORDINATOR, True)])
def test_the_whole_phone_is_shown_to_the_person_their_officer_and_the_coordinator(login_as, town, viewer, whole):
    page = login_as(viewer).get(f"/people/{town.user(VOLUNTEER).id}")
    assert page.status_code == 200
    assert (VOLUNTEER in page.text) is whole


@pytest.mark.parametrize("viewer", [OFFICER_G34, VOLUNTEER_G3, "13800000202"])
def test_others_are_not_told_the_person_exists(login_as, town, viewer):
    response = login_as(viewer).get(f"/people/{town.user(VOLUNTEER).id}")
    assert response.status_code == 404 and VOLUNTEER not in response.text


def test_the_person_page_as_an_htmx_partial(login_as, town):
    response = login_as(COORDINATOR).get(f"/people/{town.user(VOLUNTEER).id}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text and 'id="person-' in response.text


def test_a_volunteer_gets_no_buttons_on_their_own_page(login_as, town):
    page = login_as(VOLUNTEER).get(f"/people/{town.user(VOLUNTEER).id}")
    assert 'id="person-suspend"' not in page.text and 'id="person-reset"' not in page.text


def test_the_coordinators_page_of_someone_has_the_role_form_the_officers_not(login_as, town):
    person = town.user(VOLUNTEER).id
    assert 'id="person-role"' in login_as(COORDINATOR).get(f"/people/{person}").text
    officer_view = login_as(OFFICER_G12).get(f"/people/{person}").text
    assert 'id="person-role"' not in officer_view and 'id="person-suspend"' in officer_view


def test_nobody_with_a_huge_id_gets_a_500(login_as):
    assert login_as(COORDINATOR).get("/people/99999999999").status_code == 404


# --- Account steps ------------------------------------------------------------------------------------

def test_approving_from_the_list_swaps_the_row(english, town, session):
    person = town.user(PENDING_G1)
    response = english(OFFICER_G12).post(f"/people/{person.id}/approve", data={"view": "row"}, headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<li class="row person-row" id="person-row-{person.id}"')
    assert "Active" in response.text
    session.expire_all()
    assert session.get(User, person.id).status == "active"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "person.approve")).one()
    assert event.ip and event.object_id == person.id


def test_an_illegal_step_is_409_with_the_reason_in_place(english, town, session):
    person = town.user(VOLUNTEER)
    client = english(COORDINATOR)
    response = client.post(f"/people/{person.id}/approve", headers=HX)
    assert response.status_code == 409 and "cannot be changed that way" in response.text
    assert client.post(f"/people/{person.id}/reactivate").status_code == 409


def test_suspending_from_the_person_page_answers_the_card_and_blocks_login(app, login_as, town, session):
    person = town.user(VOLUNTEER)
    response = login_as(OFFICER_G12).post(f"/people/{person.id}/suspend", headers=HX)
    assert response.status_code == 200 and f'id="person-{person.id}"' in response.text
    assert 'id="person-reactivate"' in response.text
    refused = app.test_client().post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD})
    assert refused.status_code == 403


def test_a_suspended_person_is_logged_out_at_once(login_as, town):
    volunteer = login_as(VOLUNTEER)
    assert volunteer.get("/").status_code == 200
    login_as(COORDINATOR).post(f"/people/{town.user(VOLUNTEER).id}/suspend")
    assert volunteer.get("/").status_code == 302


def test_nobody_suspends_themself_or_changes_their_own_role(login_as, town):
    client = login_as(COORDINATOR)
    me = town.user(COORDINATOR).id
    assert client.post(f"/people/{me}/suspend").status_code == 409
    assert client.post(f"/people/{me}/role", data={"role": "volunteer"}).status_code == 409


def test_a_reset_password_is_shown_once_and_works(app, english, town):
    person = town.user(VOLUNTEER)
    response = english(OFFICER_G12).post(f"/people/{person.id}/password", headers=HX)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'<strong class="big-code">(\w+)</strong>', response.text).group(1)
    assert app.test_client().post("/login", data={"phone": VOLUNTEER, "password": temporary}).status_code == 302
    assert "big-code" not in english(OFFICER_G12).get(f"/people/{person.id}").text


def test_the_coordinator_changes_a_role_and_it_is_audited(login_as, town, session):
    person = town.user(VOLUNTEER)
    response = login_as(COORDINATOR).post(f"/people/{person.id}/role", data={"role": "officer"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, person.id).role == "officer"
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "person.role")).one().detail["after"] == "officer"


@pytest.mark.parametrize("role", ["officer", "coordinator"])
def test_an_officer_can_never_give_a_role(login_as, town, session, role):
    person = town.user(VOLUNTEER)
    assert login_as(OFFICER_G12).post(f"/people/{person.id}/role", data={"role": role}).status_code == 403
    session.expire_all()
    assert session.get(User, person.id).role == "volunteer"


def test_a_bad_role_is_422(login_as, town):
    assert login_as(COORDINATOR).post(f"/people/{town.user(VOLUNTEER).id}/role", data={"role": "admin"}).status_code == 422


@pytest.mark.parametrize("suffix", ["approve", "suspend", "reactivate", "password", "role"])
def test_foreign_people_are_404_and_untouched(login_as, town, session, suffix):
    person = town.user(VOLUNTEER_G3)
    response = login_as(OFFICER_G12).post(f"/people/{person.id}/{suffix}", data={"role": "officer"})
    assert response.status_code == 404
    session.expire_all()
    assert (session.get(User, person.id).status, session.get(User, person.id).role) == ("active", "volunteer")


@pytest.mark.parametrize("suffix", ["approve", "suspend", "password", "role"])
def test_volunteers_cannot_act_on_anyone(login_as, town, suffix):
    response = login_as(VOLUNTEER).post(f"/people/{town.user(PENDING_G1).id}/{suffix}", data={"role": "officer"})
    assert response.status_code == 404


def test_a_coordinator_of_another_station_gets_404(app, town, session):
    other = Station(code="XX", name="别的派出所")
    session.add(other)
    session.flush()
    session.add(User(station_id=other.id, phone="13999999999", name="外站协调", role="coordinator",
                     password_hash=town.user(COORDINATOR).password_hash))
    session.commit()
    client = app.test_client()
    assert client.post("/login", data={"phone": "13999999999", "password": demo.PASSWORD}).status_code == 302
    person = town.user(VOLUNTEER).id
    assert client.get(f"/people/{person}").status_code == 404
    assert client.post(f"/people/{person}/suspend").status_code == 404
    assert "138****0201" not in client.get("/people/").text


def test_the_home_page_links_to_people_teams_and_for_the_coordinator_the_audit_log(login_as):
    coordinator = login_as(COORDINATOR).get("/").text
    assert 'id="people-link"' in coordinator and 'id="teams-link"' in coordinator and 'id="audit-link"' in coordinator
    officer = login_as(OFFICER_G12).get("/").text
    assert 'id="people-link"' in officer and 'id="audit-link"' not in officer


# --- After a reset: the person chooses their own password first ---------------------------------------------

def reset_by_officer(english, town, phone=VOLUNTEER) -> str:
    """The G1/G2 officer resets the volunteer's password; the temporary one shown once."""
    answer = english(OFFICER_G12).post(f"/people/{town.user(phone).id}/password")
    assert answer.status_code == 200
    return re.search(r'class="big-code">([^<]+)</strong>', answer.text).group(1)


def test_after_a_reset_every_page_leads_to_choosing_a_new_password_until_it_is_done(english, client, town, session):
    temporary = reset_by_officer(english, town)
    session.expire_all()
    assert town.user(VOLUNTEER).must_change_password
    assert client.post("/login", data={"phone": VOLUNTEER, "password": temporary}).status_code == 302
    for url in ("/", "/tasks/", "/hazards/new", "/hours/"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/password"), url
    assert client.get("/tasks/", headers={"HX-Request": "true"}).headers["HX-Redirect"] == "/account/password"
    assert client.get("/api/v1/me").status_code == 200  # the phone's outbox keeps sending meanwhile
    page = client.get("/account/password")
    assert page.status_code == 200 and 'id="password-required"' in page.text

    wrong = client.post("/account/password", data={"current": "nope", "password": "Qingshi2026", "password2": "Qingshi2026"})
    assert wrong.status_code == 422 and 'id="password-error"' in wrong.text
    weak = client.post("/account/password", data={"current": temporary, "password": "12345678", "password2": "12345678"})
    assert weak.status_code == 422
    same = client.post("/account/password", data={"current": temporary, "password": temporary, "password2": temporary})
    assert same.status_code == 422
    done = client.post("/account/password", data={"current": temporary, "password": "Qingshi2026", "password2": "Qingshi2026"})
    assert done.status_code == 302
    session.expire_all()
    assert not town.user(VOLUNTEER).must_change_password
    assert client.get("/tasks/").status_code == 200
    client.post("/logout")
    assert client.post("/login", data={"phone": VOLUNTEER, "password": temporary}).status_code != 302
    assert client.post("/login", data={"phone": VOLUNTEER, "password": "Qingshi2026"}).status_code == 302


def test_anyone_can_change_their_own_password_from_the_footer(english, town):
    officer = english(OFFICER_G12)
    assert 'href="/account/password"' in officer.get("/").text
    page = officer.get("/account/password")
    assert page.status_code == 200 and 'id="password-required"' not in page.text
    saved = officer.post("/account/password", data={"current": "demo1234", "password": "Jingguan2026",
                                                    "password2": "Jingguan2026"})
    assert saved.status_code == 302


def test_the_officer_sees_a_volunteers_wrong_passwords_and_lets_them_in_again(app, login_as, town, english):
    client = app.test_client()
    for _ in range(5):
        client.post("/login", data={"phone": VOLUNTEER, "password": "wrong"})
    assert client.post("/login", data={"phone": VOLUNTEER, "password": "demo1234"}).status_code == 429
    volunteer = town.user(VOLUNTEER)
    officer = english(OFFICER_G12)
    page = officer.get(f"/people/{volunteer.id}")
    assert 'id="person-failures"' in page.text and "5 wrong passwords" in page.text
    assert english(OFFICER_G34).post(f"/people/{volunteer.id}/lockout").status_code == 404  # not their volunteer
    cleared = officer.post(f"/people/{volunteer.id}/lockout")
    assert cleared.status_code == 302
    assert 'id="person-failures"' not in officer.get(f"/people/{volunteer.id}").text
    assert client.post("/login", data={"phone": VOLUNTEER, "password": "demo1234"}).status_code == 302
