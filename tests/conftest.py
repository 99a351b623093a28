"""Shared fixtures: a fresh, migrated database per test (SQLite by default, PostgreSQL when DATABASE_URL says so),
the demo town, and clients logged in as any of its people."""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select
from werkzeug.security import generate_password_hash

from app import create_app
from volunteers import db, demo
from volunteers.models import Assignment, Checkpoint, Grid, Patrol, ServiceRecord, Task, User, utcnow

PG_URL = os.environ.get("DATABASE_URL", "")
# The demo password hashed with a small scrypt cost: the same check, a hundredth of the time per login.
CHEAP_DEMO_HASH = generate_password_hash(demo.PASSWORD, method="scrypt:1024:8:1")
ON_POSTGRES = PG_URL.startswith("postgres")


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> str:
    """Run the Alembic migrations once per test run: into a template SQLite file, or into PostgreSQL."""
    if ON_POSTGRES:
        engine = db.make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.migrate(engine)
        engine.dispose()
        return PG_URL
    template = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{template}")
    db.migrate(engine)
    engine.dispose()
    return str(template)


def fresh_database_url(migrated_database: str, data_dir: Path) -> str:
    """An empty, migrated database for one test."""
    if ON_POSTGRES:
        engine = db.make_engine(PG_URL)
        # DELETE, children first, is many times faster than TRUNCATE on tables this small; ids restart at 1.
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)]
        statements += [f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false)"
                       for t in SQLModel.metadata.sorted_tables if [c.name for c in t.primary_key.columns] == ["id"]]
        try:
            _reset_postgres(engine, "; ".join(statements))
        finally:
            engine.dispose()
        return PG_URL
    target = data_dir / "volunteers.sqlite3"
    shutil.copyfile(migrated_database, target)
    return f"sqlite:///{target}"


def _reset_postgres(engine: sa.Engine, sql: str, lock_timeout: str = "20s") -> None:
    """Empty the tables; if a connection left over from an earlier test (a live server's request thread still in a
    transaction) holds a lock, say so with what it was running and end it, rather than wait for ever."""
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{lock_timeout}'; " + sql)
            return
        except sa.exc.OperationalError as exc:
            if attempt == 2 or getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
        with engine.begin() as conn:
            others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            held = conn.exec_driver_sql(f"SELECT pid, state, now() - xact_start, left(query, 300) {others}").all()
            warnings.warn(f"a leftover connection locked the test database; ending it: {held}", stacklevel=2)
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture
def make_app(migrated_database, tmp_path):
    """Build an app on a fresh database; keyword overrides go into test_config."""
    apps = []

    def _make(**overrides):
        config = {"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test-secret-key",
                  "DATABASE_URL": fresh_database_url(migrated_database, tmp_path), "WTF_CSRF_ENABLED": False}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.extensions["volunteers.engine"].dispose()


@pytest.fixture
def app(make_app):
    """The app with CSRF checks off (tests that check CSRF build their own with make_app)."""
    return make_app()


@pytest.fixture
def session(app):
    """A database session on the test's database."""
    with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as s:
        yield s


@dataclass
class Town:
    """The demo town, with handy look-ups by phone and grid code."""
    session: Session

    def user(self, phone: str) -> User:
        return self.session.exec(select(User).where(User.phone == phone)).one()

    def grid(self, code: str) -> Grid:
        return self.session.exec(select(Grid).where(Grid.code == code)).one()

    def checkpoints(self, code: str) -> list[Checkpoint]:
        return list(self.session.exec(select(Checkpoint).where(Checkpoint.grid_id == self.grid(code).id).order_by(Checkpoint.id)))


@pytest.fixture(scope="session")
def demo_template(migrated_database, tmp_path_factory) -> str | None:
    """On SQLite, the demo town built once into a file that each test copies (building it takes ~0.2 s)."""
    if ON_POSTGRES:
        return None
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    shutil.copyfile(migrated_database, path)
    engine = db.make_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        demo.build(s, password_hash=CHEAP_DEMO_HASH)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def demo_rows(migrated_database) -> dict[str, list[dict]] | None:
    """On PostgreSQL, the demo town built once and kept as rows that each test inserts again: building it through
    the ORM takes seconds there, inserting its rows a few hundredths."""
    if not ON_POSTGRES:
        return None
    engine = db.make_engine(PG_URL)
    fresh_database_url(migrated_database, Path("."))
    with Session(engine) as s:
        demo.build(s, password_hash=CHEAP_DEMO_HASH)
    with engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select().order_by(*t.primary_key.columns))]
                for t in SQLModel.metadata.sorted_tables}
    engine.dispose()
    return rows


