"""Report aggregates: the dashboard's maintained tables (pipeline, stage ages, next steps, closed
deals, past stays; each over all deals and per project), the owner and project a stage change left
the deal with (backfilled once from the deals, the append-only trigger paused for that update only),
and the indexes the dashboard's edges and lists read. The tables are filled from the rows
(`flask crm rebuild-aggregates` recomputes them whenever needed).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OPEN = "status = 'open' AND proposed IS false"


def _guid():
    return sqlalchemy_utils.types.uuid.UUIDType(binary=False)


def _table(name, scope, keys, values):
    """One aggregate table: its scope column (in_project or project_id), keys, additive values."""
    scope_column = (sa.Column('in_project', sa.Boolean(), nullable=False) if scope == 'in_project'
                    else sa.Column('project_id', _guid(), nullable=False))
    columns = [sa.Column(n, t, nullable=False) for n, t in keys] + [scope_column]
    columns += [sa.Column(n, t, nullable=False, server_default='0') for n, t in values]
    key_names = [n for n, _ in keys] + [scope]
    op.create_table(name, *columns, sa.PrimaryKeyConstraint(*key_names))


def _tables():
    count = [('deals', sa.Integer())]
    return {
        'report_pipeline': ([('stage', sa.String(32)), ('owner_user_id', sa.Integer()),
                             ('forecast_category', sa.String(16)), ('close_month', sa.String(7))],
                            count + [('amount', sa.Numeric(20, 2)), ('weighted', sa.Numeric(24, 5))]),
        'report_stage_ages': ([('stage', sa.String(32)), ('owner_user_id', sa.Integer()), ('entered_day', sa.Date())],
                              count),
        'report_next_steps': ([('owner_user_id', sa.Integer()), ('due_day', sa.Date())], count),
        'report_closed': ([('owner_user_id', sa.Integer()), ('source', sa.String(64)), ('closed_day', sa.Date())],
                          [('won', sa.Integer()), ('lost', sa.Integer())]),
        'report_stays': ([('stage', sa.String(32)), ('owner_user_id', sa.Integer()), ('left_day', sa.Date()),
                          ('days', sa.Integer())], [('stays', sa.Integer())]),
    }


BACKFILL = """
UPDATE opportunity_events e SET owner_user_id = o.owner_user_id, project_id = o.project_id
FROM opportunities o WHERE o.id = e.opportunity_id AND e.event_type = 'stage_changed'
"""
BACKFILL_SQLITE = """
UPDATE opportunity_events SET
  owner_user_id = (SELECT owner_user_id FROM opportunities o WHERE o.id = opportunity_events.opportunity_id),
  project_id = (SELECT project_id FROM opportunities o WHERE o.id = opportunity_events.opportunity_id)
