"""Stage changes record when the deal had entered the stage it left (aging of past stages),
backfilled once from the existing history (the append-only trigger is paused for that update only).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:10:06.230319
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils
from sqlalchemy.dialects import postgresql


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('opportunity_events', sa.Column('previous_stage_entered_at', sa.DateTime(timezone=True), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE opportunity_events DISABLE TRIGGER opportunity_events_append_only")
    op.execute(BACKFILL)
    if postgres:
        op.execute("ALTER TABLE opportunity_events ENABLE TRIGGER opportunity_events_append_only")


BACKFILL = """
UPDATE opportunity_events SET previous_stage_entered_at = prev.entered
FROM (SELECT id, event_type,
             LAG(created_at) OVER (PARTITION BY opportunity_id ORDER BY created_at, id) AS entered
      FROM opportunity_events WHERE event_type IN ('created', 'stage_changed')) AS prev
WHERE prev.id = opportunity_events.id AND prev.event_type = 'stage_changed'
"""


def downgrade():
    with op.batch_alter_table('opportunity_events') as batch:
        batch.drop_column('previous_stage_entered_at')
