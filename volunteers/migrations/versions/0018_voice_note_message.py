"""voice_note.message_id: the reporter answers the officer's question by voice too (issue 16)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 01:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_voice_note_message_id'), ['message_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_voice_note_message_id_hazard_message'), 'hazard_message',
                                    ['message_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('voice_note', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_voice_note_message_id_hazard_message'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_voice_note_message_id'))
        batch_op.drop_column('message_id')
