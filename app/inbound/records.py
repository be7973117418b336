"""Normalised inbound records: what every source is turned into before it is stored."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


class UnusablePayload(Exception):
    """Valid JSON that carries nothing we can store (the reason is the message)."""


@dataclass(frozen=True)
class ThreadRecord:
    source: str  # chatwoot | telegram
    external_key: str  # unique per source
    title: str | None = None


@dataclass(frozen=True)
class MessageRecord:
    source: str
    external_key: str  # unique per source
    thread: ThreadRecord
    direction: str  # incoming | outgoing
    text: str
    sent_at: datetime
    private: bool = False
    sender_name: str | None = None
    sender_handle: str | None = None
    sender_email: str | None = None
    sender_phone: str | None = None
    edited_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, hash=False)


def from_unix(value) -> datetime:
    """Unix seconds (int, float or numeric string) as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise UnusablePayload(f"not a unix time: {value!r}") from None


def from_iso(value) -> datetime:
    """ISO 8601 (Chatwoot's top-level created_at); naive values are UTC."""
    if isinstance(value, (int, float)):
        return from_unix(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise UnusablePayload(f"not a timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def clean(value) -> str | None:
    """Strings trimmed; blanks and non-strings become None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
