"""Partitioning shown working on a partitioned copy of the province data (issue #13, docs/scaling.md step 3).

    .venv/bin/python bench/province.py --pg URL --scale 1.0        # first: the data, in schema public
    .venv/bin/python bench/partitioned.py --pg URL --runs 25       # the copy in schema `part`, then the timings

1. Schema `part` (DROPPED and re-created; `public` is only read) gets partitioned copies of the four big tables:
   `checkin` by month of `recorded_at` and `audit_event` by month of `at` (declarative RANGE partitioning, one
   partition per calendar month of the data plus a DEFAULT one), `hazard` and `service_record` by HASH of
   `station_id` (16 partitions: a station's rows are in one of them, whatever the number of stations).
   The primary key and every unique index gain the partition key (PostgreSQL requires it): `(id, recorded_at)`,
   `(client_id, recorded_at)` and so on; every other index of `public` is created on the copy as it is.
2. The rows are copied with one INSERT … SELECT per table, then the indexes are built and the copy ANALYZEd.
3. The app's hot queries (the same SQL the app sends; see each query's comment for the function) run against
   `public` (plain tables) and `part` (the same text, search_path = part, public), alternately, --runs times each
   after 2 warm-ups: median and p95 of the wall time at the client (psycopg, rows fetched). EXPLAIN (ANALYZE, BUFFERS)
   of each on both, so the partition pruning shows (the partitions left in the plan).

It never touches `public`, and refuses a database whose name starts with `vol_` (the test databases of others).
"""
from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.province import VOLUNTEER  # noqa: E402

HASH_PARTS = 16
# table → (how, key)
LAYOUT = {
    "checkin": ("range", "recorded_at"),
    "audit_event": ("range", "at"),
    "hazard": ("hash", "station_id"),
    "service_record": ("hash", "station_id"),
}


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def build(conn, schema: str) -> None:
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET work_mem = '256MB'")
    for table, (how, key) in LAYOUT.items():
        t0 = time.monotonic()
        conn.execute(f'CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING DEFAULTS) '
                     f'PARTITION BY {how.upper()} ({key})')
        if how == "range":
            lo, hi = conn.execute(f"SELECT date_trunc('month', min({key}) AT TIME ZONE 'UTC'), "
                                  f"date_trunc('month', max({key}) AT TIME ZONE 'UTC') FROM public.{table}").fetchone()
            months = conn.execute("SELECT m::date FROM generate_series(%s::timestamp, %s::timestamp + interval '1 month', "
                                  "interval '1 month') m", (lo, hi)).fetchall()
            for (m,) in months:  # this month and every month of the data; the next month and later go to DEFAULT
                conn.execute(f"CREATE TABLE {schema}.{table}_{m:%Y%m} PARTITION OF {schema}.{table} "
                             f"FOR VALUES FROM ('{m} 00:00+00') TO ('{m} 00:00+00'::timestamptz + interval '1 month')")
            conn.execute(f"CREATE TABLE {schema}.{table}_default PARTITION OF {schema}.{table} DEFAULT")
            n = len(months) + 1
        else:
            for r in range(HASH_PARTS):
                conn.execute(f"CREATE TABLE {schema}.{table}_h{r:02d} PARTITION OF {schema}.{table} "
                             f"FOR VALUES WITH (MODULUS {HASH_PARTS}, REMAINDER {r})")
            n = HASH_PARTS
        rows = conn.execute(f"INSERT INTO {schema}.{table} SELECT * FROM public.{table}").rowcount
        t1 = time.monotonic()
        # the indexes of public, on the copy; unique ones (and the primary key) with the partition key added
        for name, definition in conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                             "AND tablename = %s", (table,)).fetchall():
            cols = re.search(r"USING \w+ \((.*)\)", definition).group(1)
            unique = definition.startswith("CREATE UNIQUE")
            where = definition.split(" WHERE ", 1)[1] if " WHERE " in definition else None
            if name.startswith("pk_") or name.endswith("_pkey"):
                conn.execute(f"ALTER TABLE {schema}.{table} ADD PRIMARY KEY ({cols}, {key})")
                continue
            if unique and key not in [c.strip() for c in cols.split(",")]:
                cols = f"{cols}, {key}"
            conn.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {name}_p ON {schema}.{table} ({cols})"
                         + (f" WHERE {where}" if where else ""))
        conn.execute(f"ANALYZE {schema}.{table}")
        print(f"   {schema}.{table:15} {how} ({key}), {n:3} partitions: {rows:>11,} rows copied in "
              f"{t1 - t0:6.1f} s, indexes + ANALYZE {time.monotonic() - t1:6.1f} s", flush=True)


