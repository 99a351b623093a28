"""photo_upload: every photo a person sends, for the per-person hourly upload limit; apitoken gets a label and
last_used_at for the account page's list

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photo_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_photo_upload_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_upload'))
    )
    op.create_index('ix_photo_upload_user_at', 'photo_upload', ['user_id', 'at'], unique=False)
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('label')
    op.drop_index('ix_photo_upload_user_at', table_name='photo_upload')
    op.drop_table('photo_upload')
