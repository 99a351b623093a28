"""snake_case names for the five tables SQLModel named by running words together (issue 17): gridofficer →
grid_officer, routestop → route_stop, teammember → team_member, apitoken → api_token, loginfailure → login_failure,
with their keys, indexes and id sequences named after the new table as the models' naming convention does; and
service_record (volunteer_id, ends_at) for the overlap check of a person's service (bench/README.md, "hot composite
indexes")

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 03:30:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# A frozen list: none of these tables is referenced by another, and no name of theirs holds another table's name.
RENAMES = (
    ('gridofficer', 'grid_officer'),
    ('routestop', 'route_stop'),
    ('teammember', 'team_member'),
    ('apitoken', 'api_token'),
    ('loginfailure', 'login_failure'),
)


def rename(old: str, new: str) -> None:
    """Rename table `old` to `new`, and every constraint, index and sequence named after it (pk_old → pk_new …)."""
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # SQLite keeps constraint names inside the table's CREATE statement: the table is made again under the new
        # name from its own statement (the names swapped), its rows copied, the old one dropped with its indexes, and
        # those made again. Foreign keys are off during migrations (env.py), and nothing points at these tables.
        create = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (old,)).scalar_one()
        indexes = [sql for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (old,))]
        bind.exec_driver_sql(create.replace(old, new))
        bind.exec_driver_sql(f'INSERT INTO "{new}" SELECT * FROM "{old}"')
        bind.exec_driver_sql(f'DROP TABLE "{old}"')
        for sql in indexes:
            bind.exec_driver_sql(sql.replace(old, new))
        return
    # PostgreSQL renames in place (no rewrite), but keeps the names of the table's constraints, indexes and sequence.
    op.rename_table(old, new)
    for (name,) in bind.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %(t)s::regclass ORDER BY conname", {'t': new}).all():
        if f'_{old}' in name:  # renaming a primary key or unique constraint renames its index too
            op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT {name} TO {name.replace(f"_{old}", f"_{new}", 1)}')
    for (name,) in bind.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %(t)s "
            "ORDER BY indexname", {'t': new}).all():
        if f'_{old}' in name:
            op.execute(f'ALTER INDEX {name} RENAME TO {name.replace(f"_{old}", f"_{new}", 1)}')
    if bind.exec_driver_sql("SELECT to_regclass(%(s)s)", {'s': f'{old}_id_seq'}).scalar() is not None:
        op.execute(f'ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq')


def upgrade() -> None:
    for old, new in RENAMES:
        rename(old, new)
    op.create_index('ix_service_record_volunteer_ends', 'service_record', ['volunteer_id', 'ends_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_service_record_volunteer_ends', table_name='service_record')
    for old, new in reversed(RENAMES):
        rename(new, old)
