"""Domain exceptions carrying field-level messages (static English, translated by the web layer)."""
from __future__ import annotations


def N_(s: str) -> str:
    """Mark a message for extraction; the web layer translates it with gettext."""
    return s


class DomainError(Exception):
    """A refused change, with messages per field."""

    def __init__(self, messages: dict[str, list[str]]):
        self.messages = {k: list(v) for k, v in messages.items()}
        super().__init__(str(self))

    def __str__(self) -> str:
        return "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in self.messages.items())


class RuleViolation(DomainError):
    """A business rule refuses the change (HTTP 422)."""


class ConflictError(DomainError):
    """Uniqueness or version conflict (HTTP 409)."""

    def __init__(self, messages, existing_id=None):
        self.existing_id = existing_id
        super().__init__(messages)


class NotFoundError(DomainError):
    """The record does not exist (HTTP 404)."""


class PermissionDenied(DomainError):
    """The actor may not do this to this record (HTTP 403)."""


class MissingActor(DomainError):
    """A write without an actor."""
