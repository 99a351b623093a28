"""hazard.closed_at (filled from each closed hazard's "closed" event) and indexes for 月考评's hazards closed in a
month and for one station's Open311 feed (bench/README.md, province section, suggestions 6 and 7)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hazard') as batch:
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    # "closed" is a final state, so a hazard has at most one such event.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""UPDATE hazard SET closed_at = e.at FROM hazard_event e
                      WHERE e.hazard_id = hazard.id AND e.to_status = 'closed' AND hazard.status = 'closed'""")
    else:
        op.execute("""UPDATE hazard SET closed_at = (SELECT max(e.at) FROM hazard_event e
                                                     WHERE e.hazard_id = hazard.id AND e.to_status = 'closed')
                      WHERE status = 'closed'""")
    op.create_index('ix_hazard_station_closed', 'hazard', ['station_id', 'closed_at'], unique=False)
    op.create_index('ix_hazard_station_reported', 'hazard', ['station_id', 'reported_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_hazard_station_reported', table_name='hazard')
    op.drop_index('ix_hazard_station_closed', table_name='hazard')
    with op.batch_alter_table('hazard') as batch:
        batch.drop_column('closed_at')
