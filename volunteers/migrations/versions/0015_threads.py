"""hazard_message: a report's thread (questions, answers, updates, confirmations, reopens) with photos by message_id;
notifications grouped by report, with a kind and an SMS state; notification_choice: in-app only or + SMS per kind
(issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hazard_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_hazard_message_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_message_hazard_id_hazard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_message')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hazard_message_client_id'))
    )
    op.create_index(op.f('ix_hazard_message_hazard_id'), 'hazard_message', ['hazard_id'], unique=False)
    op.create_table('notification_choice',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sms', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_choice_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_choice'))
    )
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_photo_message_id'), ['message_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_photo_message_id_hazard_message'), 'hazard_message', ['message_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hazard_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='other'))
        batch_op.add_column(sa.Column('sms_state', sa.String(length=8), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notification_hazard_id_hazard'), 'hazard', ['hazard_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_notification_user_hazard', ['user_id', 'hazard_id'], unique=False)
        batch_op.create_index('ix_notification_sms_state', ['sms_state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_sms_state')
        batch_op.drop_index('ix_notification_user_hazard')
        batch_op.drop_constraint(batch_op.f('fk_notification_hazard_id_hazard'), type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('sms_state')
        batch_op.drop_column('kind')
        batch_op.drop_column('hazard_id')
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_photo_message_id_hazard_message'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_photo_message_id'))
        batch_op.drop_column('message_id')
    op.drop_table('notification_choice')
    op.drop_index(op.f('ix_hazard_message_hazard_id'), table_name='hazard_message')
    op.drop_table('hazard_message')
