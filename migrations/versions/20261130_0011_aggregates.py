"""Maintained aggregates (issue 17): the board's and the accounts list's totals kept per key by the
write path (app/services/aggregates.py), filled here from the existing rows; indexes for the
owner's board order, the proposals waiting and the accounts list's orders.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

NIL = "00000000-0000-0000-0000-000000000000"


def _guid():
    return sqlalchemy_utils.types.uuid.UUIDType(binary=False)


def _sums():
    return [sa.Column('deals', sa.Integer(), server_default='0', nullable=False),
            sa.Column('amount', sa.Numeric(18, 2), server_default='0', nullable=False),
            sa.Column('weighted', sa.Numeric(20, 5), server_default='0', nullable=False)]


def _fill(postgres: bool) -> None:
    """The same recomputation as app.services.aggregates.rebuild (kept in SQL: migrations import
    nothing of the app)."""
    owner = "coalesce(owner_user_id, 0)"
    in_project = "CASE WHEN project_id IS NULL THEN false ELSE true END" if postgres else \
        "CASE WHEN project_id IS NULL THEN 0 ELSE 1 END"
    nil = f"'{NIL}'::uuid" if postgres else f"'{NIL.replace('-', '')}'"
    day = "(closed_at AT TIME ZONE 'UTC')::date" if postgres else "date(closed_at)"
    sums = ("count(*), sum(coalesce(amount_estimate, 0)), "
            "sum(coalesce(amount_estimate, 0) * coalesce(probability, 0))")
    accepted = "proposed = false" if postgres else "proposed = 0"
    op.execute(f"""INSERT INTO agg_board_open (stage, owner_key, forecast_category, currency, in_project, deals, amount, weighted)
        SELECT stage, {owner}, forecast_category, currency, {in_project}, {sums} FROM opportunities
        WHERE status = 'open' AND {accepted}
        GROUP BY stage, {owner}, forecast_category, currency, {in_project}""")
    op.execute(f"""INSERT INTO agg_board_closed (closed_on, stage, owner_key, forecast_category, currency, in_project,
                                                 deals, amount, weighted)
        SELECT {day}, stage, {owner}, forecast_category, currency, {in_project}, {sums} FROM opportunities
        WHERE status <> 'open' AND {accepted} AND closed_at IS NOT NULL
        GROUP BY {day}, stage, {owner}, forecast_category, currency, {in_project}""")
    op.execute(f"""INSERT INTO agg_account_open (account_id, project_key, stage, owner_key, forecast_category, currency,
                                                 deals, amount, weighted)
        SELECT account_id, coalesce(project_id, {nil}), stage, {owner}, forecast_category, currency, {sums}
        FROM opportunities WHERE status = 'open' AND {accepted}
        GROUP BY account_id, coalesce(project_id, {nil}), stage, {owner}, forecast_category, currency""")
    op.execute(f"""INSERT INTO agg_account_pipeline (account_id, currency, deals, amount)
        SELECT account_id, currency, count(*), sum(coalesce(amount_estimate, 0))
        FROM opportunities WHERE status = 'open' AND {accepted} GROUP BY account_id, currency""")
    op.execute(f"""INSERT INTO agg_account_counts (status, segment, owner_key, accounts)
        SELECT status, segment, {owner}, count(*) FROM accounts WHERE merged_into_id IS NULL
        GROUP BY status, segment, {owner}""")


def upgrade():
    def keys():
        return [sa.Column('stage', sa.String(32), nullable=False),
                sa.Column('owner_key', sa.Integer(), nullable=False),
                sa.Column('forecast_category', sa.String(16), nullable=False),
                sa.Column('currency', sa.String(3), nullable=False)]
    op.create_table('agg_board_open', *keys(),
                    sa.Column('in_project', sa.Boolean(), nullable=False), *_sums(),
                    sa.PrimaryKeyConstraint('stage', 'owner_key', 'forecast_category', 'currency', 'in_project',
                                            name=op.f('pk_agg_board_open')))
    op.create_table('agg_board_closed', sa.Column('closed_on', sa.Date(), nullable=False), *keys(),
                    sa.Column('in_project', sa.Boolean(), nullable=False), *_sums(),
                    sa.PrimaryKeyConstraint('closed_on', 'stage', 'owner_key', 'forecast_category', 'currency',
                                            'in_project', name=op.f('pk_agg_board_closed')))
    op.create_table('agg_account_open', sa.Column('account_id', _guid(), nullable=False),
                    sa.Column('project_key', _guid(), nullable=False), *keys(), *_sums(),
                    sa.PrimaryKeyConstraint('account_id', 'project_key', 'stage', 'owner_key', 'forecast_category',
                                            'currency', name=op.f('pk_agg_account_open')))
    op.create_index('ix_agg_account_open_project', 'agg_account_open', ['project_key'], unique=False)
    op.create_table('agg_account_pipeline', sa.Column('account_id', _guid(), nullable=False),
                    sa.Column('currency', sa.String(3), nullable=False),
                    sa.Column('deals', sa.Integer(), server_default='0', nullable=False),
                    sa.Column('amount', sa.Numeric(18, 2), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('account_id', 'currency', name=op.f('pk_agg_account_pipeline')))
    op.create_table('agg_account_counts', sa.Column('status', sa.String(20), nullable=False),
                    sa.Column('segment', sa.String(20), nullable=False),
                    sa.Column('owner_key', sa.Integer(), nullable=False),
                    sa.Column('accounts', sa.Integer(), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('status', 'segment', 'owner_key', name=op.f('pk_agg_account_counts')))
    op.create_index('ix_opportunities_owner_stage_next_step', 'opportunities',
                    ['owner_user_id', 'stage', 'next_step_due_at', 'id'], unique=False)
    op.create_index('ix_opportunities_owner_stage_closed', 'opportunities',
                    ['owner_user_id', 'stage', 'closed_at', 'id'], unique=False)
    op.create_index('ix_opportunities_proposed_created', 'opportunities', ['created_at'], unique=False,
                    postgresql_where=sa.text('proposed IS true AND withdrawn_at IS NULL'),
                    sqlite_where=sa.text('proposed IS 1 AND withdrawn_at IS NULL'))
    op.create_index('ix_accounts_lower_name', 'accounts', [sa.text('lower(name)'), 'id'], unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # SQLite has no NULLS LAST in an index; its small lists sort without one
        op.create_index('ix_accounts_last_touch', 'accounts', [sa.text('last_touch_at DESC NULLS LAST'), 'name'],
                        unique=False)
    _fill(postgres)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_accounts_last_touch', table_name='accounts')
    op.drop_index('ix_accounts_lower_name', table_name='accounts')
    op.drop_index('ix_opportunities_proposed_created', table_name='opportunities')
    op.drop_index('ix_opportunities_owner_stage_closed', table_name='opportunities')
    op.drop_index('ix_opportunities_owner_stage_next_step', table_name='opportunities')
    op.drop_index('ix_agg_account_open_project', table_name='agg_account_open')
    op.drop_table('agg_account_counts')
    op.drop_table('agg_account_pipeline')
    op.drop_table('agg_account_open')
    op.drop_table('agg_board_closed')
    op.drop_table('agg_board_open')
