"""composite indexes for the hot queries: a patrol's check-ins by time, reports by grid and state, a person's hours
by start, a person's unread notifications

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 00:40:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_checkin_patrol_recorded', 'checkin', ['patrol_id', 'recorded_at']),
    ('ix_hazard_grid_status', 'hazard', ['grid_id', 'status']),
    ('ix_service_record_volunteer_starts', 'service_record', ['volunteer_id', 'starts_at']),
    ('ix_notification_user_read', 'notification', ['user_id', 'read_at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
