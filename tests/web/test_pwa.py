"""The installable app: manifest, service worker, offline page, outbox page, and the data the phone keeps."""
from __future__ import annotations

import json
import re

from tests.conftest import VOLUNTEER
from volunteers.web import pwa


def test_the_service_worker_is_served_from_the_root_and_never_cached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    body = response.get_data(as_text=True)
    precache = json.loads(re.search(r"var PRECACHE = (\[.*?\]);", body).group(1))
    assert "/offline" in precache and "/static/js/outbox.js" in precache and "/static/css/app.css" in precache
    for url in precache:  # everything it promises to keep really exists
        assert client.get(url).status_code == 200, url


def sw_version(app) -> str:
    return re.search(r'var VERSION = "(\w+)"', app.test_client().get("/sw.js").get_data(as_text=True)).group(1)


def test_the_service_worker_version_follows_the_assets(make_app, monkeypatch):
    version = sw_version(make_app())
    assert len(version) == 12 and sw_version(make_app()) == version  # same assets, same worker
    monkeypatch.setattr(pwa, "SHELL_ASSETS", pwa.SHELL_ASSETS[:-1])
    assert sw_version(make_app()) != version  # another asset list, a new worker to install


def test_the_service_worker_leaves_writes_partials_and_the_api_alone(client):
    body = client.get("/sw.js").get_data(as_text=True)
    assert 'request.method !== "GET"' in body and 'headers.get("HX-Request")' in body
    assert '"/api/v1/checkpoints"' in body  # the only API answer it keeps: the caller's own checkpoints


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["name"] == "平安志愿者" and manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/") and manifest["theme_color"]
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).mimetype == "image/png"


def test_the_offline_page_renders_for_anyone(client):
    response = client.get("/offline")
    assert response.status_code == 200
    assert 'href="/outbox"' in response.get_data(as_text=True)


def test_the_outbox_page_needs_a_login(client, login_as):
    assert client.get("/outbox").status_code == 302
    page = login_as(VOLUNTEER).get("/outbox")
    assert page.status_code == 200 and 'id="outbox-items"' in page.get_data(as_text=True)


def test_every_page_links_the_manifest_and_says_whose_outbox_it_is(login_as, town):
    html = login_as(VOLUNTEER).get("/").get_data(as_text=True)
    assert 'rel="manifest"' in html and "js/pwa.js" in html
    assert f'data-user="{town.user(VOLUNTEER).id}"' in html


def test_the_volunteer_home_carries_the_route_for_patrolling_offline(login_as, town):
    html = login_as(VOLUNTEER).get("/").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="patrol-data">(.*?)</script>', html, re.S).group(1))
    assert [cp["name"] for cp in data["checkpoints"]] == [cp.name for cp in town.checkpoints("G1")]
    assert data["patrol"] is None and data["urls"]["checkins"] == "/api/v1/patrols/{id}/checkins"


def test_a_fresh_csrf_token_can_be_fetched(client):
    response = client.get("/csrf-token")
    assert response.status_code == 200 and len(response.json["token"]) > 20
    assert "no-store" in response.headers["Cache-Control"]


def worker_lists(client) -> tuple[list[str], list[str]]:
    body = client.get("/sw.js").get_data(as_text=True)
    return (json.loads(re.search(r"var PRECACHE = (\[.*?\]);", body).group(1)),
            json.loads(re.search(r"var OFFLINE_KIT = (\[.*?\]);", body).group(1)))


def test_the_service_worker_asks_again_cost_a_304_when_it_has_not_changed(client):
    first = client.get("/sw.js")
    assert first.headers["ETag"] and first.headers["Cache-Control"] == "no-cache"
    again = client.get("/sw.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_a_volunteers_first_load_is_in_the_shell_and_everything_else_a_page_loads_in_the_kit(login_as):
    """The shell (at install) holds exactly what the log-in page and a volunteer's home load; what the report form, the
    outbox and the patrol's scanner load besides is in the offline kit (kept after login). htmx is in neither first."""
    volunteer = login_as(VOLUNTEER)
    precache, kit = worker_lists(volunteer)
    scripts = lambda html: set(re.findall(r'<(?:script src|link rel="stylesheet" href)="(/static/[^"]+)"', html))
    home = volunteer.get("/").get_data(as_text=True)
    first = scripts(home) | scripts(volunteer.get("/outbox").get_data(as_text=True))
    assert first <= set(precache), first - set(precache)
    assert not any("htmx" in url or "scanner" in url or "nfc" in url for url in first)
    later = scripts(volunteer.get("/hazards/new").get_data(as_text=True))
    on_patrol = set(re.search(r'data-app-scripts="([^"]+)"', home).group(1).split())
    assert (later | on_patrol) - set(precache) <= set(kit), (later | on_patrol) - set(precache) - set(kit)
    assert any("htmx" in url for url in kit)  # for the pages that use it (the task list, my reports …)
