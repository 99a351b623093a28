"""Who may reach what: anonymous callers get 401 JSON on every API URL and a login redirect (or HX-Redirect) on pages;
a volunteer cannot see or touch another volunteer's patrol; officers see their grids' patrols but cannot change them."""
from __future__ import annotations

import re
import tempfile
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, func, select

from volunteers import demo
from volunteers.models import CheckIn, Patrol

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

HX = {"HX-Request": "true"}
CID = "00000000-0000-4000-8000-000000000001"


# Endpoints anyone may open without logging in; every other rule must send a stranger to the login page.
# Open311 is the partners' public feed (hazards only, no personal data); /c/ is the offline poster page's shell.
PUBLIC = {"static", "auth.login", "auth.set_language", "signup.new", "signup.create", "signup.done", "pwa.manifest",
          "pwa.service_worker", "pwa.offline", "pwa.csrf_token", "home.healthz", "certificates.verify",
          "certificates.verify_form", "open311.services", "open311.requests", "open311.show", "scan.shell"}


def routes(api: bool):
    """Every (method, URL) of app.url_map, API or pages, with 1 for each id: the list grows by itself as routes are
    added, and a new page is refused to strangers unless it is named in PUBLIC."""
    from app import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "DATA_DIR": tempfile.mkdtemp()})
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") != api or rule.endpoint in PUBLIC:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "accept")
        url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", url)  # <any(approve, suspend):action> → approve
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, url))
    app.extensions["volunteers.engine"].dispose()
    return found


API_ROUTES = routes(api=True)
PAGES = routes(api=False)


def test_every_public_endpoint_still_exists(app):
    assert PUBLIC <= {rule.endpoint for rule in app.url_map.iter_rules()}


def test_the_api_route_list_covers_the_design_table():
    for route in [("GET", "/api/v1/me"), ("GET", "/api/v1/checkpoints"), ("POST", "/api/v1/patrols"),
                  ("POST", "/api/v1/patrols/1/checkins"), ("POST", "/api/v1/patrols/1/end")]:
        assert route in API_ROUTES


