"""Drop four single-column indexes that a composite index already leads with: checkin.patrol_id
(ix_checkin_patrol_recorded), patrol.user_id (ix_patrol_user_started, uq_patrol_one_open), hazard.grid_id
(ix_hazard_grid_status) and hazard.station_id (ix_hazard_station_reported). Every check-in, patrol start and report
then updates one index less; a look-up by the column alone uses the composite index.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 14:00:00
"""
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

COVERED = (("checkin", "patrol_id"), ("patrol", "user_id"), ("hazard", "grid_id"), ("hazard", "station_id"))


def upgrade() -> None:
    for table, column in COVERED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    for table, column in reversed(COVERED):
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
