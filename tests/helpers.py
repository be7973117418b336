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


def add_project(account_id, name: str = "Delivery", pm_user_id: int | None = None, members=(),
                actor_id: int | None = None):
    """A project on the account saved by the record verb (its PM becomes a member), plus these
    members (user ids); returns the project's id. Runs as the system unless `actor_id` is given."""
    from app.models import Project
    from app.services import records

    project = records.save_record(request_as(actor_id), Project(account_id=account_id, name=name, status="active",
                                                               pm_user_id=pm_user_id))
    for user_id in members:
        add_member(project.id, user_id, actor_id=actor_id)
    return project.id


def add_member(project_id, user_id: int, role: str | None = None, actor_id: int | None = None):
    """Make a user a member of a project (through the record verb); returns the member row's id."""
    from app.models import ProjectMember
    from app.services import records

    return records.save_record(request_as(actor_id), ProjectMember(project_id=project_id, user_id=user_id,
                                                                   role=role)).id
