"""voice_note: a spoken note (≤ 60 s) with a report or a task's "done" (issue 16)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_voice_note_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_voice_note_hazard_id_hazard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_note')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_voice_note_stored_name'))
    )
    with op.batch_alter_table('voice_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_note_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_note_hazard_id'), ['hazard_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('voice_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_note_hazard_id'))
        batch_op.drop_index(batch_op.f('ix_voice_note_assignment_id'))
    op.drop_table('voice_note')
