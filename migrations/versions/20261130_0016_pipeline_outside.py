"""The pipeline outside projects per account and currency, maintained like the other aggregates
(app/services/aggregates.py) and filled here: the accounts list's "open pipeline" order for a
viewer who sees every account but only some projects, walked by index (issue 17).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agg_account_pipeline_outside',
                    sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
                    sa.Column('currency', sa.String(3), nullable=False),
                    sa.Column('deals', sa.Integer(), server_default='0', nullable=False),
                    sa.Column('amount', sa.Numeric(18, 2), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('account_id', 'currency', name=op.f('pk_agg_account_pipeline_outside')))
    op.create_index('ix_agg_account_pipeline_outside_order', 'agg_account_pipeline_outside',
                    ['currency', sa.text('amount DESC'), 'account_id'])
    postgres = op.get_bind().dialect.name == "postgresql"
    accepted = "proposed = false" if postgres else "proposed = 0"
    op.execute(f"""INSERT INTO agg_account_pipeline_outside (account_id, currency, deals, amount)
        SELECT account_id, currency, count(*), sum(coalesce(amount_estimate, 0)) FROM opportunities
        WHERE status = 'open' AND {accepted} AND project_id IS NULL GROUP BY account_id, currency""")
    if postgres:  # the planner's statistics now, not when autovacuum gets to it
        op.execute("ANALYZE agg_account_pipeline_outside")


def downgrade():
    op.drop_index('ix_agg_account_pipeline_outside_order', table_name='agg_account_pipeline_outside')
    op.drop_table('agg_account_pipeline_outside')