def queries(conn) -> list[tuple[str, str, dict]]:
    """(label, sql, params): the app's hot queries with the parameters of station 1's real people."""
    vol = conn.execute('SELECT id, station_id FROM "user" WHERE phone = %s', (VOLUNTEER,)).fetchone()
    officer_grids = [g for (g,) in conn.execute(
        'SELECT grid_id FROM grid_officer JOIN "user" ON "user".id = grid_officer.user_id '
        "WHERE \"user\".phone = '13700000001' ORDER BY grid_id").fetchall()]
    # the volunteer's latest patrol that ended before the copy was made (so both tables hold its check-ins)
    patrol, started = conn.execute("SELECT p.id, p.started_at FROM patrol p WHERE p.user_id = %s "
                                   "AND p.ended_at < now() - interval '3 hours' "
                                   "AND EXISTS (SELECT 1 FROM checkin c WHERE c.patrol_id = p.id) "
                                   "ORDER BY p.started_at DESC LIMIT 1", (vol[0],)).fetchone()
    last_at, client_id = conn.execute("SELECT recorded_at, client_id FROM checkin WHERE patrol_id = %s "
                                      "ORDER BY recorded_at DESC LIMIT 1", (patrol,)).fetchone()
    since, until = conn.execute(
        "SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month') AT TIME ZONE 'Asia/Shanghai', "
        "date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'").fetchone()
    week = conn.execute("SELECT now() - interval '7 days'").fetchone()[0]
    final = "('closed', 'rejected', 'duplicate')"
    return [
        # patrols.suspicion_flags: the previous fix of this patrol (every check-in)
        ("check-in: the patrol's previous check-in", """
SELECT checkin.lat, checkin.lon, checkin.accuracy_m, checkin.recorded_at FROM checkin
WHERE checkin.patrol_id = %(patrol)s AND checkin.lat IS NOT NULL AND checkin.recorded_at <= %(at)s
ORDER BY checkin.recorded_at DESC, checkin.id DESC LIMIT 1""", dict(patrol=patrol, at=last_at)),
        # the same, bounded below by the patrol's start (a day's slack for device clocks): what the app would add
        ("check-in: previous check-in, bounded by the patrol's start", """
SELECT checkin.lat, checkin.lon, checkin.accuracy_m, checkin.recorded_at FROM checkin
WHERE checkin.patrol_id = %(patrol)s AND checkin.lat IS NOT NULL AND checkin.recorded_at <= %(at)s
  AND checkin.recorded_at >= %(started)s::timestamptz - interval '1 day'
ORDER BY checkin.recorded_at DESC, checkin.id DESC LIMIT 1""", dict(patrol=patrol, at=last_at, started=started)),
        # patrols.checkin: the replay look-up by client_id (idempotency), every check-in
        ("check-in: replay look-up by client_id", """
SELECT checkin.id, checkin.fingerprint FROM checkin WHERE checkin.client_id = %(cid)s""", dict(cid=client_id)),
        # hours.tally(by=volunteer): a station's month of service records (the tally, the XLSX, 月考评's hours)
        ("a station's month of service records (tally per volunteer)", """
SELECT "user".id, "user".name,
       coalesce(sum(CASE WHEN service_record.status = 'approved' THEN service_record.minutes ELSE 0 END), 0),
       coalesce(sum(CASE WHEN service_record.status = 'pending' THEN service_record.minutes ELSE 0 END), 0)
FROM service_record JOIN "user" ON "user".id = service_record.volunteer_id
WHERE service_record.station_id = %(st)s AND service_record.status IN ('approved', 'pending')
  AND service_record.starts_at >= %(since)s AND service_record.starts_at < %(until)s
GROUP BY "user".id, "user".name ORDER BY "user".name""", dict(st=vol[1], since=since, until=until)),
        # hazards.triage: one officer's open reports of one station, most urgent first, a page of 50
        ("triage of one station's hazards (officer, open)", f"""
SELECT hazard.* FROM hazard
WHERE hazard.station_id = %(st)s AND hazard.grid_id = ANY(%(grids)s) AND hazard.status NOT IN {final}
ORDER BY CASE WHEN hazard.status IN {final} THEN 1 ELSE 0 END,
         CASE hazard.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
         hazard.reported_at DESC, hazard.id DESC LIMIT 50""", dict(st=vol[1], grids=officer_grids)),
        # audit.page: the station's audit log, newest first, the last 7 days (the date filter)
        ("audit log of one station, last 7 days", """
SELECT audit_event.*, "user".name FROM audit_event JOIN "user" ON "user".id = audit_event.actor_id
WHERE "user".station_id = %(st)s AND audit_event.at >= %(since)s
ORDER BY audit_event.id DESC LIMIT 51""", dict(st=vol[1], since=week)),
        # audit.page without a filter: the first page
        ("audit log of one station, first page (no filter)", """
SELECT audit_event.*, "user".name FROM audit_event JOIN "user" ON "user".id = audit_event.actor_id
WHERE "user".station_id = %(st)s ORDER BY audit_event.id DESC LIMIT 51""", dict(st=vol[1])),
    ]


