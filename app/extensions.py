"""Extension singletons, bound to an app in create_app()."""
import sqlite3

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

db = SQLA()
migrate = Migrate()
csrf = CSRFProtect()


def unicode_lower(value):
    """lower() as Python folds case (Cyrillic too); SQLite's own folds ASCII only."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).lower()


@event.listens_for(Engine, "connect")
def _sqlite_unicode_lower(dbapi_connection, _record) -> None:
    """Every SQLite connection of every engine gets the Unicode lower(): the searches (ILIKE,
    which SQLAlchemy writes as lower(x) LIKE lower(y) on SQLite, ours and FAB's generated filters)
    then fold "ТОЧКА" to "точка" as PostgreSQL does. Deterministic, so the lower(...) expression
    indexes keep working (their stored values are lower-cased in Python on the way in anyway)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)


def on_postgres(target=None) -> bool:
    """Whether the database of `target` — a session or a connection, the app's session by default —
    is PostgreSQL rather than SQLite: the one place code picks a dialect's SQL."""
    target = db.session if target is None else target
    dialect = target.dialect if isinstance(target, Connection) else target.get_bind().dialect
    return dialect.name == "postgresql"


def upsert(table, target=None):
    """INSERT into `table` with the dialect's ON CONFLICT clauses (`on_conflict_do_update`,
    `on_conflict_do_nothing`) for `target`'s database (as `on_postgres`)."""
    return (pg_insert if on_postgres(target) else sqlite_insert)(table)
