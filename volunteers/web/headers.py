"""Response headers every page gets: a strict Content-Security-Policy and caching hints for htmx."""
from __future__ import annotations

from flask import Flask, Response

# No inline script or style anywhere: htmx's own indicator styles are switched off in base.html.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'")


def add_headers(response: Response) -> Response:
    """Security headers, and Vary: HX-Request so a partial is never cached as the full page."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
    response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    """Attach the headers to every response."""
    app.after_request(add_headers)