def partitions_in(plan: list[str], schema: str) -> set[str]:
    return set(re.findall(rf"on (?:{schema}\.)?(\w+_(?:\d{{6}}|default|h\d\d))\b", "\n".join(plan)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", required=True, metavar="URL")
    ap.add_argument("--schema", default="part", help="the schema of the partitioned copy (DROPPED); default part")
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--skip-build", action="store_true", help="time an existing copy")
    args = ap.parse_args()
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.schema) or args.schema in ("public", "pg_catalog"):
        raise SystemExit("--schema must be a new schema's plain name, not public")

    import psycopg

    from volunteers.db import normalise_url
    conninfo = normalise_url(args.pg).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]
        if db.startswith("vol_"):
            raise SystemExit(f"refusing {db}: the vol_* databases are other engineers' test databases")
        if not args.skip_build:
            t = time.monotonic()
            print(f"== partitioned copy in schema {args.schema} of {db}", flush=True)
            build(conn, args.schema)
            size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                                (args.schema,)).fetchone()[0]
            print(f"== built in {time.monotonic() - t:.0f} s; {size} with indexes", flush=True)
        todo = queries(conn)
        results = []
        for label, sql, params in todo:
            times = {"public": [], args.schema: []}
            plans = {}
            for schema in ("public", args.schema):
                conn.execute(f"SET search_path = {schema}, public")
                plans[schema] = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()]
                for _ in range(2):
                    conn.execute(sql, params).fetchall()
            for i in range(args.runs):
                for schema in (("public", args.schema) if i % 2 == 0 else (args.schema, "public")):
                    conn.execute(f"SET search_path = {schema}, public")
                    t0 = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    times[schema].append(time.perf_counter() - t0)
            conn.execute("SET search_path = public")
            total = len(conn.execute(f"SELECT inhrelid FROM pg_inherits WHERE inhparent = ANY(%s::regclass[])",
                                     ([f"{args.schema}.{t}" for t in LAYOUT if re.search(rf"\b{t}\b", sql)],)).fetchall())
            used = partitions_in(plans[args.schema], args.schema)
            row = (label, statistics.median(times["public"]), p95(times["public"]), statistics.median(times[args.schema]),
                   p95(times[args.schema]), len(used), total)
            results.append(row)
            print(f"\n### {label}\n```sql{sql}\n```\nparameters: {params!r}\n", flush=True)
            for schema in ("public", args.schema):
                print(f"{schema}:\n```\n" + "\n".join(plans[schema]) + "\n```")
            print(f"partitions in the plan: {len(used)} of {total}: {', '.join(sorted(used))}")
            print(f"median {1000 * row[1]:.2f} ms plain / {1000 * row[3]:.2f} ms partitioned; "
                  f"p95 {1000 * row[2]:.2f} / {1000 * row[4]:.2f} ms", flush=True)
    print(f"\n{args.runs} runs each, alternating plain and partitioned, after 2 warm-ups; wall time at the client:")
    print("| query | plain: median | p95 | partitioned: median | p95 | partitions in the plan |")
    print("|---|---|---|---|---|---|")
    for label, m0, q0, m1, q1, used, total in results:
        print(f"| {label} | {1000 * m0:.2f} ms | {1000 * q0:.2f} ms | {1000 * m1:.2f} ms | {1000 * q1:.2f} ms | "
              f"{used} of {total} |")


if __name__ == "__main__":
    main()
