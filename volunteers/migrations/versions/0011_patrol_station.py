"""patrol.station_id: a patrol names its station, so the patrol and its check-ins and positions are one join from
the station (the distribution key for outgrowing one database, docs/scaling.md); filled from each volunteer's station

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('patrol') as batch:
        batch.add_column(sa.Column('station_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_patrol_station_id_station', 'station', ['station_id'], ['id'], ondelete='CASCADE')
        batch.create_index('ix_patrol_station_started', ['station_id', 'started_at'])
    op.execute('UPDATE patrol SET station_id = (SELECT "user".station_id FROM "user" WHERE "user".id = patrol.user_id)')


def downgrade() -> None:
    with op.batch_alter_table('patrol') as batch:
        batch.drop_index('ix_patrol_station_started')
        batch.drop_constraint('fk_patrol_station_id_station', type_='foreignkey')
        batch.drop_column('station_id')
