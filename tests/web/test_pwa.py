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
