"""The phone's hot writes with fewer statements (issue 13): a check-in reads in one statement; on PostgreSQL the
check-in, the patrol start and the report without photos are each written with their audit row (and the report's
first event and notifications) in one statement. Every rule must hold on both databases: the rows written, a retry's
replay, a changed payload's 409, a refusal leaving nothing behind."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from geopy.distance import geodesic
from sqlmodel import Session, select

from tests.conftest import ON_POSTGRES, OFFICER_G12, VOLUNTEER, VOLUNTEER_G3
from tests.factories import count
from tests.test_patrols import patrol, school_gate, volunteer  # noqa: F401 (fixtures shared with the rules' tests)
from volunteers import accounts, db, demo, hazards, patrols, photos
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import (AuditEvent, CheckIn, Hazard, HazardEvent, Notification, NotificationChoice, Patrol,
                               utcnow)

KEY = "test-secret-key"
IN_G1 = (demo.ORIGIN[0] + 1.5 * demo.STEP_LAT, demo.ORIGIN[1] + 0.5 * demo.STEP_LON)
OUTSIDE = (demo.ORIGIN[0] + 3.5 * demo.STEP_LAT, demo.ORIGIN[1] + 3.5 * demo.STEP_LON)


def new_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def statements(session: Session):
    """The SQL statements the session's engine sends while the block runs (BEGIN and COMMIT are not statements)."""
    sent: list[str] = []
    engine = session.get_bind()

    def note(_conn, _cursor, statement, *_args):
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def gps_data(cp, metres: float = 5, **extra) -> dict:
    p = geodesic(meters=metres).destination((cp.lat, cp.lon), bearing=0)
    return {"client_id": new_id(), "lat": p.latitude, "lon": p.longitude, "accuracy_m": 5, "checkpoint_id": cp.id,
            "recorded_at": utcnow().isoformat()} | extra


def audit_rows(session, action: str, object_id: int | None = None) -> list[AuditEvent]:
    session.rollback()
    query = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return list(session.exec(query))


# --- the check-in ------------------------------------------------------------------------------------------------

def test_a_check_in_reads_once_and_writes_once_with_its_audit_row_on_postgres(session, volunteer, patrol, school_gate):
    with statements(session) as sent:
        checkin, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=gps_data(school_gate),
                                            qr_key=KEY, ip="10.0.0.7")
    assert created
    # PostgreSQL: one read (patrol + checkpoint + flags' probe) and one write (check-in + audit); SQLite: two INSERTs.
    assert len(sent) == (2 if ON_POSTGRES else 3), sent
    [row] = audit_rows(session, "checkin.create", checkin.id)
    assert (row.actor_id, row.object_type, row.ip) == (volunteer.id, "checkin", "10.0.0.7")
    assert row.detail == {"checkpoint_id": school_gate.id, "flags": []}
    assert utcnow() - row.at < timedelta(minutes=1)
    stored = session.get(CheckIn, checkin.id)
    assert (stored.patrol_id, stored.checkpoint_id, stored.method, stored.client_id) == \
        (patrol.id, school_gate.id, "gps", checkin.client_id)


def test_a_retried_check_in_replays_and_a_changed_one_is_409_with_no_second_audit_row(session, volunteer, patrol,
                                                                                        school_gate):
    data = gps_data(school_gate)
    first, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    again, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=dict(data), qr_key=KEY)
    assert not created and again.id == first.id
    with pytest.raises(Conflict) as err:
        patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data | {"accuracy_m": 6}, qr_key=KEY)
    assert err.value.code == "client_id_reused"
    assert count(session, CheckIn, CheckIn.client_id == data["client_id"]) == 1
    assert len(audit_rows(session, "checkin.create", first.id)) == 1
    assert count(session, AuditEvent, AuditEvent.action == "checkin.create") == 1


def test_a_retry_after_the_patrol_ended_still_gets_its_check_in(session, volunteer, patrol, school_gate):
    data = gps_data(school_gate)
    first, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    patrols.end(session, user=volunteer, patrol_id=patrol.id, recorded_at=(utcnow() - timedelta(hours=1)).isoformat())
    again, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=dict(data), qr_key=KEY)
    assert not created and again.id == first.id


def test_a_refused_check_in_writes_nothing(session, volunteer, patrol, school_gate):
    with pytest.raises(Invalid) as err:
        patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=gps_data(school_gate, metres=500),
                         qr_key=KEY)
    assert err.value.code == "too_far"
    assert count(session, CheckIn, CheckIn.patrol_id == patrol.id) == 0
    assert count(session, AuditEvent, AuditEvent.action == "checkin.create") == 0


