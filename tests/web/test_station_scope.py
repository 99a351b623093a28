"""Ready to outgrow one database (issue 13, docs/scaling.md): every hot table carries station_id or reaches it in one
join, and every query the hot requests run is scoped — by station, by the caller's grids, or to one person's or one
object's rows — never a scan across stations that a database split by station would have to send everywhere."""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import accounts
from volunteers.models import Station

# The tables the busy requests read and write, and that grow with a province.
HOT_TABLES = ("checkin", "patrol", "patrol_position", "hazard", "hazard_event", "photo", "service_record", "task",
              "assignment", "audit_event", "notification", "checkpoint", "grid", "user", "grid_officer", "api_token")

# A WHERE that names one of these keeps the query inside one station: the station itself, the caller's grids (each
# in one station), or rows of one person / patrol / report / task / assignment, or one row by its key (PostgreSQL quotes
# "user").
SCOPING = re.compile(r"\b(station_id|grid_id|home_grid_id|user_id|volunteer_id|reporter_id|actor_id|patrol_id|hazard_id|task_id|assignment_id|"
                     r"checkpoint_id|route_id|team_id|client_id|token_hash|phone|\"?\w+\"?\.id)\s*(=|IN\b)", re.I)


def test_every_hot_table_carries_station_id_or_reaches_it_in_one_join():
    tables = SQLModel.metadata.tables
    far = []
    for name in HOT_TABLES:
        table = tables[name]
        near = {fk.column.table.name for fk in table.foreign_keys if "station_id" in fk.column.table.c}
        if "station_id" not in table.c and not near:
            far.append(name)
    assert far == []


@contextmanager
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    engine = app.extensions["volunteers.engine"]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def unscoped(sql: list[str]) -> list[str]:
    """The SELECTs on hot tables whose WHERE scopes nothing (or that have no WHERE at all)."""
    bad = []
    for s in sql:
        if not s.upper().startswith("SELECT"):
            continue
        tables = set(re.findall(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', s, re.I))
        if not tables & set(HOT_TABLES):
            continue
        where = re.split(r"\bWHERE\b", s, maxsplit=1, flags=re.I)
        if len(where) < 2 or not SCOPING.search(where[1]):
            bad.append(s[:400])
    return bad


def hot_requests(town, login_as, app):
    volunteer, officer, coordinator = login_as(VOLUNTEER), login_as(OFFICER_G12), login_as(COORDINATOR)
    token = accounts.issue_token(town.session, user=town.user(VOLUNTEER))
    bearer = {"Authorization": f"Bearer {token}"}
    point = town.checkpoints("G1")[0]
    yield "volunteer home", lambda: volunteer.get("/")
    yield "my tasks", lambda: volunteer.get("/tasks/")
    yield "my hours", lambda: volunteer.get("/hours/")
    yield "officer hazard triage", lambda: officer.get("/hazards/?status=reported")
    yield "officer dashboard", lambda: officer.get("/dashboard/")
    yield "dashboard refresh", lambda: officer.get("/dashboard/", headers={"HX-Request": "true"})
    yield "hours review", lambda: officer.get("/hours/review")
    yield "coordinator tally", lambda: coordinator.get("/hours/tally")
    station = town.session.get(Station, town.grid("G1").station_id)
    yield "open311 requests of a station", lambda: volunteer.get(f"/open311/v2/requests.json?jurisdiction_id={station.code}")
    yield "api hazard report", lambda: volunteer.post("/api/v1/hazards", headers=bearer, json={
        "client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire", "description": "楼道堆放杂物",
        "lat": point.lat, "lon": point.lon, "accuracy_m": 8})
    running = {}

    def start():
        answer = volunteer.post("/api/v1/patrols", headers=bearer, json={"client_id": str(uuid.uuid4())})
        running["id"] = answer.get_json().get("id")
        return answer
    yield "api patrol start", start
    yield "api check-in", lambda: volunteer.post(f"/api/v1/patrols/{running['id']}/checkins", headers=bearer, json={
        "client_id": str(uuid.uuid4()), "checkpoint_id": point.id, "lat": point.lat, "lon": point.lon,
        "accuracy_m": 8})


def test_every_query_of_the_hot_requests_is_scoped(app, town, login_as):
    found = {}
    for name, call in hot_requests(town, login_as, app):
        with statements(app) as sql:
            answer = call()
        assert answer.status_code in (200, 201), (name, answer.status_code, answer.text[:300])
        assert sql, name
        found[name] = unscoped(sql)
    problems = {name: bad for name, bad in found.items() if bad}
    assert not problems, "\n".join(f"{name}: {s}" for name, bad in problems.items() for s in bad)
