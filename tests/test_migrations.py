"""The Alembic migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from volunteers import db
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
