"""duties, manual hours and corrections carry the form's client_id, so a retried submit saves once

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('duty', 'service_record')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
            batch.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
            batch.create_unique_constraint(op.f(f'uq_{table}_client_id'), ['client_id'])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f'uq_{table}_client_id'), type_='unique')
            batch.drop_column('fingerprint')
            batch.drop_column('client_id')
