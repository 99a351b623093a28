"""assignment.no_location: "done" marked with the volunteer's explicit 无定位 (no location could be given), so the
officer can tell it from a done that carried no evidence at all

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignment') as batch:
        batch.add_column(sa.Column('no_location', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('assignment') as batch:
        batch.drop_column('no_location')
