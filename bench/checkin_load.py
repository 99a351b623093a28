"""The check-in under load: the app against the bare-insert ceiling, side by side in one run (issue #13).

    .venv/bin/python bench/checkin_load.py                       # SQLite in a fresh data dir
    .venv/bin/python bench/checkin_load.py --pg postgresql://postgres@127.0.0.1:5433/bench   # resets that database!

1. A fresh database with the demo town: a new data dir with SQLite, or (--pg URL) that PostgreSQL database with its
   `public` schema dropped and re-created; then `flask --app app init-db` and `flask --app app demo`.
2. API tokens for the 20 demo volunteers 13800000201..220 and one open patrol each, started through the API.
3. Two gunicorns with deploy/gunicorn.conf.py and the same workers × threads (default 2 × 4): the project
   (`app:create_app()`) and the ceiling (`bench.checkin_load:ceiling_app()`), a bare Flask + SQLAlchemy Core app whose
   POST /checkin parses the same JSON and inserts the same `checkin` row (all the columns of volunteers.models.CheckIn,
   unique client_id) into the same database and answers 201 JSON — no token look-up, no scope, no rules, no audit.
4. wrk (Debian's `wrk`) with a Lua script: each request is one volunteer (tokens and patrols in rotation) checking in
   at a checkpoint of their own grid (its lat/lon, accuracy_m 8, checkpoint_id, recorded_at now) with a fresh
   client_id. First each server gets --warmup seconds (default 5, not counted). Then for each connection count
   (default 20 and 200) the ceiling and the app run for --seconds each, the ceiling first in odd rounds and the app
   first in even ones; --rounds repeats that and the table gives medians. Every status that is not 201 is counted
   and printed.

Only one server is under load at a time; the other sits idle. Patrols fill up as the run goes on (each check-in
joins its volunteer's one open patrol), so later rounds measure fuller patrols.

--write hazard: a hazard report without photos (POST /api/v1/hazards, JSON) against a bare insert of the same
`hazard` row. --write patrol: a patrol start (POST /api/v1/patrols) against a bare insert of the same open `patrol`
row; the starts come from --starters (20,000) more volunteers with tokens, added in one set-based INSERT, each
starting one patrol per run (wrk's threads take turns through them); every open patrol of theirs is ended straight
in the database before each run, the ceiling's and the app's alike.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: volunteers/ is importable
VOLUNTEERS = [f"138000002{n:02d}" for n in range(1, 21)]  # 13800000201 … 13800000220


# --- The ceiling: a bare Flask + SQLAlchemy Core app -------------------------------------------------------------

def ceiling_app():
    """POST /checkin: parse the check-in JSON, insert the same `checkin` row, answer 201. Served by gunicorn."""
    import sqlalchemy as sa
    from flask import Flask, jsonify, request

    from volunteers.db import make_engine  # the app's own engine settings (SQLite: WAL, foreign keys, timeout)
    from volunteers.models import CheckIn, Hazard, Patrol

    engine = make_engine(os.environ["DATABASE_URL"])
    table = CheckIn.__table__  # the Core table: same columns and types (UTC timestamps, JSON flags)
    app = Flask("ceiling")

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.post("/checkin")
    def checkin():
        data = request.get_json()
        client_id = str(uuid.UUID(data["client_id"]))
        recorded = datetime.fromisoformat(data["recorded_at"].replace("Z", "+00:00")).astimezone(timezone.utc)
        now = datetime.now(timezone.utc)
        fp = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        row = dict(client_id=client_id, fingerprint=fp, patrol_id=int(data["patrol_id"]),
                   checkpoint_id=int(data["checkpoint_id"]), method="gps", lat=float(data["lat"]),
                   lon=float(data["lon"]), accuracy_m=float(data["accuracy_m"]), distance_m=0.0,
                   recorded_at=recorded, received_at=now, flags=[])
        with engine.begin() as conn:
            new_id = conn.execute(sa.insert(table).values(**row).returning(table.c.id)).scalar_one()
        return jsonify(id=new_id, patrol_id=row["patrol_id"], checkpoint_id=row["checkpoint_id"], method="gps",
                       distance_m=0.0, flags=[], recorded_at=recorded.isoformat(), received_at=now.isoformat()), 201

    hazards = Hazard.__table__

    @app.post("/hazard")
    def hazard():
        """The same hazard row as a report without photos: parsed, inserted, answered — no grid lookup, no event,
        no notification, no audit."""
        data = request.get_json()
        now = datetime.now(timezone.utc)
        fp = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        row = dict(client_id=str(uuid.UUID(data["client_id"])), fingerprint=fp, station_id=int(data["station_id"]),
                   grid_id=int(data["grid_id"]), reporter_id=int(data["reporter_id"]), kind="hazard",
                   category=data["category"], description=data["description"], lat=float(data["lat"]),
                   lon=float(data["lon"]), accuracy_m=float(data["accuracy_m"]), address="", status="reported",
                   priority="normal", reported_at=now, updated_at=now)
        with engine.begin() as conn:
            new_id = conn.execute(sa.insert(hazards).values(**row).returning(hazards.c.id)).scalar_one()
        return jsonify(id=new_id, grid_id=row["grid_id"], status="reported"), 201

    patrols = Patrol.__table__

    @app.post("/patrol")
    def patrol():
        """The same patrol row as a start: parsed, inserted (open: the one-open-patrol index is kept up too),
        answered — no token, no route look-up, no audit."""
        data = request.get_json()
        now = datetime.now(timezone.utc)
        fp = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        row = dict(client_id=str(uuid.UUID(data["client_id"])), fingerprint=fp, user_id=int(data["user_id"]),
                   station_id=int(data["station_id"]), route_id=data.get("route_id"), started_at=now,
                   received_at=now, discarded=False)
        with engine.begin() as conn:
            new_id = conn.execute(sa.insert(patrols).values(**row).returning(patrols.c.id)).scalar_one()
        return jsonify(id=new_id, started_at=now.isoformat(), ended_at=None, route_id=row["route_id"], minutes=0,
                       discarded=False), 201

    return app


# --- Setting up the database -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    from volunteers.db import normalise_url
    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(env: dict[str, str]) -> None:
    flask = str(Path(sys.executable).with_name("flask"))
    for cmd in (["init-db"], ["demo"]):
        subprocess.run([flask, "--app", "app", *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def volunteers_with_tokens(url: str) -> list[dict]:
    """Issue a token for each demo volunteer; pick the first checkpoint in use of their home grid."""
    from sqlmodel import Session, select

    from volunteers import accounts
    from volunteers.db import make_engine
    from volunteers.models import Checkpoint, Patrol, User

    engine = make_engine(url)
    out = []
    with Session(engine) as session:
        for phone in VOLUNTEERS:
            user = session.exec(select(User).where(User.phone == phone)).one()
            cp = session.exec(select(Checkpoint).where(Checkpoint.grid_id == user.home_grid_id,
                                                       Checkpoint.retired_at.is_(None))
                              .order_by(Checkpoint.id)).first()
            token = accounts.issue_token(session, user=user)
            # The demo town leaves some volunteers on patrol: that patrol is ended (through the API) first.
            demo_open = session.exec(select(Patrol.id).where(Patrol.user_id == user.id,
                                                             Patrol.ended_at.is_(None))).first()
            out.append({"phone": phone, "token": token, "checkpoint_id": cp.id, "lat": cp.lat, "lon": cp.lon,
                        "demo_open_patrol": demo_open, "user_id": user.id, "station_id": user.station_id,
                        "grid_id": user.home_grid_id})
    engine.dispose()
    return out


def post(base: str, path: str, token: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


# --- The servers -------------------------------------------------------------------------------------------------

class Server:
    def __init__(self, name: str, target: str, env: dict[str, str], workdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / f"{name}.log", "wb")
        env = dict(env, VOLUNTEERS_BIND=f"127.0.0.1:{self.port}",
                   VOLUNTEERS_ACCESS_LOG=str(workdir / f"{name}.access.log"))
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen([gunicorn, "-c", "deploy/gunicorn.conf.py", target], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{name} did not come up; see {workdir / (name + '.log')}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# --- The load: wrk and its Lua script ----------------------------------------------------------------------------

LUA = r"""
-- Generated by bench/checkin_load.py. One volunteer per request, in rotation; a fresh UUID client_id each time.
local people = {PEOPLE}
local ceiling = {CEILING}
local counter = 0
statuses = {}  -- globals: done() reads them from each thread with thread:get
samples = {}
tid = 0  -- set per thread by setup()
local threads = {}

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919 + math.floor(os.clock() * 1e6))
  counter = {PATROL} and 0 or math.random(0, #people - 1)
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-a%03x-%04x%08x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
                       math.random(0, 0xfff), math.random(0, 0xfff), tid, counter)
