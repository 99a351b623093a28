"""a checkpoint can be retired (停用) and brought back

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkpoint') as batch:
        batch.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('checkpoint') as batch:
        batch.drop_column('retired_at')
