"""Column types that behave the same on PostgreSQL and SQLite."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy_utils import UUIDType


def GUID() -> UUIDType:
    """UUID keys: native uuid on PostgreSQL, CHAR(32) on SQLite; accepts str or UUID.

    sqlalchemy_utils' UUIDType is the one Flask-AppBuilder's interface recognises (is_string),
    so generated filters and forms handle it.
    """
    return UUIDType(binary=False)


JSONType = JSON().with_variant(JSONB(), "postgresql")
TagList = JSON().with_variant(ARRAY(Text()), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


from app.domain.localtime import as_utc  # noqa: E402,F401  (SQLite's naive values read as UTC)
