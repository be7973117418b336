"""Board indexes: each column's first cards come straight from an index in the board's order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:49:02.902869
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils
from sqlalchemy.dialects import postgresql


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index(op.f('ix_opportunities_stage_next_step'), table_name='opportunities')
    op.create_index('ix_opportunities_stage_next_step', 'opportunities', ['stage', 'next_step_due_at', 'id'], unique=False)
    op.create_index('ix_opportunities_stage_closed', 'opportunities', ['stage', 'closed_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_opportunities_stage_closed', table_name='opportunities')
    op.drop_index('ix_opportunities_stage_next_step', table_name='opportunities')
    op.create_index(op.f('ix_opportunities_stage_next_step'), 'opportunities', ['stage', 'next_step_due_at'], unique=False)
