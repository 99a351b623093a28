"""Security headers on every kind of answer, HSTS behind HTTPS (issue 14, finding 7), and no HTTP caching of a
logged-in person's pages and JSON (finding 6)."""
from __future__ import annotations

import pytest

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import demo

HX = {"HX-Request": "true"}
HSTS = "max-age=31536000; includeSubDomains"
# (who, url, headers): a page, an htmx partial, an API answer, the service worker.
ANSWERS = [(VOLUNTEER, "/hours/", {}), (OFFICER_G12, "/hazards/", HX), (VOLUNTEER, "/api/v1/me", {}),
           (VOLUNTEER, "/sw.js", {})]


@pytest.fixture
def https_login(monkeypatch, make_app, town_template_loader):
    """Log in on an app started with VOLUNTEERS_HTTPS=1, over https."""
    monkeypatch.setenv("VOLUNTEERS_HTTPS", "1")
    app = town_template_loader(make_app())

    def _login(phone):
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        response = client.post("/login", data={"phone": phone, "password": demo.PASSWORD}, base_url="https://localhost")
        assert response.status_code == 302
        return client
    return _login


@pytest.fixture
def town_template_loader(demo_template, demo_rows):
    from sqlmodel import Session

    from tests.conftest import CHEAP_DEMO_HASH, insert_demo_rows

    def _load(app):
        engine = app.extensions["volunteers.engine"]
        if demo_rows:
            insert_demo_rows(engine, demo_rows)
        else:
            with Session(engine) as s:
                demo.build(s, password_hash=CHEAP_DEMO_HASH)
        return app
    return _load


def assert_security_headers(response):
    h = response.headers
    assert "default-src 'self'" in h["Content-Security-Policy"] and "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin" and "geolocation=(self)" in h["Permissions-Policy"]


@pytest.mark.parametrize("who,url,headers", ANSWERS)
def test_behind_https_every_kind_of_answer_has_hsts_and_the_security_headers(https_login, who, url, headers):
    response = https_login(who).get(url, headers=headers, base_url="https://localhost")
    assert response.status_code == 200, response.text
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert_security_headers(response)


@pytest.mark.parametrize("who,url,headers", ANSWERS)
def test_without_https_there_is_no_hsts_but_the_other_headers_are_there(login_as, who, url, headers):
    response = login_as(who).get(url, headers=headers)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert_security_headers(response)


PERSONAL = [(VOLUNTEER, "/hours/", {}), (VOLUNTEER, "/", {}), (OFFICER_G12, "/hazards/", HX),
            (OFFICER_G12, "/people/", {}), (COORDINATOR, "/roster/", {}), (VOLUNTEER, "/api/v1/me", {}),
            (VOLUNTEER, "/api/v1/checkpoints", {}), (OFFICER_G12, "/api/v1/tasks", {})]


@pytest.mark.parametrize("who,url,headers", PERSONAL)
def test_a_logged_in_persons_pages_and_json_are_not_kept_by_http_caches(login_as, who, url, headers):
    response = login_as(who).get(url, headers=headers)
    assert response.status_code == 200, url
    cache = response.headers.get("Cache-Control", "")
    assert "private" in cache and ("no-store" in cache or "no-cache" in cache), (url, cache)


def test_the_service_worker_keeps_no_cache_and_public_pages_and_static_files_keep_theirs(login_as, client):
    volunteer = login_as(VOLUNTEER)
    assert volunteer.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert "private" not in volunteer.get("/healthz").headers.get("Cache-Control", "")
    static = volunteer.get("/static/js/outbox.js")
    assert static.status_code == 200 and "private" not in static.headers.get("Cache-Control", "")
    assert "private" not in client.get("/login").headers.get("Cache-Control", "")  # nobody's data yet


def test_the_offline_pages_stay_cacheable_by_the_service_worker(login_as):
    # templates/pwa/sw.js skips any answer marked no-store: the pages the offline app warms must not be.
    response = login_as(VOLUNTEER).get("/")
    assert "no-store" not in response.headers.get("Cache-Control", "")
