"""An audit nobody can erase (PostgreSQL): every audit table refuses TRUNCATE, even to its owner;
the app's own database role (two-role set-up: MIGRATION_DATABASE_URL owns, DATABASE_URL is the app)
may only read and append the audit, cannot disable its triggers, and the app works on that role."""
import os
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import ADMIN_URL, AUDIT_TABLES, PASSWORD, USE_SQLITE

pytestmark = pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL roles and triggers")

ROLE = f"crm_app_test_{os.getpid()}"


def _refused(engine, statement: str, match: str, setup: tuple[str, ...] = (), params: dict | None = None):
    """Run `statement` after `setup` in one transaction that is rolled back; it must be refused."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            for sql in setup:
                conn.execute(text(sql), params or {})
            with pytest.raises(DBAPIError, match=match):
                conn.execute(text(statement), params or {})
        finally:
            trans.rollback()


@pytest.fixture(scope="module")
def two_roles(app, database_url):
    """The production set-up on the session database: a plain login role for the app, granted its
    rights by the migration step run as the owner (the tests' own role), dropped afterwards."""
    from app import create_app
    from app.extensions import db

    cluster = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with cluster.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{ROLE}" LOGIN'))
    role_url = make_url(database_url).set(username=ROLE, password=None).render_as_string(hide_password=False)
    role_app = create_app(SQLALCHEMY_DATABASE_URI=role_url, MIGRATION_DATABASE_URL=database_url, TESTING=True,
                          WTF_CSRF_ENABLED=False)
    role_engine = create_engine(role_url)
    try:
        with role_app.app_context():
            upgrade()  # at head already: only the grants step runs, as the owner
        yield role_app, role_engine
    finally:
        role_engine.dispose()
        with role_app.app_context():
            db.session.remove()
            db.engine.dispose()
        owner = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{ROLE}"'))  # its privileges on this database
        owner.dispose()
        with cluster.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{ROLE}'"))
            conn.execute(text(f'DROP ROLE IF EXISTS "{ROLE}"'))
        cluster.dispose()


# ---- the owner (single-role set-up: the app's role owns the tables) ------------------------------


@pytest.mark.parametrize("statement", [*(f"TRUNCATE {t}" for t in AUDIT_TABLES), "TRUNCATE opportunities CASCADE",
                                       "TRUNCATE accounts CASCADE"])
def test_truncate_of_the_audit_is_refused_even_to_the_owner(app, statement):
    from app.extensions import db

    with app.app_context():
        _refused(db.engine, statement, "append-only: TRUNCATE refused")


@pytest.mark.parametrize("statement", ["UPDATE inbound_thread_events SET action = 'ignored'",
                                       "DELETE FROM inbound_thread_events"])
def test_the_triage_history_is_append_only_too(app, statement):
    from app.extensions import db

    thread, event = uuid.uuid4(), uuid.uuid4()
    setup = ("INSERT INTO inbound_threads (id, source, external_key) VALUES (:thread, 'telegram', :key)",
             "INSERT INTO inbound_thread_events (id, thread_id, action) VALUES (:event, :thread, 'assigned')")
    with app.app_context():
        _refused(db.engine, statement, "inbound_thread_events is append-only", setup,
                 {"thread": thread, "event": event, "key": f"probe-{thread}"})


# ---- the app's own role --------------------------------------------------------------------------


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("statement, match", [
    ("TRUNCATE {t}", "permission denied"),
    ("UPDATE {t} SET created_at = created_at", "permission denied"),
    ("DELETE FROM {t}", "permission denied"),
    ("ALTER TABLE {t} DISABLE TRIGGER ALL", "must be owner"),
    ("ALTER TABLE {t} DISABLE TRIGGER {t}_no_truncate", "must be owner"),
    ("DROP TABLE {t}", "must be owner"),
])
def test_the_app_role_cannot_erase_rewrite_or_unprotect_the_audit(two_roles, table, statement, match):
    _, role_engine = two_roles
    _refused(role_engine, statement.format(t=table), match)


def test_the_app_role_cannot_rewrite_the_migration_history(two_roles):
    _, role_engine = two_roles
    _refused(role_engine, "UPDATE alembic_version SET version_num = version_num", "permission denied")
    with role_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_the_app_role_appends_to_the_audit(two_roles):
    _, role_engine = two_roles
    thread = uuid.uuid4()
    with role_engine.connect() as conn, conn.begin() as trans:
        conn.execute(text("INSERT INTO audit_events (id, entity_type, entity_id, action, evidence_refs) "
                          "VALUES (:id, 'account', :id, 'created', '[]')"), {"id": uuid.uuid4()})
        conn.execute(text("INSERT INTO inbound_threads (id, source, external_key) VALUES (:id, 'telegram', :key)"),
                     {"id": thread, "key": f"probe-{thread}"})
        conn.execute(text("INSERT INTO inbound_thread_events (id, thread_id, action) "
                          "VALUES (:id, :thread, 'assigned')"), {"id": uuid.uuid4(), "thread": thread})
        trans.rollback()


def test_the_app_works_on_its_role_and_writes_the_audit(app, two_roles, clean_db):
    role_app, _ = two_roles
    client = role_app.test_client()
    login = client.post("/api/v1/security/login", json={"username": "sales", "password": PASSWORD,
                                                        "provider": "db", "refresh": True})
    assert login.status_code == 200, login.get_data(as_text=True)
    h = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    account = client.post("/api/v1/accounts/", json={"name": "Role check", "segment": "mid"}, headers=h)
    assert account.status_code == 201, account.get_json()
    account_id = account.get_json()["id"]
    opp = client.post("/api/v1/opportunities/", json={"account_id": account_id, "name": "Website", "owner": "me"},
                      headers=h)
    assert opp.status_code == 201, opp.get_json()
    opp_id = opp.get_json()["id"]
    moved = client.patch(f"/api/v1/opportunities/{opp_id}", headers=h, json={
        "stage": "qualified", "next_step_text": "Send the brief", "next_step_due_at": "2030-01-10T10:00:00+03:00",
        "evidence_refs": [{"type": "note", "text": "Call with the client"}], "version": 1})
    assert moved.status_code == 200, moved.get_json()
    assert client.get("/api/v1/accounts/", headers=h).status_code == 200

    from app.extensions import db

    with app.app_context():  # read back as the owner
        actions = db.session.execute(text("SELECT action FROM audit_events WHERE entity_id = :id"),
                                     {"id": uuid.UUID(account_id)}).scalars().all()
        events = db.session.execute(text("SELECT event_type FROM opportunity_events WHERE opportunity_id = :id "
                                         "ORDER BY created_at"), {"id": uuid.UUID(opp_id)}).scalars().all()
        db.session.remove()
    assert actions == ["created"]
    assert events[0] == "created" and "stage_changed" in events


def test_a_missing_app_role_is_refused_with_a_clear_message(database_url, caplog):
    from app import create_app
    from app.extensions import db

    other = create_app(SQLALCHEMY_DATABASE_URI=database_url, MIGRATION_DATABASE_URL=database_url, TESTING=True,
                       CRM_APP_DB_ROLE=f"crm_no_such_role_{os.getpid()}")
    try:
        with other.app_context(), pytest.raises(SystemExit):
            upgrade()  # Flask-Migrate logs "Error: …" and exits 1, as `flask db upgrade` and run.py do
        assert "does not exist: create it first" in caplog.text
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