# PostgreSQL gets the demo's rows back newest first, so that its tables hold them in the opposite order to SQLite's
# (D106). Neither promises an order without ORDER BY, but SQLite answers in insert order and PostgreSQL mostly did
# too: a test taking "the first row" of several passed on both until the day CI's planner chose another plan. Now
# such a test fails on the PostgreSQL run every time. VOLUNTEERS_TEST_ROW_ORDER=insert keeps the insert order.
REVERSED_ROWS = os.environ.get("VOLUNTEERS_TEST_ROW_ORDER", "reversed") != "insert"


def in_test_order(table: sa.Table, rows: list[dict]) -> list[dict]:
    """The rows newest first, except that a row pointing at another of its table's rows comes after that one."""
    if not REVERSED_ROWS:
        return rows
    key = [c.name for c in table.primary_key.columns]
    pending = sorted(rows, key=lambda r: [r[k] for k in key], reverse=True)
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]  # hazard.duplicate_of_id, …
    placed, ordered = set(), []
    while pending:
        later = []
        for row in pending:
            if all(row[c] is None or row[c] in placed for c in own):
                ordered.append(row)
                placed.add(row[key[0]])
            else:
                later.append(row)
        if len(later) == len(pending):  # a loop of rows pointing at each other: cannot happen with immediate FKs
            return ordered + later
        pending = later
    return ordered


def insert_demo_rows(engine: sa.Engine, rows: dict[str, list[dict]]) -> None:
    """Put the demo's rows back (parents first, ids kept) and move each id sequence past them."""
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), in_test_order(table, rows[table.name]))
            if [c.name for c in table.primary_key.columns] == ["id"]:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                                     f'COALESCE(MAX(id), 0) + 1, false) FROM "{table.name}"'), {"t": f'"{table.name}"'})


@pytest.fixture
def town(app, session, demo_template, demo_rows) -> Town:
    """The demo town loaded into the test's database."""
    engine = app.extensions["volunteers.engine"]
    if demo_template and session.get_bind() is engine and not session.in_transaction():
        target = engine.url.database
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
        shutil.copyfile(demo_template, target)
    elif demo_rows and session.get_bind() is engine and not session.in_transaction():
        insert_demo_rows(engine, demo_rows)
    else:
        demo.build(session, password_hash=CHEAP_DEMO_HASH)
    return Town(session)


@pytest.fixture
def quiet_day(town):
    """The demo town without its own patrols running now, its daily 网格巡逻 shifts and the hours they earned: for
    tests that count exactly, or that work 'now' and must not meet the demo's evening shift."""
    s = town.session
    for task in s.exec(select(Task).where(Task.title == "网格巡逻")):
        shifts = select(Assignment.id).where(Assignment.task_id == task.id)
        for record in s.exec(select(ServiceRecord).where(ServiceRecord.assignment_id.in_(shifts))):
            s.delete(record)
        s.delete(task)
    for patrol in s.exec(select(Patrol).where(Patrol.client_id.like("demo-patrol-now-%"))):
        s.delete(patrol)
    s.commit()
    return town


def begun(session: Session, task: Task | int, minutes_ago: float = 10) -> Task:
    """Move a task's window (keeping its length) so that it began `minutes_ago`: a shift is marked done, or someone
    absent, only from its start (409 not_started before), so tests that take those steps first let the shift begin."""
    task = session.get(Task, task if isinstance(task, int) else task.id)
    length = task.ends_at - task.starts_at
    task.starts_at = utcnow() - timedelta(minutes=minutes_ago)
    task.ends_at = task.starts_at + length
    session.add(task)
    session.commit()
    return task


VOLUNTEER, VOLUNTEER_G3 = "13800000201", "13800000211"
OFFICER_G12, OFFICER_G34, COORDINATOR = "13800000101", "13800000102", "13800000000"


@pytest.fixture
def login_as(app, town):
    """A test client logged in as the demo account with this phone."""

    def _login(phone: str):
        client = app.test_client()
        response = client.post("/login", data={"phone": phone, "password": demo.PASSWORD})
        assert response.status_code == 302, response.text
        return client

    return _login


@pytest.fixture
def english(login_as):
    """A client logged in as this phone, reading English (the msgids), so assertions do not hang on wording."""

    def _login(phone: str):
        client = login_as(phone)
        client.post("/lang", data={"lang": "en"})
        return client

    return _login


@pytest.fixture
def client(app):
    """An anonymous test client."""
    return app.test_client()
