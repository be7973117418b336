"""Studio CRM configuration: everything comes from environment variables with safe defaults."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", BASE_DIR / "instance"))


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the dialect "postgres", SQLAlchemy wants "postgresql".
        return url.replace("postgres://", "postgresql://", 1)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'crm.db'}"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _engine_options(url: str) -> dict:
    """The SQLAlchemy pool of each app process (README "Scaling"). A worker thread holds at most one
    connection during a request, so the pool keeps one per thread (GUNICORN_THREADS) plus a small
    overflow; every process may therefore open pool_size + max_overflow connections, and all app
    processes together must stay under the database's (or PgBouncer's) max_connections. Connections
    are pinged before use (a restarted database or PgBouncer is not an error page) and recycled
    after 30 minutes (firewalls and PgBouncer drop idle ones)."""
    options: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite") and (url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url):
        return options  # one static connection: no pool to size
    options.update(pool_size=_int("CRM_DB_POOL_SIZE", _int("GUNICORN_THREADS", 4)),
                   max_overflow=_int("CRM_DB_MAX_OVERFLOW", 4),
                   pool_recycle=_int("CRM_DB_POOL_RECYCLE", 1800),
                   pool_timeout=_int("CRM_DB_POOL_TIMEOUT", 10))
    return options


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


# Permission groups used by the roles below. View and API classes set class_permission_name
# to one name, so one name covers the generated view and its REST API. Beyond read/write/delete:
# "can reopen on Opportunity" (move a won or lost deal back to an open stage) and "can read on
# TeamMetrics" (see everyone's numbers) — grant them to any role in Security → List Roles.
READ = "can_read"
WRITE = "can_read|can_write"


# The admin's inbound menus (threads, messages, triage history): the "Triage" permission's views.
INBOUND_MENUS = "Inbound threads|Inbound messages|Inbound thread events"


def _role(*rules: tuple[str, str]) -> list[list[str]]:
    return [[f"^({view})$", f"^({perm})$"] for view, perm in rules]


FAB_ROLES_DEFAULT = {
    # Owner: all CRM data and reports, no user administration.
    "Owner": _role(
        ("Account|Contact|Opportunity|Project|Offer|OpportunityEvent|AuditEvent", WRITE + "|can_delete|can_note"),
        ("Board|AccountPage|OpportunityPage|Triage|Dashboard|Metrics|StallReport", ".*"),
        ("Opportunity", "can_reopen"),
        ("Account", "can_merge"),  # merges duplicate accounts and contacts (app.security.MERGE)
        ("Duplicates", "can_read|can_write|menu_access"),  # the duplicates page and "keep separate" (issue 15)
        ("TeamMetrics|AllProjects|AllAccounts", "can_read"),
        ("AllOwners", "can_write"),
        ("Accounts|Client accounts|Contacts|Opportunities|Projects|Offers|Opportunity Events|Record changes|CRM|Board|Triage|Dashboard|Why deals stall|Reports", "menu_access"),
        (INBOUND_MENUS, "menu_access"),
        ("MenuApi", "can_get"),
        ("SwaggerView|OpenApi", "can_show|can_get"),  # the API docs: Swagger UI and /api/v1/_openapi
        ("UserInfoEditView|ResetMyPasswordView", ".*"),
        ("UserDBModelView", "can_userinfo|can_userinfoedit|can_resetmypassword"),  # their own profile page
    ),
    # Sales: create and edit accounts, contacts, opportunities; no deletes.
    "Sales": _role(
        ("Account|Contact|Opportunity|Offer", WRITE + "|can_note"),
        ("Project", READ + "|can_note"),  # the projects they are a member of; notes on them
        ("OpportunityEvent|AuditEvent", READ),
        ("AllAccounts", "can_read"),
        ("Duplicates", "can_read|can_write|menu_access"),  # sees the duplicates page and keeps pairs separate; no merge
        ("Board|AccountPage|OpportunityPage|Triage|Dashboard|Metrics", ".*"),
        ("Accounts|Client accounts|Contacts|Opportunities|Projects|Offers|Opportunity Events|Record changes|CRM|Board|Triage|Dashboard", "menu_access"),
        (INBOUND_MENUS, "menu_access"),
        ("MenuApi", "can_get"),
        ("SwaggerView|OpenApi", "can_show|can_get"),  # the API docs: Swagger UI and /api/v1/_openapi
        ("UserInfoEditView|ResetMyPasswordView", ".*"),
        ("UserDBModelView", "can_userinfo|can_userinfoedit|can_resetmypassword"),  # their own profile page
    ),
    # PM: read accounts, contacts, opportunities; create and edit projects; add notes.
    "PM": _role(
        ("Account|Contact|Opportunity|Offer|OpportunityEvent|AuditEvent", READ + "|can_note"),
        ("Project", WRITE + "|can_note"),
        ("Board|AccountPage|OpportunityPage", READ + "|can_note"),
        ("Accounts|Client accounts|Contacts|Opportunities|Projects|Offers|Opportunity Events|Record changes|CRM|Board", "menu_access"),
        ("MenuApi", "can_get"),
        ("SwaggerView|OpenApi", "can_show|can_get"),  # the API docs: Swagger UI and /api/v1/_openapi
        ("UserInfoEditView|ResetMyPasswordView", ".*"),
        ("UserDBModelView", "can_userinfo|can_userinfoedit|can_resetmypassword"),  # their own profile page
    ),
}


class Config:
    """Flask, Flask-AppBuilder and CRM settings; see README "Configuration"."""

    def __init__(self) -> None:
        self.SECRET_KEY = _secret_key()
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.SQLALCHEMY_ENGINE_OPTIONS = _engine_options(self.SQLALCHEMY_DATABASE_URI)
        # the owner's URL for migrations (run.py, flask db upgrade); unset: DATABASE_URL migrates too
        migration_url = os.environ.get("MIGRATION_DATABASE_URL")
        self.MIGRATION_DATABASE_URL = migration_url.replace("postgres://", "postgresql://", 1) if migration_url else None
        # a read replica for the dashboard, the stall report and the metrics API; unset: the main database
        reports_url = os.environ.get("CRM_REPORTS_DATABASE_URL")
        self.CRM_REPORTS_DATABASE_URL = reports_url.replace("postgres://", "postgresql://", 1) if reports_url else None
        self.HOST = os.environ.get("HOST", "127.0.0.1")
        self.PORT = _int("PORT", 8080)
        self.CRM_ADMIN_USER = os.environ.get("CRM_ADMIN_USER", "admin")
        self.CRM_ADMIN_PASSWORD = os.environ.get("CRM_ADMIN_PASSWORD") or None
        self.CRM_ADMIN_EMAIL = os.environ.get("CRM_ADMIN_EMAIL", "admin@studio.local")
        self.CRM_DEFAULT_CURRENCY = os.environ.get("CRM_DEFAULT_CURRENCY", "RUB").upper()
        # the studio's time zone: times are shown and typed in it unless a user chose their own
        self.CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "Europe/Moscow")
        self.BABEL_DEFAULT_TIMEZONE = self.CRM_TIMEZONE
        self.CHATWOOT_WEBHOOK_SECRET = os.environ.get("CHATWOOT_WEBHOOK_SECRET") or None
        self.TELEGRAM_WEBHOOK_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None
        self.CRM_STAGE_OVERRIDES: dict = {}
        self.CRM_NO_TOUCH_DAYS = _int("CRM_NO_TOUCH_DAYS", 21)
        # the largest request body, in bytes (webhooks and logins included): a larger one is refused
        # with 413 before it is read (README "Limits and bad input")
        self.MAX_CONTENT_LENGTH = _int("CRM_MAX_CONTENT_LENGTH", 1024 * 1024)
        self.CRM_ROTTING_DAYS = {
            "lead": 14, "qualified": 14, "discovery": 21, "proposal_sent": 14, "negotiation": 21,
        }
        # sessions and login (app/sessions.py, README "Sessions and security headers")
        self.CRM_HTTPS = _flag("CRM_HTTPS")  # served over HTTPS: HSTS and Secure cookies
        self.CRM_PROXY_FIX = _flag("CRM_PROXY_FIX")  # behind one reverse proxy: trust its X-Forwarded-*
        self.CRM_LOGIN_MAX_FAILURES = _int("CRM_LOGIN_MAX_FAILURES", 10)  # wrong passwords in a row → locked
        self.CRM_LOGIN_LOCK_MINUTES = _int("CRM_LOGIN_LOCK_MINUTES", 15)
        self.CRM_LOGIN_ADDRESS_MAX_FAILURES = _int("CRM_LOGIN_ADDRESS_MAX_FAILURES", 50)  # per address and window
        self.CRM_LOGIN_ADDRESS_WINDOW_MINUTES = _int("CRM_LOGIN_ADDRESS_WINDOW_MINUTES", 15)
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=_int("CRM_JWT_ACCESS_MINUTES", 15))
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=_int("CRM_JWT_REFRESH_DAYS", 30))
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("CRM_SESSION_HOURS", 24 * 7))


class BaseSettings:
    """Static Flask-AppBuilder keys (not environment dependent)."""

    APP_NAME = "Studio CRM"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_CREATE_DB = False  # Alembic owns the schema, ab_* tables included
    FAB_UPDATE_PERMS = False  # run.py syncs permissions after migrating
    FAB_ROLES = FAB_ROLES_DEFAULT
    FAB_MENU = "app.views.CrmMenu"  # FAB's Security category in the user menu: a one-row navbar
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_ADD_SECURITY_API = False
    FAB_PASSWORD_COMPLEXITY_ENABLED = False
    WTF_CSRF_ENABLED = True
    WTF_CSRF_CHECK_DEFAULT = False  # checked in app._csrf_for_cookie_sessions (skips JWT clients)
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = {
        "ru": {"flag": "ru", "name": "Русский"},
        "en": {"flag": "gb", "name": "English"},
    }
    APP_THEME = ""
    SESSION_COOKIE_SAMESITE = "Lax"
    JSON_SORT_KEYS = False


def make_config(**overrides) -> dict:
    """All settings as a dict: static keys, then the environment, then explicit overrides."""
    values = {k: v for k, v in vars(BaseSettings).items() if k.isupper()}
    values.update({k: v for k, v in vars(Config()).items() if k.isupper()})
    values.update(overrides)
    return values
