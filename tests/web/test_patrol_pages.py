"""The patrol pages as a person uses them, with and without JavaScript: the start page for volunteers (offline patrol
data and the plain start form) and officers, a patrol with its must-visit points and distances, the no-JS check-in by
QR code or GPS form, ending, and my patrols — each as a full page and, where htmx asks, as just the fragment."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import count
from volunteers import geo, grids
from volunteers.models import CheckIn, Patrol, utcnow

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

HX = {"HX-Request": "true"}


def start_form_client_id(html: str) -> str:
    form = re.search(r'<form method="post" action="/patrols/">(.*?)</form>', html, re.S)
    assert form, "the plain start form is missing"
    return re.search(r'name="client_id" value="([^"]+)"', form.group(1)).group(1)


@pytest.fixture
def on_patrol(english, town):
    """(client, patrol id): volunteer 13800000201 started a patrol through the plain form."""
    client = english(VOLUNTEER)
    response = client.post("/patrols/", data={"client_id": start_form_client_id(client.get("/").text)})
    assert response.status_code == 302
    return client, int(response.headers["Location"].rstrip("/").split("/")[-1])


def assert_full(response):
    assert response.status_code == 200, response.text
    assert "<html" in response.text and "</html>" in response.text
    assert "HX-Request" in response.headers.get("Vary", "")


def assert_fragment(response, starts_with: str, status: int = 200):
    assert response.status_code == status, response.text
    assert "<html" not in response.text and "<head" not in response.text and "<body" not in response.text
    assert response.text.lstrip().startswith(starts_with), response.text[:200]
    assert "HX-Request" in response.headers.get("Vary", "")


# --- Full page and fragment ------------------------------------------------------------------------

def test_the_login_page_as_full_page_and_fragment(client, town):
    assert_full(client.get("/login"))
    fragment = client.get("/login", headers=HX)
    assert_fragment(fragment, '<section class="card">')
    assert 'name="phone"' in fragment.text


def test_a_failed_login_by_htmx_answers_with_the_fragment_and_the_error(client, town):
    response = client.post("/login", data={"phone": VOLUNTEER, "password": "nope"}, headers={**HX, "Accept-Language": "en"})
    assert_fragment(response, '<section class="card">', status=401)
    assert "tries left" in response.text


@pytest.mark.parametrize("phone, marker", [(VOLUNTEER, 'id="patrol-data"'), (OFFICER_G12, "My grids today")])
def test_the_start_page_as_full_page_and_fragment(english, phone, marker):
    client = english(phone)
    page = client.get("/")
    assert_full(page)
    assert marker in page.text
    fragment = client.get("/", headers=HX)
    assert_fragment(fragment, "<")
    assert marker in fragment.text


def test_a_boosted_link_or_a_history_restore_gets_the_whole_page(on_patrol):
    client, patrol_id = on_patrol
    for url in ("/", "/patrols/", f"/patrols/{patrol_id}"):
        for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
            assert_full(client.get(url, headers={**HX, **extra}))


def test_my_patrols_as_full_page_and_fragment(on_patrol):
    client, patrol_id = on_patrol
    page = client.get("/patrols/")
    assert_full(page)
    assert f'id="patrol-{patrol_id}"' in page.text and "running" in page.text
    assert_fragment(client.get("/patrols/", headers=HX), '<ul class="rows" id="patrol-list">')


@pytest.mark.parametrize("suffix", ["", "/checkpoints"])
def test_a_patrol_as_full_page_and_checkpoint_fragment(on_patrol, town, suffix):
    client, patrol_id = on_patrol
    page = client.get(f"/patrols/{patrol_id}{suffix}")
    assert_full(page)
    assert 'id="end-patrol"' in page.text
    fragment = client.get(f"/patrols/{patrol_id}{suffix}", headers=HX)
    assert_fragment(fragment, '<section class="card" id="checkpoints"')
    for cp in town.checkpoints("G1"):
        assert cp.name in fragment.text and f'id="checkpoint-{cp.id}"' in fragment.text
    assert 'id="end-patrol"' not in fragment.text


def test_the_checkpoint_list_shows_distances_from_where_i_stand(on_patrol, town):
    client, patrol_id = on_patrol
    here = (30.2520, 120.0935)
    fragment = client.get(f"/patrols/{patrol_id}/checkpoints?lat={here[0]}&lon={here[1]}", headers=HX)
    assert fragment.status_code == 200
    for cp in town.checkpoints("G1"):
        metres = round(geo.distance_m(here, (cp.lat, cp.lon)))
        row = re.search(rf'id="checkpoint-{cp.id}".*?</li>', fragment.text, re.S).group(0)
        assert f"{metres} m away" in row


@pytest.mark.parametrize("query", ["", "?lat=abc&lon=120", "?lat=95&lon=120", "?lat=30.25"])
def test_without_a_usable_position_no_distances_are_shown(on_patrol, query):
    client, patrol_id = on_patrol
    fragment = client.get(f"/patrols/{patrol_id}/checkpoints{query}", headers=HX)
    assert fragment.status_code == 200 and "m away" not in fragment.text


def test_an_unknown_patrol_page_is_a_404_page(english, town):
    page = english(VOLUNTEER).get("/patrols/999999")
    assert page.status_code == 404 and "<html" in page.text and "does not exist" in page.text


# --- Start pages -----------------------------------------------------------------------------------

def test_the_officer_start_page_lists_their_grids_only(english, town):
    page = english(OFFICER_G12).get("/")
    assert page.status_code == 200
    for code in ("G1", "G2"):
        grid = town.grid(code)
        assert f'id="grid-{grid.id}"' in page.text and f"{code} · {grid.name}" in page.text
    for code in ("G3", "G4"):
        assert f'id="grid-{town.grid(code).id}"' not in page.text and f"{code} · " not in page.text
    assert 'id="patrol-data"' not in page.text


def test_the_other_officer_and_the_coordinator_see_their_grids(english, town):
    page = english(OFFICER_G34).get("/").text
    assert f'id="grid-{town.grid("G3").id}"' in page and f'id="grid-{town.grid("G1").id}"' not in page
    page = english(COORDINATOR).get("/").text
    assert all(f'id="grid-{town.grid(c).id}"' in page for c in ("G1", "G2", "G3", "G4"))


def test_the_officer_start_page_shows_who_is_on_patrol(on_patrol, english, town):
    page = english(OFFICER_G12).get("/").text
    assert town.user(VOLUNTEER).name in page and "138****0201" in page and "13800000201" not in page


def patrol_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="patrol-data">(.*?)</script>', html, re.S)
    assert match, "the offline patrol data is missing"
    return json.loads(match.group(1))


@pytest.mark.parametrize("phone, code", [(VOLUNTEER, "G1"), (VOLUNTEER_G3, "G3")])
def test_the_volunteer_start_page_carries_the_route_for_an_offline_patrol(english, town, phone, code):
    data = patrol_data(english(phone).get("/").text)
    route = grids.first_route(town.session, town.grid(code).id)
    expected = grids.route_checkpoints(town.session, route.id)
    assert len(expected) >= 2
    assert [c["id"] for c in data["checkpoints"]] == [cp.id for cp in expected]
    assert data["checkpoints"][0] == {"id": expected[0].id, "name": expected[0].name, "lat": expected[0].lat,
                                      "lon": expected[0].lon, "radius_m": expected[0].radius_m}
    assert data["patrol"] is None and data["user"] == town.user(phone).id
    assert data["urls"]["start"] == "/api/v1/patrols" and data["urls"]["checkins"] == "/api/v1/patrols/{id}/checkins"


def test_the_patrol_data_cannot_break_out_of_its_script_tag(english, town, session):
    cp = town.checkpoints("G1")[0]
    cp.name = "</script><script>alert(1)</script>"
    session.add(cp)
    session.commit()
    html = english(VOLUNTEER).get("/").text
    assert "<script>alert(1)" not in html
    assert patrol_data(html)["checkpoints"][0]["name"] == cp.name


def test_the_volunteer_start_page_works_without_javascript(english, town):
    html = english(VOLUNTEER).get("/").text
    assert 'id="start-patrol"' in html and 'type="submit"' in html
    start_form_client_id(html)
    # The app card waits hidden for the script; the plain card is visible.
    assert re.search(r'id="patrol-app"[^>]*\bhidden\b', html)


def test_the_start_form_carries_a_fresh_client_id_each_time(english, town):
    client = english(VOLUNTEER)
    assert start_form_client_id(client.get("/").text) != start_form_client_id(client.get("/").text)


def test_a_double_submitted_start_form_starts_one_patrol(english, town, session):
    client = english(VOLUNTEER)
    client_id = start_form_client_id(client.get("/").text)
    before = count(session, Patrol)
    first = client.post("/patrols/", data={"client_id": client_id})
    second = client.post("/patrols/", data={"client_id": client_id})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(session, Patrol) == before + 1
    # A stale form (another client_id) while a patrol runs is refused, not a second patrol.
    stale = client.post("/patrols/", data={"client_id": "00000000-0000-4000-8000-000000000099"})
    assert stale.status_code == 409 and "already have a patrol running" in stale.text and "<html" in stale.text
    assert count(session, Patrol) == before + 1


@pytest.mark.parametrize("client_id", ["", "nope"])
def test_a_start_form_without_a_proper_client_id_is_400(english, town, session, client_id):
    before = count(session, Patrol)
    assert english(VOLUNTEER).post("/patrols/", data={"client_id": client_id}).status_code == 400
    assert count(session, Patrol) == before


def test_on_patrol_the_start_page_continues_the_patrol(on_patrol):
    client, patrol_id = on_patrol
    html = client.get("/").text
    assert f'href="/patrols/{patrol_id}"' in html and "Continue patrol" in html
    assert 'id="start-patrol"' not in html
    assert patrol_data(html)["patrol"]["id"] == patrol_id


# --- Check in and end without JavaScript -------------------------------------------------------------

def qr_form(app, cp, n: int = 1) -> dict:
    return {"client_id": f"00000000-0000-4000-8000-{n:012d}", "checkpoint_id": str(cp.id),
            "qr": grids.qr_code(cp, app.config["SECRET_KEY"]), "lat": "", "lon": "", "accuracy_m": "",
            "recorded_at": ""}


def test_the_patrol_page_offers_a_qr_form_per_checkpoint(on_patrol, town):
    client, patrol_id = on_patrol
    html = client.get(f"/patrols/{patrol_id}").text
    for cp in town.checkpoints("G1"):
        row = re.search(rf'id="checkpoint-{cp.id}".*?</li>', html, re.S).group(0)
        assert f'action="/patrols/{patrol_id}/checkins"' in row and 'name="qr"' in row
        assert f'name="checkpoint_id" value="{cp.id}"' in row and 'name="client_id"' in row


def test_a_qr_check_in_by_plain_form_redirects_and_says_thank_you(on_patrol, town, app, session):
    client, patrol_id = on_patrol
    cp = town.checkpoints("G1")[1]
    before = count(session, CheckIn)
    response = client.post(f"/patrols/{patrol_id}/checkins", data=qr_form(app, cp))
    assert response.status_code == 302 and response.headers["Location"] == f"/patrols/{patrol_id}"
    page = client.get(response.headers["Location"])
    assert "Checked in. Thank you!" in page.text
    row = re.search(rf'id="checkpoint-{cp.id}".*?</li>', page.text, re.S).group(0)
    assert "✓" in row and 'name="qr"' not in row
    assert count(session, CheckIn) == before + 1
    checkin = session.exec(select(CheckIn).where(CheckIn.patrol_id == patrol_id)).one()
    assert (checkin.checkpoint_id, checkin.method) == (cp.id, "qr")
    # Pressing the button again (same form, same client_id) does not check in twice.
    assert client.post(f"/patrols/{patrol_id}/checkins", data=qr_form(app, cp)).status_code == 302
    assert count(session, CheckIn) == before + 1


def test_a_qr_check_in_by_htmx_answers_with_the_ticked_list(on_patrol, town, app):
    client, patrol_id = on_patrol
    cp = town.checkpoints("G1")[0]
    response = client.post(f"/patrols/{patrol_id}/checkins", data=qr_form(app, cp), headers=HX)
    assert_fragment(response, '<section class="card" id="checkpoints"', status=201)
    assert "Checked in. Thank you!" in response.text
    row = re.search(rf'id="checkpoint-{cp.id}".*?</li>', response.text, re.S).group(0)
    assert "✓" in row
    others = [c for c in town.checkpoints("G1") if c.id != cp.id]
    assert all("✓" not in re.search(rf'id="checkpoint-{c.id}".*?</li>', response.text, re.S).group(0) for c in others)
    again = client.post(f"/patrols/{patrol_id}/checkins", data=qr_form(app, cp), headers=HX)
    assert again.status_code == 200 and "✓" in again.text


def test_a_gps_check_in_by_form_at_the_checkpoint_is_accepted(on_patrol, town, session):
    client, patrol_id = on_patrol
    cp = town.checkpoints("G1")[2]
    response = client.post(f"/patrols/{patrol_id}/checkins", headers=HX, data={
        "client_id": "00000000-0000-4000-8000-000000000007", "checkpoint_id": cp.id, "lat": cp.lat, "lon": cp.lon,
        "accuracy_m": "6", "recorded_at": utcnow().isoformat(), "qr": ""})
    assert response.status_code == 201 and "✓" in response.text
    assert session.exec(select(CheckIn).where(CheckIn.patrol_id == patrol_id)).one().method == "gps"


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_gps_check_in_by_form_too_far_away_is_422_with_the_distance(on_patrol, town, session, headers):
    client, patrol_id = on_patrol
    cp = town.checkpoints("G1")[0]
    where = (cp.lat + 0.018, cp.lon)
    before = count(session, CheckIn)
    response = client.post(f"/patrols/{patrol_id}/checkins", headers=headers, data={
        "client_id": "00000000-0000-4000-8000-000000000008", "checkpoint_id": cp.id, "lat": where[0],
        "lon": where[1], "accuracy_m": "10", "recorded_at": "", "qr": ""})
    assert response.status_code == 422
    distance = round(geo.distance_m(where, (cp.lat, cp.lon)))
    assert f"You are {distance} m from" in response.text
    assert ("<html" in response.text) == (not headers)
    assert count(session, CheckIn) == before


@pytest.mark.parametrize("data, status, text", [
    ({"qr": "PAV1-1-WRONGWRONG"}, 422, "QR code is not valid"),
    ({"qr": ""}, 400, "is required"),
    ({"client_id": ""}, 400, "is required"),
])
def test_a_bad_check_in_form_shows_the_message_in_the_list(on_patrol, town, session, data, status, text):
    client, patrol_id = on_patrol
    form = {"client_id": "00000000-0000-4000-8000-000000000009", "checkpoint_id": town.checkpoints("G1")[0].id,
            "lat": "", "lon": "", "accuracy_m": "", "recorded_at": ""} | data
    before = count(session, CheckIn)
    response = client.post(f"/patrols/{patrol_id}/checkins", data=form, headers=HX)
    assert response.status_code == status and text in response.text
    assert 'role="alert"' in response.text and 'id="checkpoints"' in response.text
    assert count(session, CheckIn) == before


def test_ending_by_form_goes_to_my_patrols_with_its_minutes(on_patrol, town, app, session):
    client, patrol_id = on_patrol
    cp = town.checkpoints("G1")[0]
    client.post(f"/patrols/{patrol_id}/checkins", data=qr_form(app, cp))
    patrol = session.get(Patrol, patrol_id)
    patrol.started_at = utcnow() - timedelta(minutes=25, seconds=10)
    session.add(patrol)
    session.commit()
    ended = client.post(f"/patrols/{patrol_id}/end")
    assert ended.status_code == 302 and ended.headers["Location"] == f"/patrols/?ended={patrol_id}"
    page = client.get(ended.headers["Location"])
    thanks = re.search(r'id="patrol-thanks".*?</section>', page.text, re.S).group(0)
    assert "You patrolled 25 minutes and checked in at 1 must-visit points." in thanks and cp.name in thanks
    assert 'id="patrol-thanks"' not in client.get("/patrols/").text  # only right after ending it
    others = session.exec(select(Patrol).where(Patrol.user_id != patrol.user_id, Patrol.ended_at.is_not(None))).first()
    assert 'id="patrol-thanks"' not in client.get(f"/patrols/?ended={others.id}").text  # nobody else's patrol
    assert client.get("/patrols/?ended=x").status_code == 200
    row = re.search(rf'id="patrol-{patrol_id}".*?</li>', page.text, re.S).group(0)
    assert "25 minutes" in row and "1 checkpoint" in row and cp.name in row
    # The ended patrol's page offers no more buttons, and ending again changes nothing.
    html = client.get(f"/patrols/{patrol_id}").text
    assert 'id="end-patrol"' not in html and 'name="qr"' not in html
    session.expire_all()
    first_end = session.get(Patrol, patrol_id).ended_at
    assert client.post(f"/patrols/{patrol_id}/end").status_code == 302
    session.expire_all()
    assert session.get(Patrol, patrol_id).ended_at == first_end


def test_a_patrol_without_a_route_shows_its_volunteers_grid_points_to_the_officer(on_patrol, english, town, session):
    """Officer 13800000101 holds G1 and G2; a G1 volunteer's patrol shows G1's points, not the officer's G2 too."""
    _client, patrol_id = on_patrol
    patrol = session.get(Patrol, patrol_id)
    patrol.route_id = None
    session.add(patrol)
    session.commit()
    page = english(OFFICER_G12).get(f"/patrols/{patrol_id}")
    assert page.status_code == 200
    for cp in town.checkpoints("G1"):
        assert f'id="checkpoint-{cp.id}"' in page.text
    for cp in town.checkpoints("G2"):
        assert f'id="checkpoint-{cp.id}"' not in page.text


def test_a_patrol_ended_at_once_with_no_check_in_is_not_recorded_and_the_page_says_so(on_patrol, session):
    client, patrol_id = on_patrol
    ended = client.post(f"/patrols/{patrol_id}/end")
    page = client.get(ended.headers["Location"])
    assert 'id="patrol-discarded"' in page.text and "not recorded" in page.text
    assert f'id="patrol-{patrol_id}"' not in page.text and 'id="patrol-thanks"' not in page.text
    assert session.get(Patrol, patrol_id).discarded
