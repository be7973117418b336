"""Which audit events a change of an opportunity produces."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from .fields import TRACKED_FIELDS
from .stages import StageTable, _same

EVENT_TYPES = ("created", "stage_changed", "amount_changed", "probability_changed", "next_step_changed",
               "discount_changed", "field_changed", "note_added", "won", "lost", "reopened", "accepted",
               "withdrawn")
_GROUPS = (
    ("amount_changed", ("amount_estimate", "currency")),
    ("probability_changed", ("probability",)),
    ("next_step_changed", ("next_step_text", "next_step_due_at")),
    ("discount_changed", ("discount_percent",)),
)
_GROUPED = {"stage", "status", "proposed", "withdrawn_at"} | {f for _, fields in _GROUPS for f in fields}


def json_safe(value):
    """Decimal -> str, dates -> ISO 8601, UUID -> str; everything else as is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _eq(a, b) -> bool:
    if isinstance(a, uuid.UUID) or isinstance(b, uuid.UUID):
        return str(a) == str(b)
    return _same(a, b)


def _pick(state: Mapping, fields) -> dict:
    return {f: json_safe(state.get(f)) for f in fields}


def _stage_events(old: Mapping, new: Mapping, table: StageTable) -> list[tuple]:
    if _eq(old.get("stage"), new.get("stage")):
        return []
    events = [("stage_changed", {"stage": old.get("stage")}, {"stage": new.get("stage")})]
    semantic = table.get(new["stage"]).semantic
    if semantic == "won":
        events.append(("won", {"stage": old.get("stage")}, {"stage": "won"}))
    elif semantic == "lost":
        events.append(("lost", {"stage": old.get("stage")}, {"stage": "lost", "lost_reason": new.get("lost_reason")}))
    elif table.is_reopen(old.get("stage"), new["stage"]):
        events.append(("reopened", {"stage": old.get("stage")}, {"stage": new.get("stage")}))
    return events


def _proposal_events(old: Mapping, new: Mapping) -> list[tuple]:
    if old.get("proposed") and not new.get("proposed"):
        return [("accepted", {"proposed": True}, {"proposed": False})]
    if old.get("withdrawn_at") is None and new.get("withdrawn_at") is not None:
        return [("withdrawn", {"withdrawn_at": None}, _pick(new, ["withdrawn_at"]))]
    return []


def plan_events(old: Mapping | None, new: Mapping, table: StageTable) -> list[tuple[str, dict | None, dict | None]]:
    """(event_type, old_value, new_value) for each audited change; creation is one event."""
    if old is None:
        return [("created", None, _pick(new, TRACKED_FIELDS))]
    events = _stage_events(old, new, table) + _proposal_events(old, new)
    for event_type, fields in _GROUPS:
        if any(not _eq(old.get(f), new.get(f)) for f in fields):
            events.append((event_type, _pick(old, fields), _pick(new, fields)))
    for field in TRACKED_FIELDS:
        if field not in _GROUPED and not _eq(old.get(field), new.get(field)):
            events.append(("field_changed", _pick(old, [field]), _pick(new, [field])))
    return events
