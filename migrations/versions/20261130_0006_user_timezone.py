"""A user's own time zone (empty: the studio's CRM_TIMEZONE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ab_user') as batch:
        batch.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('ab_user') as batch:
        batch.drop_column('timezone')