end

function request()
  counter = counter + 1
  if {PATROL} then
    -- Each request starts a patrol for a volunteer with none open: threads take turns through the list, and the
    -- runner ends every open patrol before each run.
    local p = people[(((counter - 1) * {THREADS} + tid - 1) % #people) + 1]
    local body = string.format('{"client_id":"%s"%s}', uuid4(),
      ceiling and string.format(',"user_id":%d,"station_id":%d,"route_id":%s', p.user_id, p.station_id, p.route_id) or "")
    return wrk.format("POST", ceiling and "/patrol" or "/api/v1/patrols",
                      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. p.token}, body)
  end
  local p = people[(counter % #people) + 1]
  if {HAZARD} then
    local body = string.format(
      '{"client_id":"%s","kind":"hazard","category":"fire","description":"楼道堆放杂物，堵住了消防通道","lat":%.7f,"lon":%.7f,"accuracy_m":8%s}',
      uuid4(), p.lat, p.lon,
      ceiling and string.format(',"station_id":%d,"grid_id":%d,"reporter_id":%d', p.station_id, p.grid_id, p.user_id) or "")
    return wrk.format("POST", ceiling and "/hazard" or "/api/v1/hazards",
                      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. p.token}, body)
  end
  local body = string.format(
    '{"client_id":"%s","lat":%.7f,"lon":%.7f,"accuracy_m":8,"checkpoint_id":%d,"recorded_at":"%s"%s}',
    uuid4(), p.lat, p.lon, p.checkpoint_id, os.date("!%Y-%m-%dT%H:%M:%SZ"),
    ceiling and string.format(',"patrol_id":%d', p.patrol_id) or "")
  local path = ceiling and "/checkin" or string.format("/api/v1/patrols/%d/checkins", p.patrol_id)
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer " .. p.token}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 201 and #samples < 3 then table.insert(samples, status .. " " .. string.sub(body or "", 1, 200)) end
end

local function flat(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, tostring(k) .. "=" .. tostring(v)) end
  return table.concat(parts, ",")
end

function done(summary, latency, requests)
  local counts, notes = {}, {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end
    for _, n in ipairs(thread:get("samples")) do table.insert(notes, n) end
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %s\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, flat(counts)))
  for _, n in ipairs(notes) do io.write("SAMPLE " .. string.gsub(n, "\n", " ") .. "\n") end
end
"""


def lua_table(people: list[dict]) -> str:
    rows = [('{token="%s",patrol_id=%d,checkpoint_id=%d,lat=%r,lon=%r,user_id=%d,station_id=%d,grid_id=%d,route_id=%s}'
             % (p["token"], p.get("patrol_id", 0), p["checkpoint_id"], p["lat"], p["lon"], p["user_id"],
                p["station_id"], p["grid_id"], "nil" if p.get("route_id") is None else p["route_id"])) for p in people]
    return "{" + ",".join(rows) + "}"


def patrol_starters(url: str, count: int) -> list[dict]:
    """`--write patrol`: `count` more volunteers with tokens (one set-based INSERT, bench/open_loop.py), each to start
    one patrol per run; with their ids, station and home grid's first route for the ceiling's identical row."""
    import sqlalchemy as sa

    from bench.open_loop import add_volunteers
    from volunteers.db import make_engine

    people = add_volunteers(url, count)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT u.id, u.station_id, u.home_grid_id, (SELECT min(r.id) FROM route r WHERE r.grid_id = u.home_grid_id) "
            "FROM \"user\" u WHERE u.phone LIKE '139%' ORDER BY u.id")).all()
    engine.dispose()
    for p, (user_id, station_id, grid_id, route_id) in zip(people, rows):
        p.update(user_id=user_id, station_id=station_id, grid_id=grid_id, route_id=route_id)
    return people


def end_open_patrols(url: str) -> None:
    """Before each `--write patrol` run: the starters' open patrols are ended, straight in the database — once the
    last run's requests that a server had already taken in are done (wrk stops sending at the deadline; a server
    under 200 connections still answers its queue for a few seconds, and those starts would collide with the next
    run's as 409 / 500)."""
    import sqlalchemy as sa

    from volunteers.db import make_engine
    engine = make_engine(url)
    count, deadline = None, time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            now = conn.execute(sa.text("SELECT count(*) FROM patrol")).scalar()
        if now == count:
            break
        count = now
        time.sleep(1.0)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE patrol SET ended_at = received_at, discarded = :t WHERE ended_at IS NULL "
                             "AND user_id IN (SELECT id FROM \"user\" WHERE phone LIKE '139%')"), {"t": True})
    engine.dispose()