@pytest.mark.parametrize("method, url", API_ROUTES)
def test_anonymous_api_calls_are_401_json(client, town, session, method, url):
    before = session.exec(select(func.count()).select_from(Patrol)).one()
    response = client.open(url, method=method, json={"client_id": CID} if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == "unauthorized" and response.json["error"]["message"]
    assert "Location" not in response.headers
    session.rollback()
    assert session.exec(select(func.count()).select_from(Patrol)).one() == before


@pytest.mark.parametrize("method, url", PAGES)
def test_anonymous_pages_redirect_to_the_login_page_with_next(client, town, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    if method == "GET":
        assert parse_qs(target.query)["next"] == [url]


@pytest.mark.parametrize("method, url", PAGES)
def test_anonymous_htmx_requests_get_401_and_hx_redirect(client, town, method, url):
    response = client.open(url, method=method, headers=HX)
    assert response.status_code == 401
    assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
    assert "<html" not in response.text


def test_the_login_redirect_keeps_the_query_string(client, town):
    response = client.get("/patrols/1/checkpoints?lat=30.25&lon=120.09")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/patrols/1/checkpoints?lat=30.25&lon=120.09"]


@pytest.mark.parametrize("url", ["/login", "/signup/", "/healthz", "/manifest.webmanifest", "/sw.js"])
def test_public_pages_need_no_login(client, town, url):
    assert client.get(url).status_code == 200


# --- Another volunteer's patrol ----------------------------------------------------------------------

@pytest.fixture
def patrol_id(login_as, town) -> int:
    """A patrol running for volunteer 13800000201 (G1)."""
    response = login_as(VOLUNTEER).post("/api/v1/patrols", json={"client_id": CID})
    assert response.status_code == 201
    return response.json["id"]


@pytest.mark.parametrize("method, suffix", [("GET", ""), ("GET", "/checkpoints"), ("POST", "/checkins"),
                                            ("POST", "/end")])
@pytest.mark.parametrize("phone", [VOLUNTEER_G3, "13800000202", OFFICER_G34])
def test_others_cannot_see_or_touch_a_volunteers_patrol_pages(login_as, session, patrol_id, town, method, suffix,
                                                             phone):
    cp = town.checkpoints("G1")[0]
    client = login_as(phone)
    response = client.open(f"/patrols/{patrol_id}{suffix}", method=method,
                           data={"client_id": "00000000-0000-4000-8000-000000000002", "checkpoint_id": cp.id,
                                 "lat": cp.lat, "lon": cp.lon, "accuracy_m": 5} if method == "POST" else None)
    assert response.status_code == 404
    assert cp.name not in response.text
    session.rollback()
    assert session.exec(select(func.count()).select_from(CheckIn).where(CheckIn.patrol_id == patrol_id)).one() == 0
    assert session.get(Patrol, patrol_id).ended_at is None


def test_the_officer_of_the_grid_sees_the_patrol_but_gets_no_buttons(login_as, patrol_id, town):
    page = login_as(OFFICER_G12).get(f"/patrols/{patrol_id}")
    assert page.status_code == 200
    assert town.checkpoints("G1")[0].name in page.text
    assert 'id="end-patrol"' not in page.text and 'name="qr"' not in page.text


@pytest.mark.parametrize("suffix, data", [("/end", {}), ("/checkins", {"client_id": CID, "qr": "PAV1-1-AAAAAAAAAA"})])
def test_the_officer_of_the_grid_cannot_change_the_patrol(login_as, session, patrol_id, suffix, data):
    response = login_as(OFFICER_G12).post(f"/patrols/{patrol_id}{suffix}", data=data)
    assert response.status_code == 403
    session.rollback()
    assert session.get(Patrol, patrol_id).ended_at is None


# --- Strangers when CSRF checks are on (as in production) ------------------------------------------------

@pytest.fixture
def csrf_client(make_app):
    """An anonymous client of an app that checks CSRF tokens: it has no session, so it has no token either."""
    return make_app(WTF_CSRF_ENABLED=True).test_client()


@pytest.mark.parametrize("method, url", [r for r in API_ROUTES if r[0] != "GET"])
def test_with_csrf_checks_on_anonymous_api_writes_are_still_401_not_a_csrf_error(csrf_client, method, url):
    response = csrf_client.open(url, method=method, json={"client_id": CID})
    assert response.status_code == 401, response.text
    assert response.json["error"]["code"] == "unauthorized"


def test_with_csrf_checks_on_an_anonymous_htmx_post_gets_hx_redirect(csrf_client):
    response = csrf_client.post("/patrols/1/end", headers={**HX, "HX-Current-URL": "http://localhost/patrols/1"})
    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_with_csrf_checks_on_a_stale_form_posted_without_a_session_goes_to_the_login_page(csrf_client):
    response = csrf_client.post("/patrols/", data={"client_id": CID})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_with_csrf_checks_on_a_logged_in_post_without_the_token_is_still_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    response = client.post("/api/v1/patrols", json={"client_id": CID})
    assert response.status_code == 400 and response.json["error"]["code"] == "csrf"
    assert client.post("/patrols/", data={"client_id": CID}).status_code == 400


# --- Coming back after logging in --------------------------------------------------------------------

def next_of(location: str) -> list[str] | None:
    return parse_qs(urlsplit(location).query).get("next")


def test_a_form_posted_after_the_login_expired_comes_back_to_the_page_it_was_sent_from(client, town):
    response = client.post("/patrols/7/end", headers={"Referer": "http://localhost/patrols/7"})
    assert response.status_code == 302
    # Not /patrols/7/end: after logging in that URL would be a GET, and it only takes POST.
    assert next_of(response.headers["Location"]) == ["/patrols/7"]


def test_an_htmx_post_after_the_login_expired_comes_back_to_the_current_page(client, town):
    response = client.post("/patrols/7/checkins", headers={**HX, "HX-Current-URL": "http://localhost/patrols/7?lat=30.25&lon=120.09"})
    assert response.status_code == 401
    assert next_of(response.headers["HX-Redirect"]) == ["/patrols/7?lat=30.25&lon=120.09"]


@pytest.mark.parametrize("referer", ["https://evil.example/patrols/7", "http://localhost.evil.example/x", ""])
def test_a_post_from_another_site_or_nowhere_gets_no_next(client, town, referer):
    response = client.post("/patrols/7/end", headers={"Referer": referer} if referer else {})
    assert response.status_code == 302 and next_of(response.headers["Location"]) is None
