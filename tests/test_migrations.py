"""The Alembic migrations build exactly the schema the models describe."""
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from volunteers import db
from volunteers import models
from volunteers.models import SQLModel


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
