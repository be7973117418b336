"""When a next step is overdue: written once. The SQL twin is app/queries/conditions.py, and the
browser shows the server's verdict (the API's `next_step_state`) instead of recomputing it."""
from __future__ import annotations

from datetime import datetime

from .localtime import as_utc as _aware

NO_DUE_DATE, OVERDUE, DUE_TODAY, LATER, CLOSED = "none", "overdue", "today", "future", "closed"


def is_overdue(due: datetime | None, now: datetime) -> bool:
    """A next step is overdue once its due time has passed."""
    due = _aware(due)
    return due is not None and due < now


def days_overdue(due: datetime | None, now: datetime) -> int:
    """Whole days past the due time (0 when not overdue)."""
    return (now - _aware(due)).days if is_overdue(due, now) else 0


def next_step_state(due: datetime | None, now: datetime, status: str = "open") -> str:
    """closed for a won or lost deal; none without a due date; overdue once past; today when due
    later on the viewer's local day (`now` carries the viewer's zone; a naive `now` is UTC); else
    future."""
    if status != "open":
        return CLOSED
    if due is None:
        return NO_DUE_DATE
    if is_overdue(due, now):
        return OVERDUE
    now = now if now.tzinfo else _aware(now)  # keeps the viewer's zone
    return DUE_TODAY if _aware(due).astimezone(now.tzinfo).date() == now.date() else LATER
