"""Indexes for the officer's dashboard at province scale: a grid's closings (hazard.grid_id, closed_at), a point's
check-ins by time (checkin.checkpoint_id, recorded_at) and a grid's month of hours (service_record.grid_id, month).
The two composite indexes replace the single-column ones on their first column (one index less per insert).

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07 03:30:00
"""
from alembic import op


revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_hazard_grid_closed', 'hazard', ['grid_id', 'closed_at'], unique=False)
    op.create_index('ix_checkin_checkpoint_recorded', 'checkin', ['checkpoint_id', 'recorded_at'], unique=False)
    op.drop_index('ix_checkin_checkpoint_id', table_name='checkin')
    op.create_index('ix_service_record_grid_month', 'service_record', ['grid_id', 'month'], unique=False)
    op.drop_index('ix_service_record_grid_id', table_name='service_record')


def downgrade() -> None:
    op.create_index('ix_service_record_grid_id', 'service_record', ['grid_id'], unique=False)
    op.drop_index('ix_service_record_grid_month', table_name='service_record')
    op.create_index('ix_checkin_checkpoint_id', 'checkin', ['checkpoint_id'], unique=False)
    op.drop_index('ix_checkin_checkpoint_recorded', table_name='checkin')
    op.drop_index('ix_hazard_grid_closed', table_name='hazard')
