"""patrol.discarded: a patrol ended within a minute of its start with no check-in is kept (so a late retry of its
end still answers) but counts nowhere — not in my patrols, the dashboard, the monthly tally or service hours

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:45:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('patrol') as batch:
        batch.add_column(sa.Column('discarded', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('patrol') as batch:
        batch.drop_column('discarded')
