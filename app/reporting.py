"""The reports database: where the dashboard, the stall report (page and CSV) and the metrics API
read. With CRM_REPORTS_DATABASE_URL set (a read replica), a second engine and session per app
context; unset, the main session. The read scope (app/scope.py) listens on every session, so it
applies to these reads as well; nothing ever writes through this session.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from app.extensions import db

KEY = "crm_reports"


def init_app(app) -> None:
    """Open the reports engine when the setting names one (its session ends with the app context)."""
    url = app.config.get("CRM_REPORTS_DATABASE_URL")
    if not url:
        return
    engine = create_engine(url, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    sessions = scoped_session(sessionmaker(bind=engine), scopefunc=_app_ctx_id)
    app.extensions[KEY] = (engine, sessions)
    app.teardown_appcontext(lambda exc: sessions.remove())


def _configured():
    return current_app.extensions.get(KEY) if has_app_context() else None


def engine() -> Engine:
    """The engine reports read through (the main one when no reports database is set)."""
    found = _configured()
    return found[0] if found else db.engine


def session() -> Session:
    """The session reports read through (the main one when no reports database is set)."""
    found = _configured()
    return found[1]() if found else db.session
