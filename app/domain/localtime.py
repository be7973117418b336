"""Local time: the studio's zone (CRM_TIMEZONE) or the viewer's own. Stored times are UTC; people
read and type them in their zone, and "today" is their local date. Pure functions only."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "Europe/Moscow"


def valid_zone(name: str | None) -> bool:
    if not name or not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(name: str | None, fallback: str = DEFAULT_ZONE) -> tzinfo:
    """The zone of that name; the fallback's for an unknown or empty name."""
    return ZoneInfo(name) if valid_zone(name) else ZoneInfo(fallback)


def zone_names() -> list[str]:
    """Every zone a user may choose (IANA names, sorted)."""
    return sorted(n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/", "posix/")))


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite hands back naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def to_local(value: datetime | None, tz: tzinfo) -> datetime | None:
    """A stored time in that zone."""
    return None if value is None else as_utc(value).astimezone(tz)


def from_local(value: datetime | None, tz: tzinfo) -> datetime | None:
    """A time a person typed: without an offset it is read in their zone; returned in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def local_date(value: datetime, tz: tzinfo) -> date:
    return to_local(value, tz).date()


def day_start(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a local day begins."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(timezone.utc)


def days_between(start: datetime | None, end: datetime, tz: tzinfo) -> int:
    """Whole local calendar days from one time to another (0 on the same local day)."""
    if start is None:
        return 0
    return max(0, (local_date(end, tz) - local_date(start, tz)).days)


def period_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A period of local days, first to last inclusive, as a half-open UTC range."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)
