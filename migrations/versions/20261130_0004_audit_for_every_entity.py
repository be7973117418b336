"""Every entity audited: audit_events (append-only on PostgreSQL); withdrawn proposals; the
accepted and withdrawn event types of opportunities.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00
"""
import warnings

from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_EVENT_TYPES = ("created", "stage_changed", "amount_changed", "probability_changed", "next_step_changed",
                   "discount_changed", "field_changed", "note_added", "won", "lost", "reopened")
EVENT_TYPES = OLD_EVENT_TYPES + ("accepted", "withdrawn")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""


def _replace_event_type_check(values):
    # SQLite rebuilds the table to change a CHECK; its reflection warns about the expression
    # index on accounts (not touched here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table('opportunity_events') as batch:
            batch.drop_constraint('ck_opportunity_events_type', type_='check')
            batch.create_check_constraint('ck_opportunity_events_type', _in("event_type", values))


def upgrade():
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table(
        'audit_events',
        sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
        sa.Column('entity_type', sa.String(length=32), nullable=False),
        sa.Column('entity_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
        sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=True),
        sa.Column('project_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('old_value', json, nullable=True),
        sa.Column('new_value', json, nullable=True),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('evidence_refs', json, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.CheckConstraint(_in("entity_type", ("account", "contact", "project", "project_member", "offer")),
                           name='ck_audit_events_entity_type'),
        sa.CheckConstraint(_in("action", ("created", "changed", "deleted")), name='ck_audit_events_action'),
        sa.ForeignKeyConstraint(['actor_user_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_events_entity_created', 'audit_events', ['entity_type', 'entity_id', 'created_at'])
    op.create_index('ix_audit_events_account_created', 'audit_events', ['account_id', 'created_at'])
    op.add_column('opportunities', sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    # Proposals withdrawn before this revision were closed as lost with this reason: mark them.
    op.execute("UPDATE opportunities SET withdrawn_at = COALESCE(closed_at, updated_at) "
               "WHERE proposed AND lost_reason = 'Withdrawn in inbound triage'")
    _replace_event_type_check(EVENT_TYPES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    _replace_event_type_check(OLD_EVENT_TYPES)
    with warnings.catch_warnings(), op.batch_alter_table('opportunities') as batch:
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        batch.drop_column('withdrawn_at')
    op.drop_index('ix_audit_events_account_created', table_name='audit_events')
    op.drop_index('ix_audit_events_entity_created', table_name='audit_events')
    op.drop_table('audit_events')