WHERE event_type = 'stage_changed'
"""


def _fill_sql(postgres: bool) -> dict:
    """Each table's first contents: the same definitions as app/services/report_aggregates.py's
    sources (its SQL twins), written out because a migration imports nothing of the app."""
    if postgres:
        day = "(({}) AT TIME ZONE 'UTC')::date".format
        month = "coalesce(to_char(close_date_target, 'YYYY-MM'), '')"
        stay = ("greatest(0, (floor(extract(epoch FROM created_at))::bigint"
                " - floor(extract(epoch FROM previous_stage_entered_at))::bigint) / 86400)")
        stage_left = "old_value ->> 'stage'"
        no_day = "DATE '0001-01-01'"
    else:
        day = "date({})".format
        month = "coalesce(strftime('%Y-%m', close_date_target), '')"
        stay = ("max(0, (CAST(strftime('%s', created_at) AS INTEGER)"
                " - CAST(strftime('%s', previous_stage_entered_at) AS INTEGER)) / 86400)")
        stage_left = "json_extract(old_value, '$.stage')"
        no_day = "'0001-01-01'"
    owner = "coalesce(owner_user_id, 0)"
    open_deals = "FROM opportunities WHERE status = 'open' AND proposed = false"
    amount = "coalesce(amount_estimate, 0)"
    return {
        'report_pipeline': (f"stage, {owner}, forecast_category, {month}",
                            f"count(*), sum({amount}), sum({amount} * coalesce(probability, 0))", open_deals),
        'report_stage_ages': (f"stage, {owner}, {day('stage_entered_at')}", "count(*)", open_deals),
        'report_next_steps': (f"{owner}, CASE WHEN next_step_due_at IS NULL THEN {no_day} "
                              f"ELSE {day('next_step_due_at')} END", "count(*)", open_deals),
        'report_closed': (f"{owner}, coalesce(source, ''), {day('closed_at')}",
                          "sum(CASE WHEN status = 'won' THEN 1 ELSE 0 END), "
                          "sum(CASE WHEN status = 'lost' THEN 1 ELSE 0 END)",
                          "FROM opportunities WHERE status IN ('won', 'lost') AND proposed = false "
                          "AND closed_at IS NOT NULL"),
        'report_stays': (f"{stage_left}, {owner}, {day('created_at')}, {stay}", "count(*)",
                         f"FROM opportunity_events WHERE event_type = 'stage_changed' "
                         f"AND previous_stage_entered_at IS NOT NULL AND {stage_left} IS NOT NULL"),
    }


def _fill(postgres: bool) -> None:
    for name, (keys, values, source) in _fill_sql(postgres).items():
        key_names, value_names = _tables()[name]
        keys_list = [n for n, _ in key_names]
        columns = ", ".join(keys_list)
        values_list = ", ".join(n for n, _ in value_names)
        groups = ", ".join(str(i + 1) for i in range(len(keys_list) + 1))
        in_project = "CASE WHEN project_id IS NULL THEN false ELSE true END"
        op.execute(f"INSERT INTO {name} ({columns}, in_project, {values_list}) "
                   f"SELECT {keys}, {in_project}, {values} {source} GROUP BY {groups}")
        op.execute(f"INSERT INTO {name}_projects ({columns}, project_id, {values_list}) "
                   f"SELECT {keys}, project_id, {values} {source} AND project_id IS NOT NULL GROUP BY {groups}")


def upgrade():
    for name, (keys, values) in _tables().items():
        _table(name, 'in_project', keys, values)
        _table(f'{name}_projects', 'project_id', keys, values)
    op.add_column('opportunity_events', sa.Column('owner_user_id', sa.Integer(), nullable=True))
    op.add_column('opportunity_events', sa.Column('project_id', _guid(), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE opportunity_events DISABLE TRIGGER opportunity_events_append_only")
    op.execute(BACKFILL if postgres else BACKFILL_SQLITE)
    if postgres:
        op.execute("ALTER TABLE opportunity_events ENABLE TRIGGER opportunity_events_append_only")
    _fill(postgres)
    op.create_index('ix_opportunities_open_next_step', 'opportunities', ['next_step_due_at'],
                    postgresql_where=sa.text(OPEN))
    op.create_index('ix_opportunities_open_stage_entered', 'opportunities', ['stage', 'stage_entered_at'],
                    postgresql_where=sa.text(OPEN))
    op.create_index('ix_opportunities_open_no_next_step', 'opportunities', ['stage_entered_at'],
                    postgresql_where=sa.text(OPEN + " AND next_step_due_at IS NULL"))
    op.create_index('ix_opportunities_closed_at', 'opportunities', ['closed_at'],
                    postgresql_where=sa.text("closed_at IS NOT NULL"),
                    postgresql_include=['status', 'proposed', 'owner_user_id', 'source', 'project_id'])
    op.create_index('ix_opportunity_events_stays', 'opportunity_events', ['created_at'],
                    postgresql_include=['previous_stage_entered_at', 'owner_user_id', 'project_id', 'old_value'],
                    postgresql_where=sa.text("event_type = 'stage_changed' AND previous_stage_entered_at IS NOT NULL"))
    if postgres:  # the project filter's choices in their order (app.queries.projects.project_choices)
        op.create_index('ix_projects_choice_order', 'projects',
                        [sa.text("(status <> ALL (ARRAY['active', 'planned']))"), sa.text("lower(name)"), 'id'])
    if postgres:  # the stall report's default order (SQLite has no NULLS LAST in an index; it scans)
        op.create_index('ix_opportunities_open_amount', 'opportunities',
                        [sa.text('amount_estimate DESC NULLS LAST'), 'stage_entered_at', 'id'],
                        postgresql_where=sa.text(OPEN))
    op.create_index('ix_opportunities_open_owner_next_step', 'opportunities', ['owner_user_id', 'next_step_due_at'],
                    postgresql_where=sa.text(OPEN))
    op.create_index('ix_opportunities_open_owner_no_next_step', 'opportunities', ['owner_user_id', 'stage_entered_at'],
                    postgresql_where=sa.text(OPEN + " AND next_step_due_at IS NULL"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_projects_choice_order', table_name='projects')
    op.drop_index('ix_opportunity_events_stays', table_name='opportunity_events')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_opportunities_open_amount', table_name='opportunities')
    for name in ('ix_opportunities_open_owner_no_next_step', 'ix_opportunities_open_owner_next_step',
                 'ix_opportunities_closed_at', 'ix_opportunities_open_no_next_step',
                 'ix_opportunities_open_stage_entered', 'ix_opportunities_open_next_step'):
        op.drop_index(name, table_name='opportunities')
    with op.batch_alter_table('opportunity_events') as batch:
        batch.drop_column('project_id')
        batch.drop_column('owner_user_id')
    for name in reversed(list(_tables())):
        op.drop_table(f'{name}_projects')
        op.drop_table(name)