def run_wrk(base: str, script: Path, connections: int, seconds: int, threads: int) -> dict:
    cmd = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds}s",
           "--timeout", "30s", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    f = line.split()
    statuses = dict(kv.split("=") for kv in f[10].split(",")) if len(f) > 10 and f[10] else {}
    requests, duration_us = int(f[1]), int(f[2])
    return {"rps": requests / (duration_us / 1e6), "p50": int(f[3]) / 1000, "p95": int(f[4]) / 1000,
            "p99": int(f[5]) / 1000, "socket_errors": sum(int(x) for x in f[6:10]),
            "statuses": {int(k): int(v) for k, v in statuses.items()},
            "samples": [l[7:] for l in out.splitlines() if l.startswith("SAMPLE ")]}


# --- Main --------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL URL (its public schema is DROPPED and re-created)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--connections", default="20,200")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5, help="seconds of load on each server first, not counted: the "
                                                          "ceiling's gunicorn starts cold, the app's has served the "
                                                          "patrol starts")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--write", choices=("checkin", "hazard", "patrol"), default="checkin",
                    help="what each request writes: a GPS check-in, a hazard report without photos, or a patrol start "
                         "(by one of --starters more volunteers, each starting one patrol per run)")
    ap.add_argument("--starters", type=int, default=20000, help="volunteers for --write patrol")
    ap.add_argument("--keep", action="store_true", help="keep the data dir (logs, SQLite file)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="checkin_load."))
    data = workdir / "data"
    data.mkdir()
    url = args.pg or f"sqlite:///{data / 'volunteers.sqlite3'}"
    env = dict(os.environ, VOLUNTEERS_DATA_DIR=str(data), DATABASE_URL=url, SECRET_KEY="bench-secret-key",
               VOLUNTEERS_WORKERS=str(args.workers), VOLUNTEERS_THREADS=str(args.threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if args.pg:
        reset_postgres(args.pg)
    print(f"== database: {'PostgreSQL' if args.pg else 'SQLite'} ({workdir}); init-db + demo", flush=True)
    prepare(env)
    people = volunteers_with_tokens(url)
    starters = patrol_starters(url, args.starters) if args.write == "patrol" else None

    servers: dict[str, Server] = {}
    try:
        servers["app"] = Server("app", "app:create_app()", env, workdir)
        for p in people:
            if p["demo_open_patrol"]:
                status, ended = post(servers["app"].base, f"/api/v1/patrols/{p['demo_open_patrol']}/end", p["token"], {})
                if status != 200:
                    raise SystemExit(f"ending the demo's open patrol of {p['phone']}: {status} {ended}")
            status, patrol = post(servers["app"].base, "/api/v1/patrols", p["token"], {"client_id": str(uuid.uuid4())})
            if status != 201:
                raise SystemExit(f"starting a patrol for {p['phone']}: {status} {patrol}")
            p["patrol_id"] = patrol["id"]
        servers["ceiling"] = Server("ceiling", "bench.checkin_load:ceiling_app()", env, workdir)
        print(f"== gunicorn -w {args.workers} -k gthread --threads {args.threads} for both; "
              f"{len(people)} volunteers with open patrols", flush=True)
        scripts = {}
        for name in ("ceiling", "app"):
            scripts[name] = workdir / f"{name}.lua"
            scripts[name].write_text(LUA.replace("{PEOPLE}", lua_table(starters or people))
                                     .replace("{CEILING}", "true" if name == "ceiling" else "false")
                                     .replace("{HAZARD}", "true" if args.write == "hazard" else "false")
                                     .replace("{PATROL}", "true" if args.write == "patrol" else "false")
                                     .replace("{THREADS}", str(args.wrk_threads)))
        conns = [int(c) for c in args.connections.split(",")]
        results: dict[tuple[str, int], list[dict]] = {}
        for name in ("ceiling", "app") if args.warmup > 0 else ():
            if starters:
                end_open_patrols(url)
            run_wrk(servers[name].base, scripts[name], conns[0], args.warmup, args.wrk_threads)
        for rnd in range(1, args.rounds + 1):
            for c in conns:
                # Which server goes first alternates by round: a trend in the machine's load (or the tables' growth)
                # must not always land on the same one.
                for name in ("ceiling", "app") if rnd % 2 else ("app", "ceiling"):
                    if starters:
                        end_open_patrols(url)
                    r = run_wrk(servers[name].base, scripts[name], c, args.seconds, args.wrk_threads)
                    results.setdefault((name, c), []).append(r)
                    bad = {s: n for s, n in r["statuses"].items() if s != 201}
                    print(f"round {rnd} {name:7} c={c:<4} {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f} ms  "
                          f"p95 {r['p95']:7.1f} ms  p99 {r['p99']:7.1f} ms  201: {r['statuses'].get(201, 0)}  "
                          f"non-201: {sum(bad.values())} {bad or ''}  socket errors: {r['socket_errors']}", flush=True)
                    for s in r["samples"]:
                        print(f"    non-201 sample: {s}")
    finally:
        for s in servers.values():
            s.stop()

    print(f"\n{args.write}: medians of {args.rounds} round(s), {args.seconds} s each, "
          f"{'PostgreSQL' if args.pg else 'SQLite'}, gunicorn -w {args.workers} --threads {args.threads}:")
    print("| connections | ceiling req/s | ceiling p50 / p95 ms | app req/s | app p50 / p95 ms | app/ceiling | per round | non-201 (app, ceiling) |")
    print("|---|---|---|---|---|---|---|---|")
    for c in conns:
        m = {}
        for name in ("ceiling", "app"):
            rs = results[(name, c)]
            m[name] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p95")}
            m[name]["bad"] = sum(n for r in rs for s, n in r["statuses"].items() if s != 201) + \
                sum(r["socket_errors"] for r in rs)
        per_round = [a["rps"] / b["rps"] for a, b in zip(results[("app", c)], results[("ceiling", c)])]
        rounds = ", ".join(f"{100 * x:.0f}" for x in per_round)
        print(f"| {c} | {m['ceiling']['rps']:.0f} | {m['ceiling']['p50']:.0f} / {m['ceiling']['p95']:.0f} | "
              f"{m['app']['rps']:.0f} | {m['app']['p50']:.0f} / {m['app']['p95']:.0f} | "
              f"**{100 * m['app']['rps'] / m['ceiling']['rps']:.0f} %** | {rounds} % | {m['app']['bad']}, {m['ceiling']['bad']} |")
    if args.keep:
        print(f"(kept {workdir})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
