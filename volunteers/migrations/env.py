"""Alembic environment: runs against the engine handed over in config.attributes."""
from alembic import context

from volunteers.db import make_engine, metadata
from volunteers.models import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Write plain SQLAlchemy types into migrations, so they never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration copies a table, drops the old one and renames the copy. With foreign keys on, SQLite's
        # DROP TABLE deletes the rows first and ON DELETE CASCADE empties every child table (re-making `patrol`
        # once emptied `checkin`). The pragma only takes effect outside a transaction, so it is set before one.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_item=render_item,
        render_as_batch=True,  # SQLite can only ALTER by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
