"""db.Prebuilt: the hot path's statements run straight on psycopg's cursor on PostgreSQL (issue 13). What they give
must be what SQLAlchemy's own execute gives — the same values through the same types (UTC datetimes, JSON, booleans),
SQLAlchemy's own IntegrityError for a duplicate, a lost connection invalidated — and anyone watching the statements
(a cursor-execute listener, echo) must still see them. On SQLite a Prebuilt is conn.execute, which these check too."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES, VOLUNTEER
from volunteers import db
from volunteers.models import AuditEvent, CheckIn, User

_user_t, _audit_t = User.__table__, AuditEvent.__table__
USER_BY_PHONE = db.Prebuilt(sa.select(*_user_t.columns).where(_user_t.c.phone == sa.bindparam("phone")))
AUDIT_INSERT = db.Prebuilt(sa.insert(_audit_t).values(
    {name: sa.bindparam(name, type_=_audit_t.c[name].type)
     for name in ("at", "actor_id", "action", "object_type", "object_id", "ip", "detail")}).returning(_audit_t.c.id))


def fresh(prebuilt: db.Prebuilt) -> db.Prebuilt:
    """The same statement, not yet compiled (each test sees the first use too)."""
    return db.Prebuilt(prebuilt.statement)


def test_a_read_gives_what_sqlalchemys_execute_gives(app, town):
    engine = app.extensions["volunteers.engine"]
    read = fresh(USER_BY_PHONE)
    with engine.connect() as conn:
        expected = conn.execute(read.statement, {"phone": VOLUNTEER}).one()
        for _ in range(3):  # the first run also learns the result columns' types; later runs reuse them
            got = read.first(conn, {"phone": VOLUNTEER})
            assert tuple(got) == tuple(expected)
            assert got._fields == tuple(expected._fields)
            assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
            assert got.must_change_password is False
        assert read.first(conn, {"phone": "10000000000"}) is None
        assert read.scalar(conn, {"phone": VOLUNTEER}) == expected.id
        assert read.scalar(conn, {"phone": "10000000000"}) is None
    # The statement ran on the driver's own cursor (compiled once for this database, kept), not through SQLAlchemy.
    assert list(read._plans) == [engine.dialect.name]


def test_a_write_binds_through_the_column_types_and_returns_its_id(app, town):
    engine = app.extensions["volunteers.engine"]
    insert = fresh(AUDIT_INSERT)
    at = datetime(2026, 12, 7, 18, 30, tzinfo=timezone(timedelta(hours=8)))  # Beijing time: stored as 10:30 UTC
    detail = {"flags": ["speed"], "名": "张三", "n": 2}
    with engine.begin() as conn:
        new_id = insert.scalar_one(conn, {"at": at, "actor_id": None, "action": "test.prebuilt", "object_type": "x",
                                          "object_id": 7, "ip": "10.0.0.9", "detail": detail})
    with engine.connect() as conn:
        row = conn.execute(sa.select(_audit_t).where(_audit_t.c.id == new_id)).one()
    assert row.at == datetime(2026, 12, 7, 10, 30, tzinfo=timezone.utc)
    assert (row.action, row.object_id, row.ip, row.detail) == ("test.prebuilt", 7, "10.0.0.9", detail)
    # The type's own rule: a naive time is refused (wrapped as SQLAlchemy wraps it), not stored as if it were UTC.
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with engine.begin() as conn:
            insert.scalar_one(conn, {"at": datetime(2026, 12, 7, 10, 30), "actor_id": None, "action": "test.naive",
                                     "object_type": "x", "object_id": 1, "ip": None, "detail": {}})


def test_a_duplicate_is_sqlalchemys_integrity_error_and_the_transaction_can_go_on_after_a_rollback(app, town):
    engine = app.extensions["volunteers.engine"]
    checkin_t = CheckIn.__table__
    with engine.connect() as conn:
        taken = conn.execute(sa.select(checkin_t).limit(1)).one()
    columns = ("client_id", "patrol_id", "checkpoint_id", "method", "lat", "lon", "accuracy_m", "distance_m",
               "recorded_at", "received_at", "flags", "fingerprint")
    insert = db.Prebuilt(sa.insert(checkin_t).values({c: sa.bindparam(c, type_=checkin_t.c[c].type) for c in columns})
                         .returning(checkin_t.c.id))
    values = {c: getattr(taken, c) for c in columns}
    with engine.connect() as conn:
        with pytest.raises(sa.exc.IntegrityError) as caught:
            insert.scalar_one(conn, values)  # the same client_id: the unique index refuses it
        assert db.is_unique_violation(caught.value)
        conn.rollback()
        new_id = insert.scalar_one(conn, values | {"client_id": str(uuid.uuid4())})
        conn.rollback()
        assert new_id > taken.id


@pytest.mark.skipif(not ON_POSTGRES, reason="a server-side kill needs a server")
def test_a_connection_the_server_ended_is_invalidated_and_the_next_one_works(app, town):
    engine = app.extensions["volunteers.engine"]
    read = fresh(USER_BY_PHONE)
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.rollback()
        with engine.connect() as killer:
            assert killer.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
        with pytest.raises(sa.exc.DBAPIError) as caught:
            read.first(conn, {"phone": VOLUNTEER})
        assert caught.value.connection_invalidated
        assert conn.invalidated
    with engine.connect() as conn:  # the pool hands out a live connection: the next request is served
        assert read.first(conn, {"phone": VOLUNTEER}).phone == VOLUNTEER


def test_a_cursor_listener_still_sees_every_statement(app, town):
    """SQL logging and tracing hook before_cursor_execute: with a listener, the statement goes through SQLAlchemy."""
    engine = app.extensions["volunteers.engine"]
    read = fresh(USER_BY_PHONE)
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        with engine.connect() as conn:
            assert read.first(conn, {"phone": VOLUNTEER}).phone == VOLUNTEER
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "phone" in seen[0]

