"""Alembic environment: one history for every table, Flask-AppBuilder's ab_* included.

Migrations run as the database owner: `MIGRATION_DATABASE_URL` when it is set, else the app's own
`DATABASE_URL` (the single-user set-up: SQLite, or one PostgreSQL role that owns everything). With
two roles on PostgreSQL, every upgrade ends by granting the app's role exactly what it needs
(`grant_app_role`): SELECT, INSERT, UPDATE and DELETE on the tables, only SELECT and INSERT on the
append-only audit tables, SELECT on alembic_version, USAGE on the sequences — nothing else, and
never ownership, so the app cannot erase the audit or disable its triggers. See README,
"Production database roles"."""
import logging
import os
from logging.config import fileConfig

from alembic import context
from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

import app.models  # noqa: E402,F401  (register every table on Model.metadata)

target_metadata = Model.metadata
log = logging.getLogger("alembic.env")

# A table whose TRUNCATE a trigger refuses is an append-only audit table (migration 0009 gives
# opportunity_events, audit_events and inbound_thread_events one): the app's role gets only
# SELECT and INSERT on it. (pg_trigger.tgtype bit 5 is TRUNCATE.)
APPEND_ONLY_TABLES = """
SELECT DISTINCT c.relname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND (t.tgtype & 32) <> 0
ORDER BY c.relname
"""
OWNED_OR_INHERITED = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
  AND pg_has_role(:role, c.relowner, 'MEMBER')
ORDER BY c.relname
"""


def _migration_url():
    """The owner's URL: MIGRATION_DATABASE_URL, else the app's own."""
    return current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["SQLALCHEMY_DATABASE_URI"]


def _engine():
    if current_app.config.get("MIGRATION_DATABASE_URL"):
        return create_engine(current_app.config["MIGRATION_DATABASE_URL"], poolclass=NullPool)
    return current_app.extensions["migrate"].db.engine


def app_role(connection) -> str | None:
    """The app's own database role when it is not the role migrating: `CRM_APP_DB_ROLE` (config
    or environment), else the user of DATABASE_URL when MIGRATION_DATABASE_URL is set apart."""
    role = current_app.config.get("CRM_APP_DB_ROLE") or os.environ.get("CRM_APP_DB_ROLE")
    if not role and current_app.config.get("MIGRATION_DATABASE_URL"):
        role = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username
    if not role or connection.dialect.name != "postgresql":
        return None
    if role == connection.execute(text("SELECT current_user")).scalar():
        return None  # one role for everything: nothing to grant
    return role


def grant_app_role(connection, role: str) -> None:
    """Give the app's role exactly the rights it needs on this schema (idempotent: run after every
    upgrade, so tables of later migrations are covered). Refuses a role that could bypass them."""
    found = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if found is None:
        raise RuntimeError(f"The app's database role {role!r} does not exist: create it first "
                           "(README, \"Production database roles\").")
    if found.rolsuper:
        raise RuntimeError(f"The app's database role {role!r} is a superuser: it could erase the audit. "
                           "Connect the app as a plain role (README, \"Production database roles\").")
    owned = connection.execute(text(OWNED_OR_INHERITED), {"role": role}).scalars().all()
    if owned:
        raise RuntimeError(f"The app's database role {role!r} owns (or is a member of the owner of) "
                           f"{', '.join(owned)}: it could disable the audit triggers. Give the tables to the "
                           "migration role (REASSIGN OWNED BY … TO …) and connect the app as a plain role.")
    quote = connection.dialect.identifier_preparer.quote
    who, schema = quote(role), quote(connection.execute(text("SELECT current_schema()")).scalar())
    append_only = connection.execute(text(APPEND_ONLY_TABLES)).scalars().all()
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
    ]
    statements += [f"REVOKE UPDATE, DELETE ON {schema}.{quote(table)} FROM {who}" for table in append_only]
    statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {schema}.alembic_version FROM {who}")
    for statement in statements:
        connection.execute(text(statement))
    log.info("granted the app role %s its rights; append-only: %s", role, ", ".join(append_only))


def run_migrations_offline() -> None:
    context.configure(url=str(_migration_url()), target_metadata=target_metadata, literal_binds=True,
                      compare_type=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
                role = app_role(connection)
                if role:
                    grant_app_role(connection, role)  # in the same transaction as the migrations
    finally:
        if engine is not current_app.extensions["migrate"].db.engine:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
