"""平安志愿者 — the application factory. It only wires; routes and rules live in volunteers/."""
from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from volunteers import config
from volunteers.web import (api, auth, certificates, cli, commendations, dashboard, duties, errors, extensions, hazards, headers, home, hours, jobs, notifications, open311,
                            patrols, photos, pwa, roster, tasks, templating)
from volunteers.web import audit, people, signup, teams, voice
from volunteers.web import grids, scan


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings → extensions and database → error handling → blueprints → commands."""
    app = Flask(__name__, instance_relative_config=True)
    # Settings come from code defaults, the environment, then test overrides; the secret lives in the data dir.
    app.config.from_mapping(config.load(app.instance_path, os.environ, test_config))
    # Behind nginx: trust exactly PROXY_COUNT hops of X-Forwarded-For/Proto/Host, never what a phone sends itself.
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    # One engine per app; sessions are opened per request.
    extensions.init_app(app)
    # Every error is a translated message with the right status (JSON on /api, a page elsewhere).
    errors.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    for module in (auth, home, patrols, hazards, tasks, duties, notifications, photos, pwa, api, open311, dashboard,
                   certificates, commendations, roster, signup, people, teams, audit, hours, grids, scan, voice):
        app.register_blueprint(module.bp)
    cli.init_app(app)
    jobs.init_app(app)  # `flask jobs`: reminders and alerts every few minutes
    return app
