"""Shared fixtures: one fresh database per test session (PostgreSQL by default, SQLite for the
smoke run), one app, a user per role, and clean CRM tables for every test that asks for them."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USE_SQLITE = os.environ.get("CRM_TEST_DB", "postgresql") == "sqlite"
PASSWORD = "secret-pass-1"
ROLES = ("Admin", "Owner", "Sales", "PM")
CRM_TABLES = ("inbound_thread_events", "inbound_messages", "inbound_threads", "offers",
              "audit_events", "opportunity_events", "opportunities", "project_notes", "project_members", "projects", "contacts", "accounts")
# The dashboard's maintained aggregates (app/models/reports.py) are emptied with the rows they count.
CRM_TABLES += tuple(f"report_{n}{s}" for n in ("pipeline", "stage_ages", "next_steps", "closed", "stays")
                    for s in ("", "_projects"))
# The board's and the accounts list's maintained aggregates (app/models/aggregates.py), likewise.
# Keep-separate decisions of duplicates (they name records, no foreign key empties them).
CRM_TABLES += ("duplicate_decisions",)
CRM_TABLES += ("agg_board_open", "agg_board_closed", "agg_account_open", "agg_account_pipeline",
               "agg_account_pipeline_outside", "agg_account_counts")

os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-instance-"))
# The tests migrate only their own database, as its owner (never a production MIGRATION_DATABASE_URL).
for _name in ("MIGRATION_DATABASE_URL", "CRM_APP_DB_ROLE"):
    os.environ.pop(_name, None)
# Append-only audit tables: PostgreSQL refuses TRUNCATE on them (migration 0009, "<table>_no_truncate").
AUDIT_TABLES = ("opportunity_events", "audit_events", "inbound_thread_events")


UNIT_DIR = Path(__file__).resolve().parent / "unit"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the unit tests are part of the smoke run
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.is_relative_to(UNIT_DIR):
            item.add_marker(pytest.mark.smoke)
    if USE_SQLITE:
        skip = pytest.mark.skip(reason="PostgreSQL-only test (smoke run on SQLite)")
        for item in items:
            if "smoke" not in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def system_scope():
    """Code a test runs outside requests (seeding, direct queries) sees everything, as the system;
    requests of logged-in users get their own read scope, which takes precedence."""
    from app import scope

    with scope.scoped(scope.SYSTEM):
        yield


@pytest.fixture(scope="session")
def database_url():
    """A fresh database for this test session, dropped afterwards."""
    if USE_SQLITE:
        path = Path(tempfile.mkdtemp(prefix="crm-test-")) / "crm.db"
        yield f"sqlite:///{path}"
        return
    name = f"crm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url):
    """The app on the session database, migrated to head, with one user per role."""
    from flask_migrate import upgrade

    from app import create_app
    from app.security import sync_roles_and_permissions

    application = create_app(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True, WTF_CSRF_ENABLED=False,
                             CHATWOOT_WEBHOOK_SECRET="cw-secret", TELEGRAM_WEBHOOK_SECRET="tg-secret")
    with application.app_context():
        upgrade()
        sync_roles_and_permissions(application.appbuilder)
        sm = application.appbuilder.sm
        for role in ROLES:
            username = role.lower()
            if not sm.find_user(username=username):
                sm.add_user(username=username, first_name=role, last_name="User",
                            email=f"{username}@studio.test", role=sm.find_role(role), password=PASSWORD)
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture()
def clean_db(app):
    """Empty CRM tables (users and roles stay) before the test."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_tables(conn, CRM_TABLES)
    yield


def empty_tables(conn, tables) -> None:
    """Empty `tables` (and, on PostgreSQL, what references them) in the caller's transaction. The
    audit's TRUNCATE triggers are disabled explicitly, as the owner the tests connect as, for this
    transaction only: nobody else ever sees them off."""
    if conn.dialect.name != "postgresql":
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        return
    for table in AUDIT_TABLES:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate"))
    conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
    for table in AUDIT_TABLES:
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_truncate"))


@pytest.fixture()
def users(app):
    """Role name -> user id."""
    with app.app_context():
        sm = app.appbuilder.sm
        return {role: sm.find_user(username=role.lower()).id for role in ROLES}


@pytest.fixture()
def client(app):
    return app.test_client()


def login(client, role: str, lang: str = "en"):
    """Log the test client in through the real login form, in English unless asked otherwise."""
    client.get("/logout/")
    response = client.post("/login/", data={"username": role.lower(), "password": PASSWORD})
    assert response.status_code in (302, 200)
    client.get(f"/lang/{lang}")
    return client


@pytest.fixture()
def as_role(client):
    return lambda role, lang="en": login(client, role, lang)


def api_token(client, role: str) -> str:
    response = client.post("/api/v1/security/login", json={
        "username": role.lower(), "password": PASSWORD, "provider": "db", "refresh": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


@pytest.fixture()
def api(client):
    """api(role) -> headers with a JWT for that role."""
    cache: dict[str, dict] = {}

    def headers(role: str) -> dict:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {api_token(client, role)}"}
        return cache[role]
    return headers


def count_statements(app, client, *urls) -> int:
    """SQL statements the app runs to answer GET requests for `urls` (each must answer 200)."""
    from sqlalchemy import event

    from app.extensions import db

    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)
