"""The database: engines for SQLite and PostgreSQL, and schema migrations with Alembic."""
from __future__ import annotations

import collections
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, select

from volunteers import models

MIGRATIONS = Path(__file__).parent / "migrations"


# Ids are 32-bit integers on PostgreSQL; a bigger number names nothing and must not reach the database,
# where it is an error (a 500), not a miss.
MAX_ID = 2 ** 31 - 1


def get(session: Session, model: type, row_id: int | None):
    """A row by an id from the outside world, or None — also for ids no id column can hold."""
    return session.get(model, row_id) if row_id is not None and 0 < row_id <= MAX_ID else None


def as_loaded(session: Session, model: type, values: dict):
    """A row the caller has just written (or read with Core) as the session's persistent ORM object, without reading
    it back: the one already in the session if it is there, else built as the ORM's own loader builds one — a new
    instance (whose __new__ sets up pydantic's parts) with the columns put straight into its __dict__, made persistent
    with no history. Not model(**values): SQLModel's validating setattr per column cost more than the INSERT itself
    on the hot path (bench/README.md, issue 13)."""
    mapper = sa.inspect(model)
    if not mapper.configured:  # a fresh process whose first ORM use this is (the ORM's loader would do it)
        sa.orm.configure_mappers()
    key = mapper.identity_key_from_primary_key(tuple(values[c.key] for c in mapper.primary_key))
    held = session.identity_map.get(key)
    if held is not None:
        return held
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


