"""The offline scan page: the service worker keeps one generic /c/ page that answers any poster link with no
network; it is the same for everyone (precached before login, kept after logout) and writes nothing itself."""
from __future__ import annotations

import json
import re

from tests.conftest import VOLUNTEER


def precache(client, name: str = "OFFLINE_KIT") -> list[str]:
    body = client.get("/sw.js").get_data(as_text=True)
    return json.loads(re.search(rf"var {name} = (\[.*?\]);", body).group(1))


def test_the_service_worker_keeps_the_scan_page_and_the_report_forms_scripts(client):
    kept = precache(client)  # the offline kit, kept after login rather than at install (~95 KB gzip)
    for url in kept:
        assert client.get(url).status_code == 200, url
    assert not set(kept) & set(precache(client, "PRECACHE"))  # the first visit's install stays the small shell
    assert "/c/" in kept and "/static/js/scan-shell.js" in kept
    for asset in ("js/report-form.js", "js/map.js", "js/vendor/leaflet-1.9.4/leaflet.js",
                  "js/vendor/leaflet-1.9.4/leaflet.css"):
        assert f"/static/{asset}" in kept
    body = client.get("/sw.js").get_data(as_text=True)
    assert 'var SCAN_SHELL_URL = "/c/"' in body and "scanPage(request)" in body


def test_the_scan_page_is_the_same_for_anyone_and_carries_no_personal_data(client, login_as, town):
    anonymous = client.get("/c/")
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"] == "no-cache"
    mine = login_as(VOLUNTEER).get("/c/")
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-cache"
    strip = lambda html: re.sub(r"\s+", " ", html)
    assert strip(mine.get_data(as_text=True)) == strip(anonymous.get_data(as_text=True))
    html = anonymous.get_data(as_text=True)
    assert "csrf" not in html and "data-user" not in html and town.user(VOLUNTEER).name not in html
    assert 'data-scan-shell' in html and 'id="scan-checkin-button"' in html
    assert "/api/v1/patrols/{id}/checkins" in html and "/api/v1/checkpoints" in html


def test_the_scan_page_names_what_can_go_wrong_in_chinese(client):
    html = client.get("/c/").get_data(as_text=True)
    assert "二维码无效" in html and "不在您的网格" in html and "登录" in html