def test_the_one_read_keeps_the_scope_a_checkpoint_of_another_grid_or_none_is_404(session, town, volunteer, patrol):
    other_grid = town.checkpoints("G3")[0]
    for checkpoint_id in (other_grid.id, 999_999, db.MAX_ID + 1):
        data = gps_data(other_grid) | {"checkpoint_id": checkpoint_id}
        with pytest.raises(NotFound):
            patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    assert count(session, CheckIn, CheckIn.patrol_id == patrol.id) == 0


def test_someone_elses_patrol_answers_before_the_body_is_judged(session, town, patrol, school_gate):
    """The patrol is checked first, as before the one read: a bad body on another's patrol is still 404 (or 403 for
    an officer who may see it), never a 400 that tells it exists."""
    stranger, officer = town.user(VOLUNTEER_G3), town.user(OFFICER_G12)
    bad = {"client_id": "not-a-uuid"}
    with pytest.raises(NotFound):
        patrols.check_in(session, user=stranger, patrol_id=patrol.id, data=bad, qr_key=KEY)
    with pytest.raises(Forbidden):
        patrols.check_in(session, user=officer, patrol_id=patrol.id, data=gps_data(school_gate), qr_key=KEY)
    with pytest.raises(NotFound):
        patrols.check_in(session, user=stranger, patrol_id=999_999, data=bad, qr_key=KEY)
    with pytest.raises(Invalid) as err:  # their own patrol: the body's error
        patrols.check_in(session, user=town.user(VOLUNTEER), patrol_id=patrol.id, data=bad, qr_key=KEY)
    assert err.value.code == "bad_client_id"


def test_the_flags_still_come_from_the_one_read(session, volunteer, patrol, school_gate, town):
    spot = gps_data(school_gate, metres=7)
    patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=spot, qr_key=KEY)
    # Same coordinates again: repeated; then a point 1 km away a second later: impossible speed.
    again, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id,
                                data=spot | {"client_id": new_id()}, qr_key=KEY)
    assert again.flags == [patrols.FLAG_REPEAT]
    far = town.checkpoints("G1")[0]
    later = (utcnow() + timedelta(seconds=1)).isoformat()
    quick, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id,
                                data=gps_data(far, metres=0, recorded_at=later), qr_key=KEY)
    assert patrols.FLAG_SPEED in quick.flags


# --- the patrol start --------------------------------------------------------------------------------------------

def test_a_patrol_start_is_audited_in_the_same_write_and_a_retry_or_second_start_adds_nothing(session, volunteer):
    cid = new_id()
    with statements(session) as sent:
        patrol, created = patrols.start(session, user=volunteer, client_id=cid, ip="10.0.0.8")
    assert created
    writes = [s for s in sent if s.lstrip().upper().startswith(("INSERT", "WITH"))]
    assert len(writes) == (1 if ON_POSTGRES else 2), sent
    [row] = audit_rows(session, "patrol.start", patrol.id)
    assert (row.actor_id, row.object_type, row.ip, row.detail) == (volunteer.id, "patrol", "10.0.0.8", {})
    again, created = patrols.start(session, user=volunteer, client_id=cid)
    assert not created and again.id == patrol.id
    with pytest.raises(Conflict) as err:
        patrols.start(session, user=volunteer, client_id=new_id())
    assert err.value.code == "patrol_open"
    assert len(audit_rows(session, "patrol.start")) == 1
    assert count(session, Patrol, Patrol.user_id == volunteer.id, Patrol.ended_at.is_(None)) == 1


# --- the report without photos -----------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path) -> photos.PhotoStore:
    return photos.PhotoStore(tmp_path / "store")


def report(session, user, store, *, point=IN_G1, client_id=None, **fields):
    data = {"client_id": client_id or new_id(), "kind": "hazard", "category": "fire",
            "description": "楼道堆放纸箱，堵住消防通道，已经好几天了"} | fields
    if point is not None:
        data |= {"lat": point[0], "lon": point[1], "accuracy_m": 12}
    return hazards.report(session, user=user, data=data, uploads=[], store=store, ip="10.0.0.9"), data


