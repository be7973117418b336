"""Login limits shared by app instances: failed logins per client address and minute, so the
per-address limit holds across workers and hosts (app/sessions.py; issue 17).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('address', 'bucket'),
    )
    op.create_index('ix_login_failures_bucket', 'login_failures', ['bucket'])


def downgrade():
    op.drop_index('ix_login_failures_bucket', table_name='login_failures')
    op.drop_table('login_failures')
