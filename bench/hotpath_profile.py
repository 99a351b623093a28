"""CPU per request on the phone's three hot writes, in one process, through the Flask test client (issue #13).

    .venv/bin/python bench/hotpath_profile.py                     # SQLite in a fresh temp dir, 2,000 requests each
    .venv/bin/python bench/hotpath_profile.py --pg postgresql://postgres@127.0.0.1:5433/bench   # DROPs schema public
    .venv/bin/python bench/hotpath_profile.py --profile checkin --top 30    # cProfile's top functions too
    .venv/bin/python bench/hotpath_profile.py --profile checkin --dump /tmp/hp    # and /tmp/hp.checkin.prof to dig in
    .venv/bin/python bench/hotpath_profile.py --pg URL -n 500 --ab-prebuilt 8   # db.Prebuilt's direct path vs execute

The demo town, API tokens for the 20 demo volunteers 13800000201–220 and an open patrol each (started through the
API). Then, per write, N requests one after another (volunteers in rotation, a fresh client_id each): a GPS check-in
at the first checkpoint of the volunteer's grid, a hazard report without photos (JSON), and a patrol start + end pair
(counted as two requests). It prints the process CPU time (time.process_time: the Python side, not the database's)
and wall time per request. Unlike the req/s of checkin_load.py this hardly depends on what else the machine runs.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.checkin_load import prepare, reset_postgres, volunteers_with_tokens  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL URL (its public schema is DROPPED and re-created)")
    ap.add_argument("-n", type=int, default=2000, help="requests per write")
    ap.add_argument("--profile", choices=("checkin", "hazard", "patrol"), action="append", default=[],
                    help="run this write under cProfile and print its top functions (repeatable)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--dump", metavar="PREFIX", help="also save each profile as PREFIX.<write>.prof (for pstats or "
                                                     "snakeviz: which calls cost what, callers and callees)")
    ap.add_argument("--only", help="comma-separated: ceiling,checkin,hazard,patrol")
    ap.add_argument("--ab-prebuilt", type=int, metavar="ROUNDS", help="instead: the check-in with db.Prebuilt's "
                    "direct path and with SQLAlchemy's execute, -n each, alternating for ROUNDS rounds (PostgreSQL)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="hotpath_profile."))
    url = args.pg or f"sqlite:///{workdir / 'volunteers.sqlite3'}"
    env = dict(os.environ, VOLUNTEERS_DATA_DIR=str(workdir), DATABASE_URL=url, SECRET_KEY="bench-secret-key")
    if args.pg:
        reset_postgres(args.pg)
    prepare(env)
    people = volunteers_with_tokens(url)

    from app import create_app
    app = create_app({"DATA_DIR": str(workdir), "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key"})
    client = app.test_client()

    def post(path: str, token: str, body: dict) -> tuple[int, dict]:
        r = client.post(path, data=json.dumps(body), content_type="application/json",
                        headers={"Authorization": f"Bearer {token}"})
        return r.status_code, r.get_json()

    for p in people:
        if p["demo_open_patrol"]:
            post(f"/api/v1/patrols/{p['demo_open_patrol']}/end", p["token"], {})
        status, patrol = post("/api/v1/patrols", p["token"], {"client_id": str(uuid.uuid4())})
        assert status == 201, (status, patrol)
        p["patrol_id"] = patrol["id"]

    def checkin(i: int) -> None:
        p = people[i % len(people)]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        status, out = post(f"/api/v1/patrols/{p['patrol_id']}/checkins", p["token"], {
            "client_id": str(uuid.uuid4()), "lat": p["lat"], "lon": p["lon"], "accuracy_m": 8,
            "checkpoint_id": p["checkpoint_id"], "recorded_at": now})
        assert status == 201, (status, out)

    def hazard(i: int) -> None:
        p = people[i % len(people)]
        status, out = post("/api/v1/hazards", p["token"], {
            "client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire",
            "description": "楼道堆放杂物，堵住了消防通道", "lat": p["lat"], "lon": p["lon"], "accuracy_m": 8})
        assert status == 201, (status, out)

    def patrol(i: int) -> None:
        # A start needs no open patrol: end the volunteer's open one first (both are requests on the hot path).
        p = people[i % len(people)]
        status, out = post(f"/api/v1/patrols/{p['patrol_id']}/end", p["token"], {})
        assert status == 200, (status, out)
        status, out = post("/api/v1/patrols", p["token"], {"client_id": str(uuid.uuid4())})
        assert status == 201, (status, out)
        p["patrol_id"] = out["id"]

    os.environ["DATABASE_URL"] = url
    from bench.checkin_load import ceiling_app
    ceiling = ceiling_app().test_client()

    def ceiling_checkin(i: int) -> None:
        p = people[i % len(people)]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        r = ceiling.post("/checkin", data=json.dumps({
            "client_id": str(uuid.uuid4()), "lat": p["lat"], "lon": p["lon"], "accuracy_m": 8,
            "checkpoint_id": p["checkpoint_id"], "recorded_at": now, "patrol_id": p["patrol_id"]}),
            content_type="application/json", headers={"Authorization": f"Bearer {p['token']}"})
        assert r.status_code == 201, r.status_code

    if args.ab_prebuilt:
        return ab_prebuilt(args, checkin, ceiling_checkin, app, workdir)
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}, {args.n} requests per write, one thread, Flask test client")
    only = set(args.only.split(",")) if args.only else None
    for name, fn, per in (("ceiling checkin", ceiling_checkin, 1), ("checkin", checkin, 1), ("hazard", hazard, 1),
                          ("patrol start+end", patrol, 2)):
        if only and name.split()[0] not in only and name not in only:
            continue
        key = name.split()[0]
        for i in range(50):  # warm-up: caches, pools, first-use imports
            fn(i)
        prof = cProfile.Profile(time.process_time) if key in args.profile else None  # CPU, not wall
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        n = args.n // per
        for i in range(n):
            fn(i)
        if prof:
            prof.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        print(f"{name:17} CPU {1e6 * cpu / (n * per):7.0f} µs/request   wall {1e6 * wall / (n * per):7.0f} µs/request"
              + ("   (under cProfile: inflated)" if prof else ""), flush=True)
        if prof:
            stats = pstats.Stats(prof)
            if args.dump:
                stats.dump_stats(f"{args.dump}.{key}.prof")
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
    app.extensions["volunteers.engine"].dispose()
    subprocess.run(["rm", "-rf", str(workdir)])


def ab_prebuilt(args, checkin, ceiling_checkin, app, workdir) -> None:
    """D105's A/B in one process: the same check-ins with db.Prebuilt's direct path (psycopg's cursor) and with
    SQLAlchemy's execute, in alternating blocks (the order flips by round), and the ceiling's between them."""
    import statistics

    from volunteers import db
    direct = (db.Prebuilt.first, db.Prebuilt.scalar, db.Prebuilt.scalar_one)
    through = (lambda self, conn, p: conn.execute(self.statement, p).first(),
               lambda self, conn, p: conn.execute(self.statement, p).scalar(),
               lambda self, conn, p: conn.execute(self.statement, p).scalar_one())
    cpu: dict[str, list[float]] = {"direct": [], "sqlalchemy": [], "ceiling": []}

    def block(name: str, fn) -> None:
        start = time.process_time()
        for i in range(args.n):
            fn(i)
        cpu[name].append(1e6 * (time.process_time() - start) / args.n)

    for i in range(100):  # warm-up
        checkin(i)
        ceiling_checkin(i)
    for r in range(args.ab_prebuilt):
        for name in (("direct", "sqlalchemy") if r % 2 else ("sqlalchemy", "direct")):
            db.Prebuilt.first, db.Prebuilt.scalar, db.Prebuilt.scalar_one = direct if name == "direct" else through
            block(name, checkin)
        block("ceiling", ceiling_checkin)
    db.Prebuilt.first, db.Prebuilt.scalar, db.Prebuilt.scalar_one = direct
    print(f"check-in CPU µs per request, {args.ab_prebuilt} rounds of {args.n}, median [each round]:")
    for name, values in cpu.items():
        print(f"  {name:11} {statistics.median(values):6.0f}  {[round(v) for v in values]}")
    app.extensions["volunteers.engine"].dispose()
    subprocess.run(["rm", "-rf", str(workdir)])


if __name__ == "__main__":
    main()
