"""Duplicate accounts and contacts: comparison keys, merged records, decisions.

Accounts get `name_key` (the name as compared: no case, quotes or legal forms) and `domain_key`
(the registrable, non-free domain), contacts `name_key` and `domain_key` (of their e-mail); both get
`merged_into_id`/`merged_at` (a merged record is kept, hidden by the read scope). The table
`duplicate_decisions` remembers pairs a person kept separate. On PostgreSQL the name keys of
accounts carry a pg_trgm GIN index (similar names; pg_trgm comes from 0007).

The keys of existing rows are computed once here with app.domain.duplicates (pure functions: the
one place that says what a key is; later rows get theirs from the models' validators).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# Every pair of similar names once (later changes: the flush listener of app.services.merge).
SIMILAR_NAMES_PG = """
INSERT INTO account_similar_names (a_id, b_id)
SELECT a.id, b.id FROM accounts a JOIN accounts b
  ON a.name_key % b.name_key AND similarity(a.name_key, b.name_key) >= 0.5
 AND a.name_key <> b.name_key AND a.id < b.id
"""
SIMILAR_NAMES_SQLITE = """
INSERT INTO account_similar_names (a_id, b_id)
SELECT a.id, b.id FROM accounts a JOIN accounts b
  ON substr(a.name_key, 1, instr(a.name_key || ' ', ' ') - 1) = substr(b.name_key, 1, instr(b.name_key || ' ', ' ') - 1)
 AND length(substr(a.name_key, 1, instr(a.name_key || ' ', ' ') - 1)) >= 3
 AND a.name_key <> b.name_key AND a.id < b.id
"""


def _guid():
    return sqlalchemy_utils.types.uuid.UUIDType(binary=False)


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table in ('accounts', 'contacts'):
        op.add_column(table, sa.Column('name_key', sa.String(255), nullable=True))
        op.add_column(table, sa.Column('domain_key', sa.String(255), nullable=True))
        op.add_column(table, sa.Column('merged_into_id', _guid(), nullable=True))
        op.add_column(table, sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        if postgres:  # SQLite cannot add a foreign key to a table (and does not enforce them here)
            op.create_foreign_key(f'fk_{table}_merged_into_id_{table}', table, table, ['merged_into_id'], ['id'])
    op.create_index('ix_accounts_name_key', 'accounts', ['name_key'])
    op.create_index('ix_accounts_domain_key', 'accounts', ['domain_key'])
    op.create_index('ix_accounts_merged_into', 'accounts', ['merged_into_id'])
    op.create_index('ix_contacts_phone', 'contacts', ['phone'])
    op.create_index('ix_contacts_domain_key', 'contacts', ['domain_key'])
    op.create_index('ix_contacts_account_name_key', 'contacts', ['account_id', 'name_key'])
    if postgres:
        op.create_index('ix_accounts_name_key_trgm', 'accounts', ['name_key'], postgresql_using='gin',
                        postgresql_ops={'name_key': 'gin_trgm_ops'})
    op.create_table(
        'duplicate_decisions',
        sa.Column('id', _guid(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('a_id', _guid(), nullable=False),
        sa.Column('b_id', _guid(), nullable=False),
        sa.Column('decision', sa.String(16), server_default='keep_separate', nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.CheckConstraint("kind IN ('account', 'contact')", name='ck_duplicate_decisions_kind'),
        sa.CheckConstraint("decision IN ('keep_separate')", name='ck_duplicate_decisions_decision'),
        sa.CheckConstraint('a_id < b_id', name='ck_duplicate_decisions_order'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'a_id', 'b_id', name='uq_duplicate_decisions_pair'),
    )
    op.create_table(
        'account_similar_names',
        sa.Column('a_id', _guid(), nullable=False),
        sa.Column('b_id', _guid(), nullable=False),
        sa.CheckConstraint('a_id < b_id', name='ck_account_similar_names_order'),
        sa.ForeignKeyConstraint(['a_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['b_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('a_id', 'b_id'),
    )
    op.create_index('ix_account_similar_names_b_id', 'account_similar_names', ['b_id'])
    _audit_actions(('created', 'changed', 'deleted', 'merged'))
    _backfill()
    op.execute(SIMILAR_NAMES_PG if postgres else SIMILAR_NAMES_SQLITE)


def _audit_actions(actions):
    """The audit rows' actions (a merge writes `merged` rows). The CHECK constraint is replaced, no
    row is touched (the table is append-only)."""
    check = "action IN (" + ", ".join(f"'{a}'" for a in actions) + ")"
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('ck_audit_events_action', 'audit_events', type_='check')
        op.create_check_constraint('ck_audit_events_action', 'audit_events', check)
        return
    with op.batch_alter_table('audit_events', recreate='always') as batch:
        batch.drop_constraint('ck_audit_events_action', type_='check')
        batch.create_check_constraint('ck_audit_events_action', check)


def _backfill():
    from app.domain.duplicates import email_domain, name_key, registrable_domain

    bind = op.get_bind()
    accounts = sa.table('accounts', sa.column('id', _guid()), sa.column('name'), sa.column('domain'),
                        sa.column('name_key'), sa.column('domain_key'))
    for row in bind.execute(sa.select(accounts.c.id, accounts.c.name, accounts.c.domain)).all():
        bind.execute(accounts.update().where(accounts.c.id == row.id).values(
            name_key=name_key(row.name) or None, domain_key=registrable_domain(row.domain)))
    contacts = sa.table('contacts', sa.column('id', _guid()), sa.column('name'), sa.column('email'),
                        sa.column('name_key'), sa.column('domain_key'))
    for row in bind.execute(sa.select(contacts.c.id, contacts.c.name, contacts.c.email)).all():
        bind.execute(contacts.update().where(contacts.c.id == row.id).values(
            name_key=name_key(row.name) or None, domain_key=email_domain(row.email)))


def downgrade():
    _audit_actions(('created', 'changed', 'deleted'))  # refused while `merged` rows exist
    op.drop_table('account_similar_names')
    op.drop_table('duplicate_decisions')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_accounts_name_key_trgm', table_name='accounts')
    op.drop_index('ix_contacts_account_name_key', table_name='contacts')
    op.drop_index('ix_contacts_domain_key', table_name='contacts')
    op.drop_index('ix_contacts_phone', table_name='contacts')
    op.drop_index('ix_accounts_merged_into', table_name='accounts')
    op.drop_index('ix_accounts_domain_key', table_name='accounts')
    op.drop_index('ix_accounts_name_key', table_name='accounts')
    for table in ('contacts', 'accounts'):
        if op.get_bind().dialect.name == 'postgresql':
            op.drop_constraint(f'fk_{table}_merged_into_id_{table}', table, type_='foreignkey')
        for column in ('merged_at', 'merged_into_id', 'domain_key', 'name_key'):
            op.drop_column(table, column)
