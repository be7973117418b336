"""An audit nobody can erase: on PostgreSQL every audit table refuses TRUNCATE (as it already
refuses UPDATE and DELETE of its rows), and inbound_thread_events (the triage history) becomes
append-only like opportunity_events and audit_events.

What the application's own database role may do is granted by the migration environment
(migrations/env.py, `grant_app_role`) after every upgrade when a separate app role is configured
(`MIGRATION_DATABASE_URL` + `DATABASE_URL`): only SELECT and INSERT on these tables, and as it owns
no table it cannot disable the triggers either.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:00:00
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Every append-only audit table; each has a `<table>_append_only()` trigger function.
AUDIT_TABLES = ("opportunity_events", "audit_events", "inbound_thread_events")

TRIAGE_HISTORY_APPEND_ONLY = """
CREATE FUNCTION inbound_thread_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inbound_thread_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inbound_thread_events_append_only
    BEFORE UPDATE OR DELETE ON inbound_thread_events
    FOR EACH ROW EXECUTE FUNCTION inbound_thread_events_append_only();
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (the single-user run) has no triggers of this kind: the ORM listener refuses
    op.execute(TRIAGE_HISTORY_APPEND_ONLY)
    for table in AUDIT_TABLES:
        # the trigger functions raise "<table> is append-only: TRUNCATE refused" (TG_OP)
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in AUDIT_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP TRIGGER IF EXISTS inbound_thread_events_append_only ON inbound_thread_events")
    op.execute("DROP FUNCTION IF EXISTS inbound_thread_events_append_only()")
