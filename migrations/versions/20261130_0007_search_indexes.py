"""Search indexes: on PostgreSQL, pg_trgm GIN indexes serve the searches (ILIKE '%…%') of the
board, the accounts list, the lookups and the generated lists; on SQLite the lower(...) indexes
are rebuilt, since lower() is now the app's Unicode one (app.extensions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = (
    ('ix_accounts_name_trgm', 'accounts', 'name'),
    ('ix_accounts_domain_trgm', 'accounts', 'domain'),
    ('ix_opportunities_name_trgm', 'opportunities', 'name'),
)
LOWER_INDEXES = ('uq_accounts_domain_lower', 'uq_contacts_email_lower', 'ix_contacts_telegram_handle')


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        for name in LOWER_INDEXES:
            op.execute(f'REINDEX {name}')
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')  # a trusted extension: the database owner may create it
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(name, table, [column], unique=False, postgresql_using='gin',
                        postgresql_ops={column: 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, table, _column in TRIGRAM_INDEXES:
        op.drop_index(name, table_name=table)
