"""Allowed values of enum-like columns (CHECK constraints and form selects use these)."""
from app.domain.events import EVENT_TYPES
from app.domain.stages import FORECAST_CATEGORIES, STATUSES as OPPORTUNITY_STATUSES, StageTable

SEGMENTS = ("smb", "mid", "enterprise", "custom")
ACCOUNT_STATUSES = ("active", "dormant", "churned")
STAGES = tuple(StageTable.default().names())
PROJECT_STATUSES = ("planned", "active", "paused", "done", "cancelled")
OFFER_STATUSES = ("draft", "sent", "accepted", "rejected")
INBOUND_SOURCES = ("chatwoot", "telegram")
THREAD_STATUSES = ("unassigned", "assigned", "ignored")
DIRECTIONS = ("incoming", "outgoing")
AUDITED_ENTITIES = ("account", "contact", "project", "project_member", "offer")
AUDIT_ACTIONS = ("created", "changed", "deleted", "merged")

__all__ = [
    "SEGMENTS", "ACCOUNT_STATUSES", "STAGES", "OPPORTUNITY_STATUSES", "FORECAST_CATEGORIES",
    "EVENT_TYPES", "PROJECT_STATUSES", "OFFER_STATUSES", "INBOUND_SOURCES", "THREAD_STATUSES",
    "DIRECTIONS", "AUDITED_ENTITIES", "AUDIT_ACTIONS", "check_in",
]


def check_in(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK constraint that keeps `column` within `values`."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
