"""Pages at province scale: the real roles of one station, over HTTP through gunicorn, on PostgreSQL (issue #13).

    .venv/bin/python bench/province.py --pg URL --scale 1.0          # first: the data (DROPs the schema)
    .venv/bin/python bench/province_pages.py --pg URL --runs 20

1. gunicorn with deploy/gunicorn.conf.py (its defaults: 2 processes per core, 4 threads) on that database.
2. The officer (13700000001, grids 1–4), the coordinator (13700000002) and the volunteer (13700000003) of station 1
   log in through /login (CSRF token from the form, session cookie); the volunteer also gets an API token and one open
   patrol, started through the API.
3. Each case: --warmups (12: 3 per gunicorn process) untimed requests, then --runs requests one after another; wall time at the client; median and p95
   (nearest rank). Every answer must be 200 (201 for the check-in).
4. pg_stat_statements is reset before the timed requests and its top statements are printed after.
5. --explain N: the same pages once more in-process (Flask test client, same database) with every SQL statement
   and its parameters captured from SQLAlchemy; the N slowest distinct SELECTs are run again under
   EXPLAIN (ANALYZE, BUFFERS) with the same parameters and printed.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.province import COORDINATOR, OFFICER, PASSWORD, VOLUNTEER  # noqa: E402


def cases() -> list[tuple[str, str, str, dict]]:
    """(who, label, path, headers)"""
    from volunteers.duties import today
    t = today()
    first_this = t.replace(day=1)
    last_prev = first_this - timedelta(days=1)
    month = f"from={last_prev.replace(day=1).isoformat()}&to={last_prev.isoformat()}"
    year = f"from={(t - timedelta(days=365)).isoformat()}&to={t.isoformat()}"
    hx = {"HX-Request": "true"}
    return [
        ("officer", "hazard triage (open, default)", "/hazards/", {}),
        ("officer", "hazard triage: all states, dispute, grid 2", "/hazards/?status=all&category=dispute&grid=2", {}),
        ("officer", "hazard triage: overdue", "/hazards/?overdue=1", {}),
        ("officer", "hazard triage: htmx rows, status=closed", "/hazards/?status=closed", hx),
        ("officer", "dashboard (whole page)", "/dashboard/", {}),
        ("officer", "dashboard refresh (htmx partial)", "/dashboard/", hx),
        ("officer", "hours review", "/hours/review", {}),
        ("coordinator", "hours tally, this month, per volunteer", "/hours/tally", {}),
        ("coordinator", "hours tally, last month, per volunteer", f"/hours/tally?{month}&by=volunteer", {}),
        ("coordinator", "hours tally, last month, per team", f"/hours/tally?{month}&by=team", {}),
        ("coordinator", "月考评 last month, per grid", "/hours/months", {}),
        ("coordinator", "月考评 last month, per team", "/hours/months?by=team", {}),
        ("coordinator", "XLSX export, last month, per volunteer", f"/hours/export.xlsx?{month}&by=volunteer", {}),
        ("coordinator", "XLSX export, whole year, per volunteer", f"/hours/export.xlsx?{year}&by=volunteer", {}),
        ("volunteer", "volunteer home /", "/", {}),
        ("volunteer", "my tasks /tasks/", "/tasks/", {}),
        ("volunteer", "my hours /hours/", "/hours/", {}),
        ("anyone", "Open311 requests.json (first page: 100 newest of 90 days)", "/open311/v2/requests.json", {}),
        ("anyone", "Open311 requests.json?status=open&service_code=fire", "/open311/v2/requests.json?status=open&service_code=fire", {}),
        ("anyone", "Open311 requests.json?page=20 (results 1,901–2,000)", "/open311/v2/requests.json?page=20", {}),
        ("anyone", "Open311 one station, largest page (jurisdiction_id, page_size=500)",
         "/open311/v2/requests.json?jurisdiction_id=PS001&page_size=500", {}),
    ]


class Client:
    """A browser-ish client: a cookie jar, redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def login(self, phone: str) -> None:
        _, html = self.get("/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()
        body = urllib.parse.urlencode({"phone": phone, "password": PASSWORD, "csrf_token": token}).encode()
        req = urllib.request.Request(self.base + "/login", data=body, method="POST")
        with self.opener.open(req, timeout=60) as r:
            if r.status != 200 or "/login" in r.geturl():
                raise SystemExit(f"login of {phone} failed: {r.status} {r.geturl()}")


def api_post(base: str, path: str, token: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def volunteer_setup(url: str) -> tuple[str, list[dict], int | None]:
    """An API token for the volunteer, their route's checkpoints, and an open patrol (ended first) if any."""
    from sqlmodel import Session, select

    from volunteers import accounts
    from volunteers.db import make_engine
    from volunteers.models import Checkpoint, Patrol, User
    engine = make_engine(url)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.phone == VOLUNTEER)).one()
        cps = [dict(id=c.id, lat=c.lat, lon=c.lon) for c in s.exec(
            select(Checkpoint).where(Checkpoint.grid_id == user.home_grid_id).order_by(Checkpoint.id))]
        token = accounts.issue_token(s, user=user)
        open_id = s.exec(select(Patrol.id).where(Patrol.user_id == user.id, Patrol.ended_at.is_(None))).first()
        s.commit()
    engine.dispose()
    return token, cps, open_id


