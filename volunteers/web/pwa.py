"""The installable app: web manifest, the service worker at /sw.js, the offline page and the outbox page."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf.csrf import generate_csrf

bp = Blueprint("pwa", __name__)

# What the service worker keeps from the start so the app shell opens with no network.
SHELL_ASSETS = ("css/app.css", "js/text-size.js", "js/geolocate.js", "js/app.js", "js/confirm.js", "js/outbox.js",
                "js/pwa.js", "js/offline-patrol.js", "icons/icon-192.png")
# The offline kit: what the report form, the in-app scanner and a poster's link need with no signal (≈ 120 KB gzip,
# three times the shell). The worker keeps it once someone has logged in (the first "warm"), or at once after an update
# that had it, not at install: a first visit on a slow link is usable at the shell's ~50 KB.
# The scanner, NFC and poster-code scripts are here too: the home loads them only once a patrol runs; and htmx, which
# the pages of a volunteer's first load (log-in, home, report form, outbox) do not use.
OFFLINE_KIT = ("js/vendor/htmx-2.0.11.min.js", "js/swap-errors.js", "js/report-form.js", "js/photo-picker.js",
               "js/voice-note.js", "js/map.js", "js/poster-code.js", "js/scanner.js", "js/nfc.js",
               "js/vendor/leaflet-1.9.4/leaflet.js",
               "js/vendor/leaflet-1.9.4/leaflet.css", "js/vendor/jsQR-1.4.0.min.js", "js/scan-shell.js")


def asset_version() -> str:
    """A hash of the shell assets' bytes: a new deploy with changed assets installs a new service worker."""
    cached = current_app.extensions.get("volunteers.asset_version")
    if cached is None:
        digest = hashlib.sha256()
        for name in SHELL_ASSETS + OFFLINE_KIT + ("../templates/pwa/sw.js", "../templates/scan/shell.html"):
            path = Path(current_app.static_folder) / name
            digest.update(name.encode() + (path.read_bytes() if path.exists() else b""))
        cached = current_app.extensions["volunteers.asset_version"] = digest.hexdigest()[:12]
    return cached


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the site root so it controls every page; never cached by the browser."""
    precache = [url_for("static", filename=name) for name in SHELL_ASSETS] + [url_for("pwa.offline")]
    kit = [url_for("static", filename=name) for name in OFFLINE_KIT] + [url_for("scan.shell")]
    body = render_template("pwa/sw.js", version=asset_version(), precache=json.dumps(precache), kit=json.dumps(kit),
                           offline_url=url_for("pwa.offline"), scan_shell_url=url_for("scan.shell"))
    response = Response(body, mimetype="text/javascript", headers={
        "Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
    # The browser asks again after each navigation: an unchanged worker then costs a 304, not its 3 KB.
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable, standalone, red like the armband."""
    icon = lambda name, size, purpose="any": {"src": url_for("static", filename=f"icons/{name}"), "sizes": size,
                                              "type": "image/png", "purpose": purpose}
    data = {
        "name": "平安志愿者", "short_name": "平安志愿者", "lang": "zh-CN", "dir": "ltr",
        "description": _("Patrol, check in and report hazards for your police station's volunteer team."),
        "start_url": "/?source=pwa", "scope": "/", "id": "/", "display": "standalone",
        "orientation": "portrait", "background_color": "#f4f1ec", "theme_color": "#b71c1c",
        "icons": [icon("icon-192.png", "192x192"), icon("icon-512.png", "512x512"),
                  icon("maskable-512.png", "512x512", "maskable")],
    }
    return Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


@bp.get("/offline")
def offline():
    """Shown by the service worker for a page that is not in its cache while there is no network."""
    return render_template("pwa/offline.html")


@bp.get("/csrf-token")
def csrf_token():
    """A fresh CSRF token for the outbox, when a page kept open for days holds an expired one."""
    return jsonify(token=generate_csrf()), 200, {"Cache-Control": "no-store"}


@bp.get("/outbox")
@login_required
def outbox():
    """What this phone has saved but not yet sent (the list itself lives in the phone's IndexedDB)."""
    return render_template("pwa/outbox.html")