def test_a_report_writes_its_event_audit_and_officers_notifications_in_one_statement_on_postgres(
        session, town, volunteer, store):
    g1 = town.grid("G1")
    officers = sorted(hazards.officers_of_grid(session, g1.id))
    assert officers
    # The first officer chose SMS for new reports in the grid; the others in-app only (one with a choice row saying so).
    session.merge(NotificationChoice(user_id=officers[0], kind="grid_report", sms=True))
    for other in officers[1:2]:
        session.merge(NotificationChoice(user_id=other, kind="grid_report", sms=False))
    session.commit()
    with statements(session) as sent:
        (hazard, created), _data = report(session, volunteer, store)
    assert created and hazard.grid_id == g1.id
    if ON_POSTGRES:  # the grids' boundaries (to locate it), then one write
        assert len(sent) == 2, sent
    session.rollback()
    [event] = session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)).all()
    assert (event.actor_id, event.from_status, event.to_status, event.note, event.detail) == \
        (volunteer.id, None, "reported", "", {})
    assert event.at == hazard.reported_at
    [row] = audit_rows(session, "hazard.report", hazard.id)
    assert (row.actor_id, row.object_type, row.ip, row.detail) == (volunteer.id, "hazard", "10.0.0.9", {"photos": 0})
    told = session.exec(select(Notification).where(Notification.hazard_id == hazard.id)
                        .order_by(Notification.user_id)).all()
    assert [n.user_id for n in told] == officers
    for note in told:
        assert note.message == hazards.STAFF_HEADLINE
        assert note.link == f"/hazards/{hazard.id}/thread"
        assert note.params == {"id": hazard.id, "title": "楼道堆放纸箱，堵住消防通道，已经…",
                               "changes": [["new in your grid", {}]]}
        assert (note.kind, note.read_at) == ("grid_report", None)
        assert note.created_at == note.updated_at == hazard.reported_at
        assert note.sms_state == ("due" if note.user_id == officers[0] else "")
    stored = session.get(Hazard, hazard.id)
    assert (stored.status, stored.reporter_id, stored.station_id, stored.fingerprint) == \
        ("reported", volunteer.id, volunteer.station_id, hazard.fingerprint)


def test_a_report_in_the_station_queue_notifies_nobody_but_is_still_whole(session, volunteer, store):
    (hazard, created), _data = report(session, volunteer, store, point=OUTSIDE)
    assert created and hazard.grid_id is None
    assert count(session, HazardEvent, HazardEvent.hazard_id == hazard.id) == 1
    assert len(audit_rows(session, "hazard.report", hazard.id)) == 1
    assert count(session, Notification, Notification.hazard_id == hazard.id) == 0


def test_a_retried_report_replays_and_a_changed_one_is_409_leaving_one_of_each_row(session, town, volunteer, store):
    (first, _), data = report(session, volunteer, store)
    notes = count(session, Notification, Notification.hazard_id == first.id)
    (again, created), _ = report(session, volunteer, store, client_id=data["client_id"])
    assert not created and again.id == first.id
    with pytest.raises(Conflict) as err:
        report(session, volunteer, store, client_id=data["client_id"], description="别的内容")
    assert err.value.code == "client_id_reused"
    with pytest.raises(Conflict):  # someone else's client_id
        report(session, town.user(VOLUNTEER_G3), store, client_id=data["client_id"])
    assert count(session, Hazard, Hazard.client_id == data["client_id"]) == 1
    assert count(session, HazardEvent, HazardEvent.hazard_id == first.id) == 1
    assert len(audit_rows(session, "hazard.report")) == 1
    assert count(session, Notification, Notification.hazard_id == first.id) == notes


def test_a_reports_answer_names_its_grid(app, session, town):
    token = accounts.issue_token(session, user=town.user(VOLUNTEER))
    r = app.test_client().post("/api/v1/hazards", headers={"Authorization": f"Bearer {token}"}, json={
        "client_id": new_id(), "kind": "hazard", "category": "fire", "description": "消防通道堵了",
        "lat": IN_G1[0], "lon": IN_G1[1], "accuracy_m": 10})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["grid"] == "G1" and r.get_json()["grid_id"] == town.grid("G1").id
    assert r.get_json()["history"][0]["to"] == "reported"


# --- the pool's ping ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(not ON_POSTGRES, reason="the ping is PostgreSQL's (SQLite has no server to lose)")
def test_a_connection_used_a_moment_ago_is_not_pinged_but_an_idle_one_is_and_a_dead_one_replaced(app, monkeypatch):
    url = app.config["DATABASE_URL"]
    pings = []
    engine = db.make_engine(url, ping_after_idle_s=0.5)
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
    try:
        with engine.connect() as conn:
            first_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as conn:  # used a moment ago: no ping
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == first_pid
        assert pings == []
        # The server ends the connection while it sits in the pool; once it has been idle, the ping finds out and
        # the pool hands out a new one: the request never sees the dead connection.
        with db.make_engine(url).connect() as killer:
            assert killer.exec_driver_sql(f"SELECT pg_terminate_backend({first_pid})").scalar()
        import time
        time.sleep(0.6)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != first_pid
        assert pings
    finally:
        engine.dispose()


