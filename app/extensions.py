"""Extension singletons, bound to an app in create_app()."""
import sqlite3

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

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


def on_postgres(session=None) -> bool:
    """Whether the session's database (the app's by default) is PostgreSQL rather than SQLite:
    the one place a query picks a dialect's SQL."""
    return (session or db.session).get_bind().dialect.name == "postgresql"
