"""Seeding helpers for tests that write ORM objects directly (as a verb would, with a request)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, has_app_context

from app.extensions import db
from app.security import actor_for
from app.services.context import Actor, ChangeRequest, reset_current, set_current


def actor(user_id: int | None) -> Actor:
    """The Actor of a user with the permissions their roles give (the system for None)."""
    if user_id is None or not has_app_context():
        return Actor(user_id)
    sm = current_app.appbuilder.sm
    return actor_for(sm, sm.get_user_by_id(user_id))


def request_as(user_id: int | None, values=None, **more) -> ChangeRequest:
    """A change request made by this user."""
    return ChangeRequest(actor(user_id), dict(values or {}), **more)


@contextmanager
def change_context(actor_id: int | None = None, evidence_refs=None, at=None, expected_version=None):
    """Direct ORM writes in this block run as if inside a verb of this user (tests seed data so)."""
    token = set_current(ChangeRequest(actor(actor_id), evidence_refs=list(evidence_refs or []), at=at,
                                      expected_version=expected_version))
    try:
        yield
    finally:
        reset_current(token)


@contextmanager
def committed():
    """Commit what the block wrote, or roll it all back (a test's own unit of work)."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
