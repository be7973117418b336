"""Projects as a data isolation boundary: deals and inbound threads may belong to a project,
notes on projects.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:20:00
"""
import warnings

from alembic import op
import sqlalchemy as sa
import sqlalchemy_utils

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _uuid():
    return sqlalchemy_utils.types.uuid.UUIDType(binary=False)


def _add_project_link(table: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # SQLite reflection of expression indexes
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('project_id', _uuid(), nullable=True))
            batch.create_foreign_key(f'fk_{table}_project_id_projects', 'projects', ['project_id'], ['id'])
            batch.create_index(f'ix_{table}_project_id', ['project_id'], unique=False)


def _drop_project_link(table: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f'ix_{table}_project_id')
            batch.drop_constraint(f'fk_{table}_project_id_projects', type_='foreignkey')
            batch.drop_column('project_id')


def upgrade():
    _add_project_link('opportunities')
    _add_project_link('inbound_threads')
    op.create_table(
        'project_notes',
        sa.Column('id', _uuid(), nullable=False),
        sa.Column('project_id', _uuid(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['author_user_id'], ['ab_user.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_project_notes_project_created', 'project_notes', ['project_id', 'created_at'], unique=False)
    # The project's PM is always a member.
    op.execute("""
        INSERT INTO project_members (id, project_id, user_id, role)
        SELECT p.id, p.id, p.pm_user_id, 'pm' FROM projects p
        WHERE p.pm_user_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = p.pm_user_id)
    """)


def downgrade():
    op.drop_index('ix_project_notes_project_created', table_name='project_notes')
    op.drop_table('project_notes')
    _drop_project_link('inbound_threads')
    _drop_project_link('opportunities')
