"""Bench: the monthly hours tally page and the XLSX export for a county-sized station.

Builds one station with N volunteers (default 3,000) in 40 grids and 30 teams and a year of service records
(default ≈ 500,000: patrol, task and manual rows, 85 % approved, 10 % pending, 5 % rejected), bulk-inserted with
Core executemany, then times through the Flask test client, logged in as the coordinator:
  - GET /hours/tally for one month per volunteer, per team and per grid (the page, rendered),
  - GET /hours/export.xlsx for that month per volunteer, and for the whole year per volunteer.
Prints the median (and range) of --runs runs of each.

    .venv/bin/python bench/hours_tally.py                 # SQLite, then a throwaway PostgreSQL cluster
    .venv/bin/python bench/hours_tally.py --db sqlite --records 100000
    DATABASE_URL=postgresql://… .venv/bin/python bench/hours_tally.py --db postgres   # an existing, EMPTY database
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from glob import glob
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from volunteers import db as dbs, hours  # noqa: E402
from volunteers.models import Grid, ServiceRecord, Station, Team, TeamMember, User  # noqa: E402

PASSWORD = "bench1234"
YEAR = 2026
MONTH = (date(YEAR, 10, 1), date(YEAR, 10, 31))


def build(engine: sa.Engine, volunteers: int, records: int, seed: int = 7) -> None:
    """Fill an empty, migrated database with the county station."""
    rng = random.Random(seed)
    cheap = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    with engine.begin() as conn:
        station_id = conn.execute(sa.insert(Station).values(code="COUNTY", name="某县平安志愿者协会")
                                  .returning(Station.id)).scalar_one()
        grid_rows = [{"station_id": station_id, "code": f"G{i:02d}", "name": f"第{i}网格", "boundary": {}} for i in range(1, 41)]
        conn.execute(sa.insert(Grid), grid_rows)
        grid_ids = list(conn.execute(sa.select(Grid.id).order_by(Grid.id)).scalars())
        conn.execute(sa.insert(Team), [{"station_id": station_id, "name": f"第{i}队", "kind": "patrol"} for i in range(1, 31)])
        team_ids = list(conn.execute(sa.select(Team.id).order_by(Team.id)).scalars())
        now = datetime.now(timezone.utc)
        conn.execute(sa.insert(User), [{"station_id": station_id, "phone": "13700000000", "name": "县协调员",
                                        "password_hash": cheap, "role": "coordinator", "status": "active",
                                        "home_grid_id": None, "created_at": now}])
        conn.execute(sa.insert(User), [{"station_id": station_id, "phone": f"136{i:08d}", "name": f"志愿者{i:04d}",
                                        "password_hash": cheap, "role": "volunteer", "status": "active",
                                        "home_grid_id": grid_ids[i % len(grid_ids)], "created_at": now}
                                       for i in range(volunteers)])
        people = list(conn.execute(sa.select(User.id, User.home_grid_id).where(User.role == "volunteer")
                                   .order_by(User.id)))
        members = [{"team_id": team_ids[n % len(team_ids)], "user_id": uid} for n, (uid, _g) in enumerate(people)]
        members += [{"team_id": team_ids[(n + 7) % len(team_ids)], "user_id": uid}
                    for n, (uid, _g) in enumerate(people) if n % 3 == 0]
        conn.execute(sa.insert(TeamMember), members)
    start = datetime(YEAR - 1, 11, 25, tzinfo=timezone.utc)
    table = ServiceRecord.__table__
    batch = []
    made = 0
    t0 = time.perf_counter()
    for n in range(records):
        uid, grid = people[rng.randrange(len(people))]
        begins = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        minutes = rng.randint(30, 180)
        roll = rng.random()
        status = "approved" if roll < 0.85 else "pending" if roll < 0.95 else "rejected"
        source = "patrol" if roll < 0.7 else "assignment" if roll < 0.92 else "manual"
        batch.append({"station_id": station_id, "volunteer_id": uid, "grid_id": grid, "source": source,
                      "starts_at": begins, "ends_at": begins + timedelta(minutes=minutes), "month": hours.month_of(begins),
                      "minutes": minutes, "status": status, "flags": [], "reason": "", "rejection_reason": "",
                      "created_at": begins})
        if len(batch) == 20_000:
            with engine.begin() as conn:
                conn.execute(sa.insert(table), batch)
            made += len(batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(sa.insert(table), batch)
        made += len(batch)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"  built {len(people)} volunteers, {made} records in {time.perf_counter() - t0:.1f} s", flush=True)


def timed(client, url: str, runs: int) -> tuple[float, float, float, int]:
    """Median, fastest and slowest seconds of `runs` GETs (after one warm-up), and the answer's size."""
    first = client.get(url)
    assert first.status_code == 200, (url, first.status_code, first.text[:300])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200
    return statistics.median(times), min(times), max(times), len(first.data)