def explain_pass(url: str, n: int, only: str | None = None) -> None:
    """The pages once in-process with SQL captured; EXPLAIN (ANALYZE, BUFFERS) of the N slowest distinct SELECTs."""
    import psycopg
    import sqlalchemy as sa
    from sqlalchemy import event

    from app import create_app
    from volunteers.db import normalise_url

    captured: list[tuple[float, str, object, str]] = []
    current = {"label": ""}

    @event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("t0", []).append(time.perf_counter())

    @event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        dt = time.perf_counter() - conn.info["t0"].pop()
        captured.append((dt, statement, parameters, current["label"]))

    app = create_app()
    clients = {}
    for who, phone in (("officer", OFFICER), ("coordinator", COORDINATOR), ("volunteer", VOLUNTEER), ("anyone", None)):
        c = app.test_client()
        if phone:
            html = c.get("/login").data
            token = re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()
            r = c.post("/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 302, (phone, r.status_code)
        clients[who] = c
    for who, label, path, headers in cases():
        if only and only not in label:
            continue
        for i in range(2):  # the second run is the one kept: warm caches, as in the timed runs
            if i == 1:
                current["label"] = label
            r = clients[who].get(path, headers=headers)
            assert r.status_code == 200, (label, r.status_code)
        current["label"] = ""
    kept = [c for c in captured if c[3] and c[1].lstrip().upper().startswith(("SELECT", "WITH"))]
    per_page: dict[str, tuple[int, float]] = {}
    for dt, _, _, label in kept:
        k, t = per_page.get(label, (0, 0.0))
        per_page[label] = (k + 1, t + dt)
    print("\nIn-process pass: SQL statements and their time per page (one request each, warm)")
    print("| page | statements | SQL time |\n|---|---|---|")
    for label, (k, t) in per_page.items():
        print(f"| {label} | {k} | {1000 * t:.1f} ms |")
    best: dict[str, tuple[float, str, object, str]] = {}
    for dt, stmt, params, label in kept:
        if stmt not in best or best[stmt][0] < dt:
            best[stmt] = (dt, stmt, params, label)
    conninfo = normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        for dt, stmt, params, label in sorted(best.values(), key=lambda x: -x[0])[:n]:
            print(f"\n### {1000 * dt:.1f} ms in the app — {label}\n```sql\n{stmt.strip()}\n```\nparameters: {params!r}\n```")
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).fetchall()
            print("\n".join(r[0] for r in rows))
            print("```")
            conn.rollback()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", required=True, metavar="URL")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--explain", type=int, default=8, help="EXPLAIN (ANALYZE, BUFFERS) of the N slowest statements")
    ap.add_argument("--only", help="run only the cases whose label contains this")
    ap.add_argument("--warmups", type=int, default=12,
                    help="untimed requests per case first: 3 per gunicorn process (4 on 2 cores), because each "
                         "process answers its first request for a page 2-3x slower (SQL statements compiled, "
                         "caches filled); 2 warm-ups left cold processes in the p95")
    ap.add_argument("--show", action="store_true", help="print each case's slowest three times")
    args = ap.parse_args()

    import psycopg

    from bench.checkin_load import Server
    from volunteers.db import normalise_url

    workdir = Path(tempfile.mkdtemp(prefix="province_pages."))
    data = workdir / "data"
    data.mkdir()
    env = dict(os.environ, VOLUNTEERS_DATA_DIR=str(data), DATABASE_URL=args.pg, SECRET_KEY="bench-secret-key",
               VOLUNTEERS_ACCESS_LOG=str(workdir / "access.log"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    os.environ.update(VOLUNTEERS_DATA_DIR=env["VOLUNTEERS_DATA_DIR"], DATABASE_URL=args.pg, SECRET_KEY="bench-secret-key")
    conninfo = normalise_url(args.pg).replace("postgresql+psycopg://", "postgresql://")
    token, cps, open_id = volunteer_setup(args.pg)

    server = Server("app", "app:create_app()", env, workdir)
    results = []
    try:
        base = server.base
        clients = {"anyone": Client(base)}
        for who, phone in (("officer", OFFICER), ("coordinator", COORDINATOR), ("volunteer", VOLUNTEER)):
            clients[who] = Client(base)
            clients[who].login(phone)
        if open_id:
            api_post(base, f"/api/v1/patrols/{open_id}/end", token, {})
        status, patrol = api_post(base, "/api/v1/patrols", token, {"client_id": str(uuid.uuid4())})
        if status != 201:
            raise SystemExit(f"starting the volunteer's patrol: {status} {patrol}")
        stats = True
        with psycopg.connect(conninfo, autocommit=True) as conn:
            try:
                conn.execute("SELECT pg_stat_statements_reset()")
            except psycopg.Error:  # a cluster without shared_preload_libraries=pg_stat_statements: no top list
                stats = False
        todo = [c for c in cases() if not args.only or args.only in c[1]]
        for who, label, path, headers in todo:
            times, size = [], 0
            for i in range(args.runs + args.warmups):
                t0 = time.perf_counter()
                status, body = clients[who].get(path, headers)
                dt = time.perf_counter() - t0
                if status != 200:
                    raise SystemExit(f"{label}: {path} answered {status}: {body[:300]!r}")
                if i >= args.warmups:
                    times.append(dt)
                size = len(body)
            results.append((who, label, path, statistics.median(times), p95(times), size))
            print(f"{who:11} {label:52} median {1000 * results[-1][3]:8.1f} ms  p95 {1000 * results[-1][4]:8.1f} ms  "
                  f"{size / 1024:8.1f} KB" + (f"  slowest {sorted(round(1000 * t) for t in times)[-3:]} ms" if args.show else ""),
                  flush=True)
        if not args.only or "check-in" in args.only:
            times = []
            for i in range(args.runs + 2):
                cp = cps[i % len(cps)]
                body = {"client_id": str(uuid.uuid4()), "lat": cp["lat"], "lon": cp["lon"], "accuracy_m": 8,
                        "checkpoint_id": cp["id"], "recorded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
                t0 = time.perf_counter()
                status, answer = api_post(base, f"/api/v1/patrols/{patrol['id']}/checkins", token, body)
                dt = time.perf_counter() - t0
                if status != 201:
                    raise SystemExit(f"check-in: {status} {answer}")
                if i >= 2:
                    times.append(dt)
            results.append(("volunteer", "check-in POST /api/v1/patrols/<id>/checkins (Bearer)", "", statistics.median(times),
                            p95(times), 0))
            print(f"volunteer   check-in POST                                        median {1000 * results[-1][3]:8.1f} ms  "
                  f"p95 {1000 * results[-1][4]:8.1f} ms", flush=True)
        api_post(base, f"/api/v1/patrols/{patrol['id']}/end", token, {})
        top = []
        with psycopg.connect(conninfo, autocommit=True) as conn:
            top = [] if not stats else conn.execute("""SELECT calls, round(mean_exec_time::numeric, 2), round(max_exec_time::numeric, 1),
                                         round(total_exec_time::numeric, 0), regexp_replace(query, '\\s+', ' ', 'g')
                                  FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'
                                    AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                                  ORDER BY mean_exec_time DESC LIMIT 12""").fetchall()
    finally:
        server.stop()

    print(f"\n{args.runs} requests per case after {args.warmups} warm-ups, one at a time, over HTTP through gunicorn "
          f"(deploy/gunicorn.conf.py defaults), PostgreSQL:")
    print("| who | what | median | p95 | size | aim |\n|---|---|---|---|---|---|")
    for who, label, path, med, p, size in results:
        aim = 5.0 if "XLSX" in label else 0.05 if "check-in" in label else 0.2
        mark = "" if p < aim else " ✗"
        print(f"| {who} | {label} | {1000 * med:.0f} ms | **{1000 * p:.0f} ms**{mark} | "
              f"{f'{size / 1024:.1f} KB' if size else '—'} | < {1000 * aim:.0f} ms |")
    print("\npg_stat_statements, the timed requests, top by mean time:")
    print("| calls | mean ms | max ms | total ms | statement |\n|---|---|---|---|---|")
    for calls, mean, mx, total, q in top:
        print(f"| {calls} | {mean} | {mx} | {total} | `{q[:300]}` |")
    if args.explain:
        explain_pass(args.pg, args.explain, args.only)


if __name__ == "__main__":
    main()