# --- the token's user ---------------------------------------------------------------------------------------------

def test_a_fresh_process_whose_first_request_carries_a_token_answers_it(app, town, tmp_path):
    """The token's user is built from a row, not loaded by the ORM: in a new process (a gunicorn worker) that is the
    ORM's first use, so the mappers must be configured first (this was a 500 in the gunicorn smoke test)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    volunteer = town.user(VOLUNTEER)
    token = accounts.issue_token(town.session, user=volunteer)
    script = (
        "import json, sys\n"
        "from app import create_app\n"
        "app = create_app({'DATA_DIR': sys.argv[1], 'DATABASE_URL': sys.argv[2], 'SECRET_KEY': 'x'})\n"
        "r = app.test_client().get('/api/v1/me', headers={'Authorization': 'Bearer ' + sys.argv[3]})\n"
        "print(json.dumps([r.status_code, r.get_json()]))\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "fresh"), app.config["DATABASE_URL"], token],
                         cwd=root, env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True, text=True,
                         timeout=120)
    status, me = json.loads(out.stdout.strip().splitlines()[-1])
    assert (status, me["id"], me["role"]) == (200, volunteer.id, "volunteer"), out.stderr[-2000:]


def test_the_tokens_user_is_the_sessions_own_user_object(session, town):
    volunteer = town.user(VOLUNTEER)
    token = accounts.issue_token(session, user=volunteer)
    fresh = Session(session.get_bind(), expire_on_commit=False)
    try:
        user = accounts.user_for_token(fresh, token)
        assert user is fresh.get(type(volunteer), volunteer.id)  # persistent in the session: no second load
        assert (user.id, user.phone, user.role, user.home_grid_id) == \
            (volunteer.id, volunteer.phone, volunteer.role, volunteer.home_grid_id)
        assert not fresh.dirty and accounts.user_for_token(fresh, token) is user
    finally:
        fresh.close()
    assert accounts.user_for_token(session, "not-a-token") is None


# --- autocommit for the one-statement writes (PostgreSQL) -----------------------------------------------------------

@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite writes a check-in and its audit row as two INSERTs: a transaction")
def test_the_check_in_and_the_patrol_start_send_no_begin_or_commit_but_other_writes_do(app, town):
    """D104: their statements each stand alone, so they run in autocommit — and every row is still written."""
    person = town.user(VOLUNTEER)
    token = {"Authorization": "Bearer " + accounts.issue_token(town.session, user=person)}
    cp = town.checkpoints("G1")[0]
    client = app.test_client()
    engine = app.extensions["volunteers.engine"]
    seen: list[tuple[str, object]] = []

    def note(conn, _cursor, statement, *_args):  # psycopg's view: is a transaction open before this statement?
        seen.append((statement.split()[0], conn.connection.dbapi_connection.info.transaction_status))

    idle = __import__("psycopg").pq.TransactionStatus.IDLE
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        started = client.post("/api/v1/patrols", json={"client_id": new_id()}, headers=token)
        assert started.status_code == 201, started.json
        start_statements, seen[:] = list(seen), []
        checked = client.post(f"/api/v1/patrols/{started.json['id']}/checkins", json=gps_data(cp), headers=token)
        assert checked.status_code == 201, checked.json
        checkin_statements, seen[:] = list(seen), []
        ended = client.post(f"/api/v1/patrols/{started.json['id']}/end", json={}, headers=token)
        assert ended.status_code == 200, ended.json
        end_statements = list(seen)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert start_statements and all(status == idle for _sql, status in start_statements), start_statements
    assert checkin_statements and all(status == idle for _sql, status in checkin_statements), checkin_statements
    assert any(status != idle for _sql, status in end_statements), end_statements  # a transaction, as before
    with Session(engine) as s:
        [checkin] = s.exec(select(CheckIn).where(CheckIn.id == checked.json["id"])).all()
        assert checkin.patrol_id == started.json["id"]
        assert len(audit_rows(s, "checkin.create", checkin.id)) == 1
        assert len(audit_rows(s, "patrol.start", started.json["id"])) == 1