def bench(url: str, volunteers: int, records: int, runs: int, data_dir: str) -> list[tuple[str, float, float, float, int]]:
    engine = dbs.make_engine(url)
    dbs.migrate(engine)
    build(engine, volunteers, records)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"phone": "13700000000", "password": PASSWORD}).status_code == 302
    month = f"from={MONTH[0]}&to={MONTH[1]}"
    year = f"from={YEAR - 1}-11-25&to={YEAR}-11-24"
    cases = [("tally page, one month, per volunteer", f"/hours/tally?{month}&by=volunteer"),
             ("tally page, one month, per team", f"/hours/tally?{month}&by=team"),
             ("tally page, one month, per grid", f"/hours/tally?{month}&by=grid"),
             ("XLSX export, one month, per volunteer", f"/hours/export.xlsx?{month}&by=volunteer"),
             ("XLSX export, whole year, per volunteer", f"/hours/export.xlsx?{year}&by=volunteer"),
             ("monthly evaluation page (月考评), per grid", f"/hours/months?month={MONTH[0]:%Y-%m}&by=grid")]
    results = []
    for name, path in cases:
        med, low, high, size = timed(client, path, runs)
        print(f"  {name}: median {med * 1000:.0f} ms ({low * 1000:.0f}–{high * 1000:.0f}), {size / 1024:.0f} KB", flush=True)
        results.append((name, med, low, high, size))
    app.extensions["volunteers.engine"].dispose()
    return results


def throwaway_postgres():
    """Start a PostgreSQL cluster on a free 127.0.0.1 port (as bin/test does); returns (url, stop)."""
    pg_bin = os.path.dirname(sorted(glob("/usr/lib/postgresql/*/bin/initdb"))[-1])
    pg_dir = tempfile.mkdtemp(prefix="volunteers-bench-pg.")
    as_pg = []
    if os.getuid() == 0:
        shutil.chown(pg_dir, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_pg + [f"{pg_bin}/initdb", "-D", f"{pg_dir}/data", "-A", "trust", "-U", "postgres", "--no-sync",
                            "-E", "UTF8", "--locale=C.UTF-8"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(as_pg + [f"{pg_bin}/pg_ctl", "-D", f"{pg_dir}/data", "-w", "-t", "60", "-l", f"{pg_dir}/log", "-o",
                            f"-c listen_addresses=127.0.0.1 -p {port} -k {pg_dir} -c fsync=off -c synchronous_commit=off",
                            "start"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(as_pg + [f"{pg_bin}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"], check=True)

    def stop():
        subprocess.run(as_pg + [f"{pg_bin}/pg_ctl", "-D", f"{pg_dir}/data", "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(pg_dir, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/bench", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--volunteers", type=int, default=3000)
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="volunteers-bench.") as data_dir:
        if args.db in ("sqlite", "both"):
            print(f"SQLite ({args.volunteers} volunteers, {args.records} records):", flush=True)
            bench(f"sqlite:///{data_dir}/bench.sqlite3", args.volunteers, args.records, args.runs, data_dir)
        if args.db in ("postgres", "both"):
            url, stop = os.environ.get("DATABASE_URL"), None
            if not (url or "").startswith("postgres"):
                url, stop = throwaway_postgres()
            try:
                print(f"PostgreSQL ({args.volunteers} volunteers, {args.records} records):", flush=True)
                bench(url, args.volunteers, args.records, args.runs, data_dir)
            finally:
                if stop:
                    stop()


if __name__ == "__main__":
    main()
