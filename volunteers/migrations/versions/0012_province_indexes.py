"""indexes the province-scale benchmark asked for (bench/README.md, province section): a volunteer's open tasks and the
jobs' ended shifts by end time, a station's month of service records, a person's recent patrols

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:20:00
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_task_station_ends', 'task', ['station_id', 'ends_at']),
    ('ix_task_ends', 'task', ['ends_at']),
    ('ix_service_record_station_starts', 'service_record', ['station_id', 'starts_at']),
    ('ix_patrol_user_started', 'patrol', ['user_id', 'started_at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
