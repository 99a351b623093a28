"""Check-in latency at a realistic load, open loop (issue #13): N volunteers each checking in every P seconds.

    .venv/bin/python bench/open_loop.py --pg postgresql://postgres@127.0.0.1:5433/bench   # resets that database!
    .venv/bin/python bench/open_loop.py                                                  # SQLite in a fresh data dir

1. A fresh database with the demo town (as checkin_load.py), then --volunteers extra volunteers (default 2,000) added
   in one set-based INSERT, spread over the town's grids, each with an API token and an open patrol.
2. The app under gunicorn with deploy/gunicorn.conf.py (--workers × --threads).
3. The schedule is fixed before the run: each volunteer checks in every --period seconds (default 60) at a random
   phase, at a checkpoint of their grid, for --seconds (default 120): ≈ volunteers / period requests per second
   offered whatever the server does (open loop). A pool of client threads sends each request at its time; the
   latency is counted from the scheduled time, not from when a thread got to it, so a slow server cannot hide its
   queue (no coordinated omission).
Prints the offered and achieved rate, p50 / p95 / p99 / max and every status that is not 201.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.checkin_load import Server, post, prepare, reset_postgres  # noqa: E402


def add_volunteers(url: str, count: int) -> list[dict]:
    """`count` volunteers in the town's grids (one INSERT … SELECT), each with a token; their first checkpoint."""
    import hashlib
    import secrets

    import sqlalchemy as sa
    from sqlmodel import Session, select

    from volunteers.db import make_engine
    from volunteers.models import ApiToken, Checkpoint, Grid, User, utcnow

    engine = make_engine(url)
    with Session(engine) as session:
        grids = list(session.exec(select(Grid).order_by(Grid.id)))
        points = {g.id: session.exec(select(Checkpoint).where(Checkpoint.grid_id == g.id, Checkpoint.retired_at.is_(None))
                                     .order_by(Checkpoint.id)).first() for g in grids}
        grids = [g for g in grids if points[g.id] is not None]
        template = session.exec(select(User).where(User.role == "volunteer")).first()
        now = utcnow()
        rows = [dict(station_id=g.station_id, phone=f"139{n:08d}", name=f"压测志愿者{n}",
                     password_hash=template.password_hash, role="volunteer", status="active", home_grid_id=g.id,
                     created_at=now, must_change_password=False)
                for n, g in ((n, grids[n % len(grids)]) for n in range(count))]
        session.execute(sa.insert(User.__table__), rows)
        session.commit()
        users = list(session.exec(select(User).where(User.phone.like("139%")).order_by(User.id)))
        tokens = {u.id: secrets.token_urlsafe(32) for u in users}
        session.execute(sa.insert(ApiToken.__table__), [
            dict(user_id=u.id, token_hash=hashlib.sha256(tokens[u.id].encode()).hexdigest(), label="bench", created_at=now)
            for u in users])
        session.commit()
        out = [{"token": tokens[u.id], "checkpoint_id": points[u.home_grid_id].id, "lat": points[u.home_grid_id].lat,
                "lon": points[u.home_grid_id].lon} for u in users]
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL URL (its public schema is DROPPED and re-created)")
    ap.add_argument("--volunteers", type=int, default=2000)
    ap.add_argument("--period", type=float, default=60.0, help="seconds between one volunteer's check-ins")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--clients", type=int, default=64, help="client threads sending the scheduled requests")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="open_loop."))
    data = workdir / "data"
    data.mkdir()
    url = args.pg or f"sqlite:///{data / 'volunteers.sqlite3'}"
    env = dict(os.environ, VOLUNTEERS_DATA_DIR=str(data), DATABASE_URL=url, SECRET_KEY="bench-secret-key",
               VOLUNTEERS_WORKERS=str(args.workers), VOLUNTEERS_THREADS=str(args.threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if args.pg:
        reset_postgres(args.pg)
    print(f"== {'PostgreSQL' if args.pg else 'SQLite'} ({workdir}): init-db + demo + {args.volunteers} volunteers", flush=True)
    prepare(env)
    people = add_volunteers(url, args.volunteers)
    server = Server("app", "app:create_app()", env, workdir)
    try:
        started = time.monotonic()
        for p in people:  # each an open patrol, through the API
            status, patrol = post(server.base, "/api/v1/patrols", p["token"], {"client_id": str(uuid.uuid4())})
            if status != 201:
                raise SystemExit(f"starting a patrol: {status} {patrol}")
            p["patrol_id"] = patrol["id"]
        print(f"== {len(people)} patrols started in {time.monotonic() - started:.0f} s; "
              f"gunicorn -w {args.workers} --threads {args.threads}", flush=True)

        rng = random.Random(13)
        phases = [rng.uniform(0, args.period) for _ in people]  # each volunteer's own moment in the period
        schedule = sorted((phases[i] + k * args.period, i) for i in range(len(people))
                          for k in range(int(args.seconds // args.period) + 1) if phases[i] + k * args.period < args.seconds)
        jobs: queue.Queue = queue.Queue()
        for item in schedule:
            jobs.put(item)
        results: list[tuple[float, int]] = []
        lock = threading.Lock()
        host, port = "127.0.0.1", server.port
        t0 = time.monotonic() + 1.0

        def client() -> None:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            while True:
                try:
                    at, i = jobs.get_nowait()
                except queue.Empty:
                    return
                wait = t0 + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                p = people[i]
                body = json.dumps({"client_id": str(uuid.uuid4()), "checkpoint_id": p["checkpoint_id"], "lat": p["lat"],
                                   "lon": p["lon"], "accuracy_m": 8,
                                   "recorded_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")})
                try:
                    conn.request("POST", f"/api/v1/patrols/{p['patrol_id']}/checkins", body=body, headers={
                        "Authorization": f"Bearer {p['token']}", "Content-Type": "application/json"})
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                except OSError:
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                    status = 0
                done = time.monotonic()
                with lock:
                    results.append(((done - (t0 + at)) * 1000, status))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
    finally:
        server.stop()

    latencies = sorted(ms for ms, _s in results)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    bad: dict[int, int] = {}
    for _ms, s in results:
        if s != 201:
            bad[s] = bad.get(s, 0) + 1
    print(f"\n{len(results)} check-ins over {elapsed:.0f} s: offered {len(schedule) / args.seconds:.1f} req/s "
          f"({args.volunteers} volunteers every {args.period:.0f} s), achieved {len(results) / elapsed:.1f} req/s")
    print(f"| p50 | p95 | p99 | max | non-201 |\n|---|---|---|---|---|\n"
          f"| {q[49]:.1f} ms | {q[94]:.1f} ms | {q[98]:.1f} ms | {latencies[-1]:.1f} ms | {bad or 0} |")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
