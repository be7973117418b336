"""The accounts list's "open pipeline" order walked by index: the maintained per-account pipeline by
currency, biggest first (app/queries/account_pages.py; issue 17).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 18:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_agg_account_pipeline_order', 'agg_account_pipeline',
                    ['currency', sa.text('amount DESC'), 'account_id'])


def downgrade():
    op.drop_index('ix_agg_account_pipeline_order', table_name='agg_account_pipeline')
