"""Running the app: the flask commands (init-db, demo, token), /healthz, the security headers and cookie flags, and
configuration from the environment (the secret key generated into the data directory, the default SQLite file)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from app import create_app
from volunteers import config
from volunteers.models import ApiToken, User

from tests.conftest import VOLUNTEER


def users(session) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(User)).one()


# --- Commands --------------------------------------------------------------------------------------

def test_init_db_can_run_again_and_again(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


def test_demo_fills_an_empty_database_and_refuses_a_full_one(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "13800000201" in first.output
    loaded = users(session)
    assert loaded >= 24
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0 and "already has data" in again.output
    assert users(session) == loaded


def test_demo_if_empty_succeeds_on_a_full_database_without_touching_it(app, town, session):
    before = users(session)
    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output
    assert users(session) == before


def test_demo_if_empty_loads_an_empty_database(app, session):
    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and users(session) > 0


def test_token_prints_a_token_that_works_as_bearer(app, town, session):
    result = app.test_cli_runner().invoke(args=["token", "--phone", VOLUNTEER])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["id"] == town.user(VOLUNTEER).id
    # Only a hash is stored.
    session.rollback()
    assert token not in {t.token_hash for t in session.exec(select(ApiToken))}


def test_token_accepts_the_phone_in_another_spelling_and_gives_a_new_token_each_time(app, town):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["token", "--phone", "+86 138-0000-0201"])
    second = runner.invoke(args=["token", "--phone", VOLUNTEER])
    assert first.exit_code == second.exit_code == 0
    assert first.output.strip() != second.output.strip()


@pytest.mark.parametrize("args", [["token", "--phone", "13899999999"], ["token"]])
def test_token_for_an_unknown_or_missing_phone_fails(app, town, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert not re.search(r"^[A-Za-z0-9_-]{40,}$", result.output, re.M)


# --- Health and headers --------------------------------------------------------------------------------

def test_healthz_says_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"
    assert response.mimetype == "text/plain"


@pytest.mark.parametrize("url", ["/login", "/healthz", "/api/v1/me", "/nowhere"])
def test_every_answer_has_a_strict_content_security_policy(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_inline_script_or_style(login_as):
    """The CSP forbids inline code, so a page must not need it: only the JSON data block is allowed."""
    html = login_as(VOLUNTEER).get("/").text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no onclick= handlers


def test_the_session_cookie_is_http_only_and_same_site_lax(app, town):
    client = app.test_client()
    response = client.post("/login", data={"phone": VOLUNTEER, "password": "demo1234"})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]  # plain http on 127.0.0.1 must keep working


def test_behind_https_the_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("VOLUNTEERS_HTTPS", "1")
    settings = config.load(str(tmp_path), {"VOLUNTEERS_HTTPS": "1"}, {"DATA_DIR": str(tmp_path)})
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True


# --- Configuration -------------------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch):
    """No settings from the surrounding shell (CI sets DATABASE_URL for PostgreSQL)."""
    for name in ("SECRET_KEY", "DATABASE_URL", "VOLUNTEERS_DATA_DIR", "VOLUNTEERS_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def build(data_dir: Path, **extra):
    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'x.sqlite3'}", **extra})
    app.extensions["volunteers.engine"].dispose()
    return app


def test_the_secret_key_is_generated_into_the_data_dir_and_kept(clean_env, tmp_path):
    first = build(tmp_path / "a").config["SECRET_KEY"]
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 32
    assert key_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert build(tmp_path / "a").config["SECRET_KEY"] == first


def test_another_data_dir_gets_another_secret_key(clean_env, tmp_path):
    assert build(tmp_path / "a").config["SECRET_KEY"] != build(tmp_path / "b").config["SECRET_KEY"]


def test_a_secret_key_from_the_environment_wins_and_writes_no_file(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", "from-the-environment")
    assert build(tmp_path / "a").config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "a" / "secret_key").exists()


def test_a_session_survives_a_restart_with_the_same_data_dir(clean_env, tmp_path):
    """The generated key is reused, so restarting the server does not log every volunteer out."""
    from itsdangerous import URLSafeTimedSerializer
    first, second = build(tmp_path / "a"), build(tmp_path / "a")
    token = URLSafeTimedSerializer(first.config["SECRET_KEY"]).dumps({"x": 1})
    assert URLSafeTimedSerializer(second.config["SECRET_KEY"]).loads(token) == {"x": 1}


def test_the_database_defaults_to_a_sqlite_file_in_the_data_dir(clean_env, tmp_path):
    data_dir = tmp_path / "data"
    clean_env.setenv("VOLUNTEERS_DATA_DIR", str(data_dir))
    app = create_app()
    app.extensions["volunteers.engine"].dispose()
    assert app.config["DATA_DIR"] == str(data_dir.resolve())
    assert app.config["DATABASE_URL"] == f"sqlite:///{data_dir.resolve() / 'volunteers.sqlite3'}"
    assert data_dir.is_dir() and (data_dir / "secret_key").is_file()


def test_database_url_from_the_environment_is_used(clean_env, tmp_path):
    settings = config.load(str(tmp_path / "instance"), {"DATABASE_URL": "postgresql+psycopg://u@h/db",
                                                        "VOLUNTEERS_DATA_DIR": str(tmp_path / "d")}, None)
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@h/db"
    assert settings["DATA_DIR"] == str((tmp_path / "d").resolve())


def test_without_any_setting_the_data_dir_is_the_instance_folder(tmp_path):
    settings = config.load(str(tmp_path / "instance"), {}, None)
    assert settings["DATA_DIR"] == str((tmp_path / "instance").resolve())
    assert settings["DATABASE_URL"].endswith("/instance/volunteers.sqlite3")
    assert (tmp_path / "instance" / "secret_key").is_file()
