"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 07:03:46.669328

Every table, Flask-AppBuilder's ab_* included; on PostgreSQL a trigger keeps the audit
table append-only.
"""
from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ab_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=150), nullable=True),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_permission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_register_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=64), nullable=False),
    sa.Column('last_name', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password', sa.String(length=256), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('registration_date', sa.DateTime(), nullable=True),
    sa.Column('registration_hash', sa.String(length=256), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('username')
    )
    op.create_table('ab_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=64), nullable=False),
    sa.Column('last_name', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password', sa.String(length=256), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('last_login', sa.DateTime(), nullable=True),
    sa.Column('login_count', sa.Integer(), nullable=True),
    sa.Column('fail_login_count', sa.Integer(), nullable=True),
    sa.Column('created_on', sa.DateTime(), nullable=True),
    sa.Column('changed_on', sa.DateTime(), nullable=True),
    sa.Column('created_by_fk', sa.Integer(), nullable=True),
    sa.Column('changed_by_fk', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('username')
    )
    op.create_table('ab_view_menu',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('key_hash', sa.String(length=256), nullable=False),
    sa.Column('lookup_hash', sa.String(length=256), nullable=True),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_on', sa.DateTime(), nullable=True),
    sa.Column('expires_on', sa.DateTime(), nullable=True),
    sa.Column('revoked_on', sa.DateTime(), nullable=True),
    sa.Column('last_used_on', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lookup_hash'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index('idx_api_key_lookup_hash', 'ab_api_key', ['lookup_hash'], unique=True)
    op.create_index('idx_api_key_prefix', 'ab_api_key', ['key_prefix'], unique=False)
    op.create_index('idx_api_key_user_id', 'ab_api_key', ['user_id'], unique=False)
    op.create_table('ab_group_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['ab_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'role_id')
    )
    op.create_index('idx_group_id', 'ab_group_role', ['group_id'], unique=False)
    op.create_index('idx_group_role_id', 'ab_group_role', ['role_id'], unique=False)
    op.create_table('ab_permission_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('permission_id', sa.Integer(), nullable=False),
    sa.Column('view_menu_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['permission_id'], ['ab_permission.id'], ),
    sa.ForeignKeyConstraint(['view_menu_id'], ['ab_view_menu.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('permission_id', 'view_menu_id')
    )
    op.create_index('idx_permission_id', 'ab_permission_view', ['permission_id'], unique=False)
    op.create_index('idx_view_menu_id', 'ab_permission_view', ['view_menu_id'], unique=False)
    op.create_table('ab_user_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['ab_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'group_id')
    )
    op.create_index('idx_user_group_id', 'ab_user_group', ['group_id'], unique=False)
    op.create_index('idx_user_id', 'ab_user_group', ['user_id'], unique=False)
    op.create_table('ab_user_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'role_id')
    )
    op.create_table('accounts',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('industry', sa.String(length=255), nullable=True),
    sa.Column('segment', sa.String(length=20), server_default='smb', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('icp_fit_score', sa.Integer(), nullable=True),
    sa.Column('icp_fit_reason', sa.Text(), nullable=True),
    sa.Column('last_touch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("segment IN ('smb', 'mid', 'enterprise', 'custom')", name='ck_accounts_segment'),
    sa.CheckConstraint("status IN ('active', 'dormant', 'churned')", name='ck_accounts_status'),
    sa.CheckConstraint('icp_fit_score BETWEEN 0 AND 100', name='ck_accounts_icp_fit_score'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_accounts_owner_status', 'accounts', ['owner_user_id', 'status'], unique=False)
    op.create_index('uq_accounts_domain_lower', 'accounts', [sa.literal_column('lower(domain)')], unique=True, postgresql_where=sa.text('domain IS NOT NULL'), sqlite_where=sa.text('domain IS NOT NULL'))
    op.create_table('ab_permission_view_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('permission_view_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['permission_view_id'], ['ab_permission_view.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('permission_view_id', 'role_id')
    )
    op.create_index('idx_permission_view_id', 'ab_permission_view_role', ['permission_view_id'], unique=False)
    op.create_index('idx_role_id', 'ab_permission_view_role', ['role_id'], unique=False)
    op.create_table('contacts',
    sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('telegram_handle', sa.String(length=64), nullable=True),
    sa.Column('role_tags', sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.Column('influence_score', sa.Integer(), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('influence_score BETWEEN 0 AND 100', name='ck_contacts_influence_score'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_contacts_account', 'contacts', ['account_id'], unique=False)
    op.create_index('ix_contacts_telegram_handle', 'contacts', [sa.literal_column('lower(telegram_handle)')], unique=False)
    op.create_index('uq_contacts_email_lower', 'contacts', [sa.literal_column('lower(email)')], unique=True, postgresql_where=sa.text('email IS NOT NULL'), sqlite_where=sa.text('email IS NOT NULL'))
    op.create_table('opportunities',
    sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('stage', sa.String(length=32), server_default='lead', nullable=False),
    sa.Column('amount_estimate', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='RUB', nullable=False),
    sa.Column('probability', sa.Numeric(precision=4, scale=3), nullable=True),
    sa.Column('forecast_category', sa.String(length=16), server_default='pipeline', nullable=False),
    sa.Column('close_date_target', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('primary_competitor', sa.String(length=255), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('next_step_text', sa.Text(), nullable=True),
    sa.Column('next_step_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='open', nullable=False),
    sa.Column('lost_reason', sa.Text(), nullable=True),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('proposed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("forecast_category IN ('pipeline', 'best_case', 'commit', 'omitted')", name='ck_opportunities_forecast_category'),
    sa.CheckConstraint("stage IN ('lead', 'qualified', 'discovery', 'proposal_sent', 'negotiation', 'won', 'lost')", name='ck_opportunities_stage'),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name='ck_opportunities_status'),
    sa.CheckConstraint('amount_estimate >= 0', name='ck_opportunities_amount'),
    sa.CheckConstraint('discount_percent BETWEEN 0 AND 100', name='ck_opportunities_discount'),
    sa.CheckConstraint('length(currency) = 3', name='ck_opportunities_currency'),
    sa.CheckConstraint('probability BETWEEN 0 AND 1', name='ck_opportunities_probability'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['owner_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_opportunities_account_status', 'opportunities', ['account_id', 'status'], unique=False)
    op.create_index('ix_opportunities_owner_stage_status', 'opportunities', ['owner_user_id', 'stage', 'status'], unique=False)
    op.create_index('ix_opportunities_stage_next_step', 'opportunities', ['stage', 'next_step_due_at'], unique=False)
    op.create_table('projects',
    sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='planned', nullable=False),
    sa.Column('pm_user_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'active', 'paused', 'done', 'cancelled')", name='ck_projects_status'),
    sa.CheckConstraint('end_date IS NULL OR start_date IS NULL OR end_date >= start_date', name='ck_projects_dates'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['pm_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_projects_account_status', 'projects', ['account_id', 'status'], unique=False)
    op.create_table('inbound_threads',
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external_key', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='unassigned', nullable=False),
    sa.Column('account_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=True),
    sa.Column('contact_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=True),
    sa.Column('opportunity_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=True),
    sa.Column('first_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('assigned_by_user_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('chatwoot', 'telegram')", name='ck_inbound_threads_source'),
    sa.CheckConstraint("status IN ('unassigned', 'assigned', 'ignored')", name='ck_inbound_threads_status'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['assigned_by_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_key', name='uq_inbound_threads_source_key')
    )
    op.create_index('ix_inbound_threads_account', 'inbound_threads', ['account_id'], unique=False)
    op.create_index('ix_inbound_threads_status_last', 'inbound_threads', ['status', 'last_message_at'], unique=False)
    op.create_table('offers',
    sa.Column('opportunity_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='RUB', nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'sent', 'accepted', 'rejected')", name='ck_offers_status'),
    sa.CheckConstraint('amount >= 0', name='ck_offers_amount'),
    sa.CheckConstraint('discount_percent BETWEEN 0 AND 100', name='ck_offers_discount'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_offers_opportunity', 'offers', ['opportunity_id'], unique=False)
    op.create_table('opportunity_events',
    sa.Column('opportunity_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('old_value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('new_value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('evidence_refs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.CheckConstraint("event_type IN ('created', 'stage_changed', 'amount_changed', 'probability_changed', 'next_step_changed', 'discount_changed', 'field_changed', 'note_added', 'won', 'lost', 'reopened')", name='ck_opportunity_events_type'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_opportunity_events_opportunity_created', 'opportunity_events', ['opportunity_id', 'created_at'], unique=False)
    op.create_index('ix_opportunity_events_type_created', 'opportunity_events', ['event_type', 'created_at'], unique=False)
    op.create_table('project_members',
    sa.Column('project_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'user_id', name='uq_project_members_project_user')
    )
    op.create_table('inbound_messages',
    sa.Column('thread_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external_key', sa.String(length=255), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('private', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('sender_name', sa.String(length=255), nullable=True),
    sa.Column('sender_handle', sa.String(length=255), nullable=True),
    sa.Column('sender_email', sa.String(length=320), nullable=True),
    sa.Column('sender_phone', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.CheckConstraint("direction IN ('incoming', 'outgoing')", name='ck_inbound_messages_direction'),
    sa.CheckConstraint("source IN ('chatwoot', 'telegram')", name='ck_inbound_messages_source'),
    sa.ForeignKeyConstraint(['thread_id'], ['inbound_threads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_key', name='uq_inbound_messages_source_key')
    )
    op.create_index('ix_inbound_messages_thread_sent', 'inbound_messages', ['thread_id', 'sent_at'], unique=False)
    op.create_table('inbound_thread_events',
    sa.Column('thread_id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sqlalchemy_utils.types.uuid.UUIDType(binary=False), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['thread_id'], ['inbound_threads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inbound_thread_events_thread', 'inbound_thread_events', ['thread_id', 'created_at'], unique=False)
    _create_audit_trigger()


AUDIT_TRIGGER_SQL = """
CREATE FUNCTION opportunity_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'opportunity_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER opportunity_events_append_only
    BEFORE UPDATE OR DELETE ON opportunity_events
    FOR EACH ROW EXECUTE FUNCTION opportunity_events_append_only();
