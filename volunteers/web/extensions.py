"""Extensions, created unbound here and bound to the app in create_app."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlmodel import Session

from volunteers import db

babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = LoginManager()


def select_locale() -> str:
    """The language the person chose, else what the browser prefers, else Simplified Chinese."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


# The phone's one-statement writes on PostgreSQL (issue 13, D104): everything these requests send stands alone — reads,
# at most one single-row UPDATE (the token's last use), and one INSERT that writes the row with its audit row (a
# data-modifying CTE, audit.audited_insert) — so they run in autocommit: no BEGIN and COMMIT, two of five round trips.
# Not the report: with photos it is several INSERTs that must commit together.
AUTOCOMMIT_ENDPOINTS = frozenset({"api.create_checkin", "api.start_patrol"})


def get_session() -> Session:
    """The request's database session, opened on first use and closed when the request ends."""
    if "db" not in g:
        engine = current_app.extensions["volunteers.engine"]
        if has_request_context() and request.endpoint in AUTOCOMMIT_ENDPOINTS and engine.dialect.name == "postgresql":
            engine = current_app.extensions["volunteers.autocommit_engine"]
        g.db = Session(engine, expire_on_commit=False)
    return g.db


def _close_session(_exc: BaseException | None) -> None:
    session_ = g.pop("db", None)
    if session_ is not None:
        session_.close()


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a request without a session cookie (every API call with a
    Bearer token) gets its empty session without building the cookie's signing serializer first (issue 13)."""

    def open_session(self, app: Flask, request_):
        if app.secret_key and not request_.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app: Flask, session_, response) -> None:
        # An empty session nobody changed (every Bearer-token call): Flask would work out the cookie's domain, path
        # and flags and then write nothing; answering first gives the same response (no cookie; Vary: Cookie if read).
        if not session_ and not session_.modified:
            if session_.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session_, response)


def init_app(app: Flask) -> None:
    """Bind the database engine and every extension to the app."""
    app.extensions["volunteers.engine"] = db.make_engine(app.config["DATABASE_URL"],
                                                       ping_after_idle_s=app.config.get("DATABASE_PING_IDLE_S"))
    # The same pool, its connections lent in autocommit (psycopg's client-side switch; reset when they return).
    app.extensions["volunteers.autocommit_engine"] = \
        app.extensions["volunteers.engine"].execution_options(isolation_level="AUTOCOMMIT")
    app.session_interface = CookieSessionInterface()
    app.teardown_appcontext(_close_session)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