class Prebuilt:
    """A Core statement of the write hot path, built once and run with bound values (issue 13).

    It runs straight on the DBAPI cursor of the caller's connection (so in its transaction): compiled once per
    database, its values passed through the column types' own bind processors and its rows through their result
    processors, so what comes back is what `conn.execute(statement)` gives — without SQLAlchemy's per-execution work
    (the execution context, events, the result object), which cost ~70 µs of client CPU a statement against
    psycopg's ~60 µs (bench/README.md, "Prebuilt statements"; on SQLite the gain is ~20 µs a statement). A database
    error is raised as SQLAlchemy's own (IntegrityError …), and a lost connection is invalidated, as `conn.execute`
    would. When anyone watches the statements (echo, or a before/after_cursor_execute listener: SQL logging, tracing,
    the tests' statement counts) it is `conn.execute(statement)`, events and all. Only statements that return rows
    (a SELECT, or DML with RETURNING)."""

    def __init__(self, statement: sa.Executable):
        self.statement = statement
        # Per dialect: (compiled, bind processors, positional order or None, row type, column types, [result
        # processors, made from the first answer's column type codes]).
        self._plans: dict[str, tuple] = {}

    def first(self, conn: sa.Connection, params: dict) -> tuple | None:
        """The first row (attributes named as the statement's columns), or None."""
        if not self._direct(conn):
            return conn.execute(self.statement, params).first()
        return self._run(conn, params)

    def scalar(self, conn: sa.Connection, params: dict):
        """The first row's first value, or None when there is no row."""
        if not self._direct(conn):
            return conn.execute(self.statement, params).scalar()
        row = self._run(conn, params)
        return None if row is None else row[0]

    def scalar_one(self, conn: sa.Connection, params: dict):
        """The one row's first value (an INSERT … RETURNING id)."""
        if not self._direct(conn):
            return conn.execute(self.statement, params).scalar_one()
        row = self._run(conn, params)
        if row is None:
            raise sa.exc.NoResultFound("No row was found when one was required")
        return row[0]

    @staticmethod
    def _direct(conn: sa.Connection) -> bool:
        return conn.dialect.name in ("postgresql", "sqlite") and not (
            conn._echo or conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute)

    def _compile(self, dialect: sa.Dialect) -> tuple:
        compiled = self.statement.compile(dialect=dialect)
        if getattr(compiled, "escaped_bind_names", None):
            raise NotImplementedError("plain bind parameter names only")
        order = tuple(compiled.positiontup) if compiled.positional else None  # sqlite3's "?" in order
        binds = {key: bp.type.dialect_impl(dialect).bind_processor(dialect) for key, bp in compiled.binds.items()}
        columns = list(self.statement.exported_columns)
        if not columns:
            raise NotImplementedError("statements that return rows only (a SELECT, or DML with RETURNING)")
        names = [c.key for c in columns]
        row_type = collections.namedtuple("Row", names)  # fails loudly on a duplicate or odd name
        return (compiled, {k: p for k, p in binds.items() if p is not None}, order, row_type,
                [c.type for c in columns], [])

    def _run(self, conn: sa.Connection, params: dict) -> tuple | None:
        dialect = conn.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        compiled, binds, order, row_type, types, results = plan
        values = compiled.construct_params(params)
        try:
            for key, process in binds.items():
                values[key] = process(values[key])
        except Exception as err:  # a type's own refusal (a naive datetime …), wrapped as SQLAlchemy wraps it
            raise sa.exc.StatementError(str(err), compiled.string, params, err) from err
        if not conn.in_transaction():
            conn.begin()  # SQLAlchemy's autobegin, so that conn.commit() and conn.rollback() act on this statement
        if order is not None:
            values = [values[key] for key in order]
        dbapi_conn = conn.connection.dbapi_connection
        cur = dbapi_conn.cursor()
        try:
            if order is None:
                cur.execute(compiled.string, values, prepare=True)  # psycopg keeps the plan (sqlite3 caches its own)
            else:
                cur.execute(compiled.string, values)
            row = cur.fetchone()  # (psycopg's cur.description builds its column objects anew on every call)
            if row is not None and not results:
                results[:] = [t.dialect_impl(dialect).result_processor(dialect, d[1])
                              for t, d in zip(types, cur.description)]
        except dialect.loaded_dbapi.Error as err:
            lost = dialect.is_disconnect(err, dbapi_conn, cur)
            if lost:
                conn.invalidate(err)
            raise sa.exc.DBAPIError.instance(compiled.string, values, err, dialect.loaded_dbapi.Error,
                                             connection_invalidated=lost, dialect=dialect) from err
        finally:
            cur.close()
        if row is None:
            return None
        return row_type(*[value if process is None else process(value) for value, process in zip(row, results)])


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out (docs: bench/README.md,
# "CPU per request"). pool_pre_ping pinged on every checkout: one more round trip and ~0.3 ms of client CPU on every
# request (a SELECT 1 in psycopg 3 costs what a real statement does). A connection used a moment ago is taken as alive;
# if the server went away within that moment, the request that meets it fails once and SQLAlchemy then invalidates the
# whole pool, so the next requests reconnect. 0 pings on every checkout (pool_pre_ping's behaviour).
PING_AFTER_IDLE_S = 10.0


def make_engine(url: str, *, ping_after_idle_s: float | None = None) -> sa.Engine:
    """An engine with foreign keys enforced on SQLite too; on PostgreSQL a pool that pings only connections that sat
    unused for `ping_after_idle_s` seconds (default PING_AFTER_IDLE_S)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    engine = sa.create_engine(url)
    _ping_when_idle(engine, PING_AFTER_IDLE_S if ping_after_idle_s is None else ping_after_idle_s)
    return engine


def _ping_when_idle(engine: sa.Engine, idle_s: float) -> None:
    """pool_pre_ping, but only for a connection unused for more than idle_s seconds (SQLAlchemy's documented
    "pessimistic" recipe: a checkout listener that raises DisconnectionError, so the pool replaces the connection
    and tries again)."""
    dialect = engine.dialect

    @sa.event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn, record):
        record.info["used_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _used(_dbapi_conn, record):
        record.info["used_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        if time.monotonic() - record.info.get("used_at", 0.0) <= idle_s:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise sa.exc.DisconnectionError() from err
            raise
        record.info["used_at"] = time.monotonic()


def alembic_config(engine: sa.Engine) -> Config:
    """An Alembic config that runs against this engine (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def has_data(session: Session) -> bool:
    """Whether the database already holds a station (the root of all data)."""
    return session.exec(select(models.Station.id).limit(1)).first() is not None


def metadata() -> sa.MetaData:
    """The metadata Alembic compares migrations against."""
    return SQLModel.metadata


def is_unique_violation(err: sa.exc.IntegrityError) -> bool:
    """Whether the database refused a row because a unique constraint (or primary key) already holds its value —
    a race between two writers — and not for a NOT NULL, CHECK or foreign-key rule, which is a bug."""
    orig = err.orig
    state = getattr(orig, "sqlstate", None)  # psycopg
    if state is not None:
        return state == "23505"
    code = getattr(orig, "sqlite_errorcode", None)  # sqlite3 (Python 3.11+)
    if code is not None:
        return code in (2067, 1555)  # SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
    return "UNIQUE constraint failed" in str(orig)


def savepoint(session: Session):
    """session.begin_nested(), also atomic on SQLite: the sqlite3 module begins its transaction only before the first
    INSERT/UPDATE/DELETE, so a SAVEPOINT opened before any write would be the outermost one and its RELEASE would
    commit. A BEGIN first keeps the savepoint nested, and the caller's commit or rollback decides for all of it."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")
    return session.begin_nested()


@contextmanager
def unique_or(session: Session, error: Exception):
    """Write what the block adds inside a savepoint; when a unique constraint refuses it (someone else did the same
    at the same instant) only the savepoint is rolled back and `error` is raised — a translated 409 of the caller's.
    Any other IntegrityError (NOT NULL, foreign key, CHECK) propagates: it is a bug, not a race."""
    try:
        with savepoint(session):
            yield
            session.flush()
    except sa.exc.IntegrityError as err:
        if not is_unique_violation(err):
            raise
        raise error from None