"""


def _create_audit_trigger():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_TRIGGER_SQL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS opportunity_events_append_only ON opportunity_events")
        op.execute("DROP FUNCTION IF EXISTS opportunity_events_append_only()")
    op.drop_index('ix_inbound_thread_events_thread', table_name='inbound_thread_events')
    op.drop_table('inbound_thread_events')
    op.drop_index('ix_inbound_messages_thread_sent', table_name='inbound_messages')
    op.drop_table('inbound_messages')
    op.drop_table('project_members')
    op.drop_index('ix_opportunity_events_type_created', table_name='opportunity_events')
    op.drop_index('ix_opportunity_events_opportunity_created', table_name='opportunity_events')
    op.drop_table('opportunity_events')
    op.drop_index('ix_offers_opportunity', table_name='offers')
    op.drop_table('offers')
    op.drop_index('ix_inbound_threads_status_last', table_name='inbound_threads')
    op.drop_index('ix_inbound_threads_account', table_name='inbound_threads')
    op.drop_table('inbound_threads')
    op.drop_index('ix_projects_account_status', table_name='projects')
    op.drop_table('projects')
    op.drop_index('ix_opportunities_stage_next_step', table_name='opportunities')
    op.drop_index('ix_opportunities_owner_stage_status', table_name='opportunities')
    op.drop_index('ix_opportunities_account_status', table_name='opportunities')
    op.drop_table('opportunities')
    op.drop_index('uq_contacts_email_lower', table_name='contacts', postgresql_where=sa.text('email IS NOT NULL'), sqlite_where=sa.text('email IS NOT NULL'))
    op.drop_index('ix_contacts_telegram_handle', table_name='contacts')
    op.drop_index('ix_contacts_account', table_name='contacts')
    op.drop_table('contacts')
    op.drop_index('idx_role_id', table_name='ab_permission_view_role')
    op.drop_index('idx_permission_view_id', table_name='ab_permission_view_role')
    op.drop_table('ab_permission_view_role')
    op.drop_index('uq_accounts_domain_lower', table_name='accounts', postgresql_where=sa.text('domain IS NOT NULL'), sqlite_where=sa.text('domain IS NOT NULL'))
    op.drop_index('ix_accounts_owner_status', table_name='accounts')
    op.drop_table('accounts')
    op.drop_table('ab_user_role')
    op.drop_index('idx_user_id', table_name='ab_user_group')
    op.drop_index('idx_user_group_id', table_name='ab_user_group')
    op.drop_table('ab_user_group')
    op.drop_index('idx_view_menu_id', table_name='ab_permission_view')
    op.drop_index('idx_permission_id', table_name='ab_permission_view')
    op.drop_table('ab_permission_view')
    op.drop_index('idx_group_role_id', table_name='ab_group_role')
    op.drop_index('idx_group_id', table_name='ab_group_role')
    op.drop_table('ab_group_role')
    op.drop_index('idx_api_key_user_id', table_name='ab_api_key')
    op.drop_index('idx_api_key_prefix', table_name='ab_api_key')
    op.drop_index('idx_api_key_lookup_hash', table_name='ab_api_key')
    op.drop_table('ab_api_key')
    op.drop_table('ab_view_menu')
    op.drop_table('ab_user')
    op.drop_table('ab_role')
    op.drop_table('ab_register_user')
    op.drop_table('ab_permission')
    op.drop_table('ab_group')
