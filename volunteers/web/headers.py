"""Response headers every page gets: a strict Content-Security-Policy and caching hints for htmx."""
from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user

# No inline script or style anywhere: htmx's own indicator styles are switched off in base.html.
# media-src blob: plays back a voice note just recorded on the phone, before it is sent.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'")

# Behind HTTPS (VOLUNTEERS_HTTPS=1): the browser never tries plain HTTP again for a year.
HSTS = "max-age=31536000; includeSubDomains"

# Pages and JSON with a logged-in person's data must not be kept by the browser's HTTP cache or a proxy. Not
# `no-store`: the service worker keeps the few pages the offline app needs and skips anything marked no-store
# (templates/pwa/sw.js, cacheable()); `no-cache` still makes every use go back to the server first.
PERSONAL = "private, no-cache"
# These keep their own caching: static files, the service worker (no-cache), photos and voice notes (private,
# max-age), and the public pages anyone may see.
OWN_CACHING = {"static", "pwa.service_worker", "photos.show", "voice.show", "home.healthz", "certificates.verify",
               "certificates.verify_form"}
PERSONAL_TYPES = {"text/html", "application/json"}


def personal_caching(response: Response) -> None:
    """Cache-Control for a logged-in person's page or API answer, unless the view chose its own."""
    if "Cache-Control" in response.headers or response.mimetype not in PERSONAL_TYPES:
        return
    endpoint = request.endpoint or ""
    if endpoint in OWN_CACHING or request.blueprint == "open311":
        return
    if current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = PERSONAL


SECURITY = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
            ("Permissions-Policy", "geolocation=(self), camera=(self), microphone=(self)"))  # microphone: 按住说话


def add_headers(response: Response) -> Response:
    """Security headers, and Vary: HX-Request so a partial is never cached as the full page. (Each header is added
    unless the view set it; one pass over the response's headers, not one per header: this runs on every API call.)"""
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    for name, value in SECURITY:
        if name.lower() not in present:
            headers.add(name, value)
    if current_app.config.get("HSTS") and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    personal_caching(response)
    if "vary" in present:
        response.vary.add("HX-Request")
    else:
        headers.add("Vary", "HX-Request")
    return response


def init_app(app: Flask) -> None:
    """Attach the headers to every response."""
    app.after_request(add_headers)
