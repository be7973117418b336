"""Duplicate accounts and contacts (placeholder, filled by issue 15).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 14:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
