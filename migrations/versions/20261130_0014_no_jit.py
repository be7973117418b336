"""PostgreSQL only: no JIT compilation for the app's database (issue 17).

The app's statements are short and indexed; PostgreSQL compiles a statement whose *estimated*
cost passes jit_above_cost, and one mis-estimate (statistics older than a rebuilt table) made the
accounts list spend 290 ms compiling a statement that ran in 7 ms. Set on the database, so it holds
for every connection however it comes (PgBouncer in transaction mode, a read replica, psql);
a role that does not own the database keeps the server's setting (a notice, no failure).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 18:00:00
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _alter_database(change: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        DO $$
        BEGIN
            EXECUTE format('ALTER DATABASE %I {change}', current_database());
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'jit stays as the server sets it: only the database owner may change it';
        END $$""")


def upgrade():
    _alter_database('SET jit = off')


def downgrade():
    _alter_database('RESET jit')
