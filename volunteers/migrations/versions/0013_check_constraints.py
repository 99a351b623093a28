"""CHECK constraints on the state and kind columns (issue 17): a value outside the list fails at the database

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:10:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# A frozen copy of models.CHECKS as it stood at this revision: a later change of the list is a new migration.
CHECKS = {
    'user': {'role': ('volunteer', 'officer', 'coordinator', 'admin'), 'status': ('pending', 'active', 'suspended')},
    'hazard': {'kind': ('hazard', 'clue'),
               'category': ('fire', 'gas_electric', 'traffic', 'public_order', 'dispute', 'suspicious', 'other'),
               'status': ('reported', 'accepted', 'assigned', 'rectifying', 'rectified', 'closed', 'rejected',
                          'duplicate'),
               'priority': ('low', 'normal', 'high', 'urgent')},
    'task': {'kind': ('patrol', 'school_gate', 'publicity', 'event_security', 'home_visit', 'hazard_followup')},
    'assignment': {'state': ('offered', 'accepted', 'declined', 'done', 'verified', 'no_show')},
    'service_record': {'status': ('pending', 'approved', 'rejected'),
                       'source': ('patrol', 'assignment', 'manual', 'correction')},
    'checkin': {'method': ('gps', 'qr')},
    'certificate': {'status': ('notice', 'issued', 'withdrawn')},
}


def upgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(column, f"{column} IN ({', '.join(repr(v) for v in values)})")


def downgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
