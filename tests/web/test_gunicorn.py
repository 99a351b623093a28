"""The production server for real: gunicorn with deploy/gunicorn.conf.py on a real socket, on the suite's database
(PostgreSQL in CI), driven through the JSON API as a phone would — start a patrol, check in, retry, end."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import VOLUNTEER
from volunteers import accounts
from volunteers.models import AuditEvent, CheckIn

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(app, town, tmp_path):
    """gunicorn serving the test's database (demo town loaded) behind one pretend proxy; yields its base URL."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="test-secret-key",
               VOLUNTEERS_DATA_DIR=str(tmp_path / "data"), VOLUNTEERS_BIND=f"127.0.0.1:{port}",
               VOLUNTEERS_WORKERS="2", VOLUNTEERS_THREADS="2", VOLUNTEERS_PROXY_COUNT="1",
               VOLUNTEERS_ACCESS_LOG=str(tmp_path / "access.log"))
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn_bin), "-c", "deploy/gunicorn.conf.py", "app:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("gunicorn did not come up:\n" + proc.stdout.read().decode(errors="replace"))
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def call(base: str, method: str, path: str, token: str, body: dict | None = None, forwarded: str = "203.0.113.9"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Forwarded-For": forwarded})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_patrol_runs_through_gunicorn_and_the_proxy_address_is_the_phones(gunicorn, town, tmp_path):
    volunteer = town.user(VOLUNTEER)
    token = accounts.issue_token(town.session, user=volunteer)
    town.session.commit()
    point = town.checkpoints("G1")[0]

    status, me = call(gunicorn, "GET", "/api/v1/me", token)
    assert (status, me["id"]) == (200, volunteer.id)
    status, patrol = call(gunicorn, "POST", "/api/v1/patrols", token, {"client_id": str(uuid.uuid4())})
    assert status == 201, patrol
    checkin = {"client_id": str(uuid.uuid4()), "lat": point.lat, "lon": point.lon, "accuracy_m": 8,
               "checkpoint_id": point.id, "recorded_at": datetime.now(timezone.utc).isoformat()}
    status, first = call(gunicorn, "POST", f"/api/v1/patrols/{patrol['id']}/checkins", token, checkin)
    assert status == 201, first
    status, again = call(gunicorn, "POST", f"/api/v1/patrols/{patrol['id']}/checkins", token, checkin)
    assert (status, again["id"]) == (200, first["id"])
    status, ended = call(gunicorn, "POST", f"/api/v1/patrols/{patrol['id']}/end", token, {})
    assert status == 200 and ended["ended_at"], ended

    town.session.expire_all()
    assert len(town.session.exec(select(CheckIn).where(CheckIn.patrol_id == patrol["id"])).all()) == 1
    # One trusted proxy (VOLUNTEERS_PROXY_COUNT=1): the audit trail names the address nginx saw, not 127.0.0.1.
    ips = {e.ip for e in town.session.exec(select(AuditEvent).where(AuditEvent.actor_id == volunteer.id,
                                                                   AuditEvent.object_type == "checkin"))}
    assert ips == {"203.0.113.9"}, ips
    assert "/api/v1/patrols" in (tmp_path / "access.log").read_text()


def test_each_worker_compiles_every_template_before_its_first_request(app):
    """deploy/gunicorn.conf.py's post_worker_init fills the template cache (a cold worker took 2-3x longer)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "deploy" / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    app.jinja_env.cache.clear()
    conf.post_worker_init(type("Worker", (), {"wsgi": app})())
    names = {n for n in app.jinja_env.list_templates() if n.endswith(".html")}
    cached = {name for (_loader, name) in app.jinja_env.cache.keys()}
    assert len(names) > 100 and names <= cached
