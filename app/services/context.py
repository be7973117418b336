"""The change context: who makes a change and with what evidence, for every entry point.

Web requests and the REST API take the actor from the logged-in user (flask.g.user, which
Flask-AppBuilder sets for session and JWT logins); the CLI, importers and the demo loader
set it explicitly with `change_context(actor_id=...)`. Evidence and the version a client read
are set by the entry point that received them.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import current_app, g, has_app_context, has_request_context

from app.domain.stages import StageTable


@dataclass
class ChangeContext:
    actor_id: int | None = None
    evidence_refs: list[dict] = field(default_factory=list)
    can_reopen: bool | None = None
    expected_versions: dict[uuid.UUID, int] = field(default_factory=dict)
    at: datetime | None = None  # when the change happened (importers, demo history); default now


_current: ContextVar[ChangeContext | None] = ContextVar("crm_change_context", default=None)


@contextmanager
def change_context(actor_id: int | None = None, evidence_refs: list[dict] | None = None,
                   can_reopen: bool | None = None, expected_versions: dict | None = None,
                   at: datetime | None = None):
    """Run a block of writes on behalf of an actor, with the evidence that backs them."""
    ctx = ChangeContext(actor_id, list(evidence_refs or []), can_reopen,
                        {uuid.UUID(str(k)): int(v) for k, v in (expected_versions or {}).items()}, at)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current_context() -> ChangeContext:
    """The explicit context, else the one a view put on this request, else an empty one."""
    ctx = _current.get()
    if ctx is None and has_request_context():
        ctx = g.get("crm_change")
    return ctx or ChangeContext()


def set_request_context(**values) -> ChangeContext:
    """Attach evidence / expected versions to the current request (scoped to flask.g)."""
    ctx = ChangeContext(**values)
    g.crm_change = ctx
    return ctx


def request_user():
    """The logged-in user of the current request, if any."""
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def current_actor_id() -> int | None:
    """The actor of the change being flushed: explicit context first, then the request's user."""
    ctx = current_context()
    if ctx.actor_id is not None:
        return ctx.actor_id
    user = request_user()
    return user.id if user is not None else None


def actor_can_reopen(actor_id: int | None) -> bool:
    """Owner and Admin may reopen a closed deal."""
    ctx = current_context()
    if ctx.can_reopen is not None:
        return ctx.can_reopen
    user = request_user()
    if user is None and actor_id is not None and has_app_context():
        user = current_app.appbuilder.sm.get_user_by_id(actor_id)
    return bool(user) and any(r.name in ("Admin", "Owner") for r in user.roles)


def stage_table() -> StageTable:
    """The stage table with the configured overrides (defaults outside an app)."""
    if has_app_context():
        return StageTable.from_overrides(current_app.config.get("CRM_STAGE_OVERRIDES") or None)
    return StageTable.default()


def default_currency() -> str:
    """ISO-4217 code new amounts get when none is given (CRM_DEFAULT_CURRENCY, RUB)."""
    return current_app.config.get("CRM_DEFAULT_CURRENCY", "RUB") if has_app_context() else "RUB"
