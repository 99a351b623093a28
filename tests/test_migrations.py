"""The Alembic migrations build exactly the schema the models describe."""
import re

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session

from tests.conftest import VOLUNTEER
from volunteers import accounts, db
from volunteers import models
from volunteers.models import SQLModel

# Migration 0019: the tables SQLModel named by running words together, and their snake_case names.
RENAMED = {"gridofficer": "grid_officer", "routestop": "route_stop", "teammember": "team_member",
           "apitoken": "api_token", "loginfailure": "login_failure"}


def test_migrations_match_the_models(app):
    engine = app.extensions["volunteers.engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_migrating_again_is_harmless_and_stays_at_head(app):
    engine = app.extensions["volunteers.engine"]
    db.migrate(engine)
    head = ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_migrating_down_and_up_keeps_every_row(make_app, session, town):
    """Re-making a parent table on SQLite (batch mode) must not cascade-delete its children: 0011 re-makes `patrol`,
    whose check-ins once vanished with it."""
    engine = session.get_bind()
    counts = {t: session.exec(sa.text(f'SELECT count(*) FROM "{t}"')).one()[0] for t in ("checkin", "patrol", "hazard")}
    assert counts["checkin"] > 0
    session.close()
    config = db.alembic_config(engine)
    command.downgrade(config, "0010")
    command.upgrade(config, "head")
    with engine.connect() as conn:
        after = {t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in counts}
    assert after == counts


def schema_names(conn) -> set[str]:
    """Every table, index, constraint and (PostgreSQL) sequence name of the database."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").all()
        return {name for name, _ in rows} | {c for _, sql in rows for c in re.findall(r"CONSTRAINT (\w+)", sql or "")}
    return set(conn.exec_driver_sql(
        "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "UNION SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace").scalars())


def named_after(names: set[str], tables) -> set[str]:
    return {n for n in names if any(t in n for t in tables)}


def test_the_run_together_tables_are_snake_case_with_their_keys_and_indexes(app):
    with app.extensions["volunteers.engine"].connect() as conn:
        names = schema_names(conn)
    assert set(RENAMED.values()) <= names
    assert {"pk_grid_officer", "fk_route_stop_route_id_route", "ix_team_member_user_id", "uq_api_token_token_hash",
            "ix_login_failure_phone"} <= names
    if app.extensions["volunteers.engine"].dialect.name == "postgresql":
        assert {"api_token_id_seq", "login_failure_id_seq"} <= names
    assert named_after(names, RENAMED) == set()


def test_renaming_the_tables_keeps_their_rows_down_and_up(session, town):
    token = accounts.issue_token(session, user=town.user(VOLUNTEER), label="script")
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(session, phone=VOLUNTEER, password="wrong", ip="10.0.0.9")
    counts = {new: session.exec(sa.text(f"SELECT count(*) FROM {new}")).one()[0] for new in RENAMED.values()}
    assert all(counts.values()), counts
    engine = session.get_bind()
    session.close()
    config = db.alembic_config(engine)

    command.downgrade(config, "0018")
    with engine.connect() as conn:
        assert {new: conn.exec_driver_sql(f"SELECT count(*) FROM {old}").scalar()
                for old, new in RENAMED.items()} == counts
        names = schema_names(conn)
    assert {"pk_gridofficer", "uq_apitoken_token_hash", "ix_loginfailure_phone"} <= names
    assert named_after(names, RENAMED.values()) == set()

    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert {new: conn.exec_driver_sql(f"SELECT count(*) FROM {new}").scalar() for new in RENAMED.values()} == counts
        assert named_after(schema_names(conn), RENAMED) == set()
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata) == []
    with Session(engine) as s:
        assert accounts.user_for_token(s, token).phone == VOLUNTEER


def test_the_checked_values_are_the_domains_own():
    from volunteers import certificates, hazards, models, tasks
    assert models.CHECKS[("hazard", "kind")] == hazards.KINDS
    assert models.CHECKS[("hazard", "category")] == hazards.CATEGORIES
    assert models.CHECKS[("hazard", "priority")] == hazards.PRIORITIES
    assert set(models.CHECKS[("hazard", "status")]) == set(hazards.STATES)
    assert models.CHECKS[("task", "kind")] == tasks.KINDS
    assert set(models.CHECKS[("assignment", "state")]) == set(tasks.STATE_LABELS)
    assert set(models.CHECKS[("certificate", "status")]) >= {"notice", "issued", "withdrawn"}
    assert certificates  # imported for the status values above, which it writes as literals


@pytest.mark.parametrize("table, column", [("hazard", "status"), ("user", "role"), ("assignment", "state"),
                                           ("service_record", "status"), ("checkin", "method")])
def test_the_database_refuses_a_value_outside_the_list(session, town, table, column):
    with pytest.raises(sa.exc.IntegrityError):
        session.exec(sa.text(f'UPDATE "{table}" SET {column} = :v'), params={"v": "typo"})
        session.flush()
    session.rollback()
    allowed = models.CHECKS[(table, column)][-1]
    session.exec(sa.text(f'UPDATE "{table}" SET {column} = :v'), params={"v": allowed})
    session.rollback()
