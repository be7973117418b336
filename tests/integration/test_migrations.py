"""One Alembic history creates every table; the models and the migrations agree."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_URL, USE_SQLITE

pytestmark = pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL")


@pytest.fixture()
def empty_app():
    """An app on its own empty PostgreSQL database (dropped afterwards)."""
    from app import create_app
    from app.extensions import db

    name = f"crm_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    application = create_app(SQLALCHEMY_DATABASE_URI=url, TESTING=True)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Model.metadata)


def test_upgrade_creates_every_table_and_autogenerate_finds_no_difference(empty_app):
    from app.extensions import db

    with empty_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(Model.metadata.tables) <= tables
        assert {"ab_user", "ab_role", "accounts", "opportunity_events", "inbound_messages"} <= tables
        assert _diff(db.engine) == []


def _jit(engine) -> str:
    with engine.connect() as conn:  # a new connection reads the database's settings
        return conn.execute(text("SHOW jit")).scalar()


def test_the_database_compiles_no_statement_just_in_time(empty_app):
    """Migration 0014: a mis-estimated page query must not spend 300 ms in JIT compilation."""
    from app.extensions import db

    with empty_app.app_context():
        upgrade()
        db.engine.dispose()
        assert _jit(db.engine) == "off"
        downgrade(revision="0013")
        db.engine.dispose()
        assert _jit(db.engine) == "on"  # the server's default again
        upgrade()


def test_downgrade_to_base_and_upgrade_again(empty_app):
    from app.extensions import db

    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "opportunities" in inspect(db.engine).get_table_names()
        assert _diff(db.engine) == []
