"""Normalised inbound records: what every source is turned into before it is stored.

Payloads come from outside: every value is read by its expected type (`obj`, `items`, `ident`,
`clean`, `text_of`) and never stored as a Python repr; text is scrubbed of what the database
cannot store (NUL, lone surrogates) and cut to its column; a record without usable ids or times
is UnusablePayload (the webhook answers 2xx and logs it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from app.domain.ranges import date_error
from app.domain.text import scrub, scrub_json

NAME_LENGTH = 255  # thread titles, sender names and handles (the columns' length)
EMAIL_LENGTH = 320
PHONE_LENGTH = 64
ID_LENGTH = 100  # one id of a key "account:conversation" (external keys hold 255)


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


def _in_range(moment: datetime, value) -> datetime:
    if date_error(moment):
        raise UnusablePayload(f"time out of range: {str(value)[:40]}")
    return moment


def from_unix(value) -> datetime:
    """Unix seconds (int, float or numeric string) as an aware UTC datetime (years 1900–2999)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnusablePayload("not a unix time")
    try:
        return _in_range(datetime.fromtimestamp(float(value), tz=timezone.utc), value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise UnusablePayload(f"not a unix time: {str(value)[:40]}") from None


def from_iso(value) -> datetime:
    """ISO 8601 (Chatwoot's top-level created_at); naive values are UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_unix(value)
    if not isinstance(value, str):
        raise UnusablePayload("not a timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        return _in_range(parsed.astimezone(timezone.utc), value)
    except (ValueError, OverflowError):
        raise UnusablePayload(f"not a timestamp: {value[:40]}") from None


def obj(value) -> dict:
    """A JSON object of a payload, or {} for anything else (a string, a list, a number)."""
    return value if isinstance(value, dict) else {}


def items(value) -> list:
    """A JSON array of a payload, or [] for anything else."""
    return value if isinstance(value, list) else []


def ident(value) -> str | None:
    """An id as text: an integer, or a non-blank string of at most ID_LENGTH characters; None for
    anything else (a float, an object, a list, true/false)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = scrub(value).strip()
        return text if text and len(text) <= ID_LENGTH else None
    return None


def clean(value, limit: int = NAME_LENGTH) -> str | None:
    """Strings (and integers) trimmed, scrubbed and cut to `limit`; blanks and other types None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = scrub(str(value)).strip()[:limit].strip()
    return text or None


def text_of(value) -> str | None:
    """A message's text: a string scrubbed, "" for none; None when it is of another type (the
    message is skipped rather than stored as a repr)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return scrub(value)
    return None


def raw_of(value) -> dict:
    """The payload kept with a message, without what the database cannot store."""
    return scrub_json(value) if isinstance(value, dict) else {}
