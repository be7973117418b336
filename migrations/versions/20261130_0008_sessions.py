"""Revocable sessions and tokens: a per-user "sessions valid after" time (a password change or a
lockout moves it), a per-user lockout time, and a blocklist of revoked JWT ids (logout of a token).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ab_user') as batch:
        batch.add_column(sa.Column('sessions_valid_after', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'revoked_tokens',
        sa.Column('jti', sa.String(length=64), primary_key=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_revoked_tokens_expires_at', 'revoked_tokens', ['expires_at'])


def downgrade():
    op.drop_index('ix_revoked_tokens_expires_at', table_name='revoked_tokens')
    op.drop_table('revoked_tokens')
    with op.batch_alter_table('ab_user') as batch:
        batch.drop_column('locked_until')
        batch.drop_column('sessions_valid_after')
