"""Who makes a change and with what: the explicit request every verb takes.

Entry points (views, REST, CLI, webhooks, importers, the demo loader) build a ChangeRequest and
pass it to a verb; the verb's unit of work (app/services/transaction.py) makes it the current
request for the duration of the verb, so the before_flush listener can audit with its actor and
evidence. Nothing here reads Flask's request globals.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.models.types import utcnow


@dataclass(frozen=True)
class Actor:
    """A user acting (id) with the CRM permissions the entry point resolved for them; id None is
    the system itself (webhooks, scheduled jobs, imports without --as)."""

    id: int | None
    may_reopen: bool = False
    sees_everyone: bool = False
    all_projects: bool = False
    all_accounts: bool = False
    writes_all: bool = False  # writes every owner's deals and accounts (Owner, Admin)
    may_merge: bool = False  # merges duplicate accounts and contacts (Owner, Admin)

    @property
    def is_system(self) -> bool:
        return self.id is None


SYSTEM = Actor(None)


@dataclass(frozen=True)
class ChangeRequest:
    """One user action: who, with what evidence, against which version, when, which values."""

    actor: Actor
    values: Mapping = field(default_factory=dict)
    evidence_refs: list = field(default_factory=list)
    expected_version: int | None = None
    at: datetime | None = None  # when it happened (importers, demo history); default now

    def now(self) -> datetime:
        return self.at or utcnow()

    def with_values(self, values: Mapping, **more) -> "ChangeRequest":
        return replace(self, values=dict(values), **more)


_current: ContextVar[ChangeRequest | None] = ContextVar("crm_change_request", default=None)


def current_request() -> ChangeRequest | None:
    """The request of the verb running now (None outside any verb)."""
    return _current.get()


def set_current(request: ChangeRequest | None):
    return _current.set(request)


def reset_current(token) -> None:
    _current.reset(token)
