"""What a change of an opportunity means: one pure decision for every entry point.

`decide` takes the deal's state before (None on creation), the state asked for, which fields the
change set explicitly, and who asks; it returns the values to store (stage defaults and the stage
clock applied), the field errors, and the audit events to write. The ORM listener only adapts.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .errors import N_, RuleViolation
from .events import plan_events

from .stages import StageTable, check_opportunity


VERSION_CONFLICT = N_("This opportunity was changed by someone else; reload it and try again.")


@dataclass(frozen=True)
class Decision:
    values: dict = field(default_factory=dict)  # the full new state (defaults and clock applied)
    errors: dict = field(default_factory=dict)
    events: list = field(default_factory=list)  # (event_type, old_value, new_value)


def creation_defaults(values: Mapping, default_currency: str) -> dict:
    """A new deal starts as a lead in the studio's currency unless told otherwise."""
    return {"stage": values.get("stage") or "lead",
            "currency": (values.get("currency") or default_currency).upper()}


def stage_defaults(old: Mapping | None, new: Mapping, explicit: Collection[str], table: StageTable,
                   now: datetime) -> dict:
    """On creation or a stage move: status follows the stage, probability and forecast category
    take the stage's defaults unless the same change set them, and the stage clock restarts."""
    if old is not None and old.get("stage") == new.get("stage"):
        return {}
    stage = table.get(new.get("stage"))

    def given(name: str) -> bool:
        return new.get(name) is not None and (old is None or name in explicit)

    out: dict = {}
    if not given("status"):
        out["status"] = stage.semantic
    if not given("probability"):
        out["probability"] = stage.default_probability
    if not given("forecast_category"):
        out["forecast_category"] = stage.forecast_category
    if old is not None or new.get("stage_entered_at") is None:
        out["stage_entered_at"] = now
    was_open = old is None or table.get(old["stage"]).semantic == "open"
    if stage.semantic == "open":
        out["closed_at"] = None
    elif was_open or new.get("closed_at") is None:
        out["closed_at"] = now
    return out


def decide(old: Mapping | None, new: Mapping, explicit: Collection[str], table: StageTable, *,
           evidence_refs: list, can_reopen: bool, now: datetime) -> Decision:
    """The values to store, the field errors and the audit events of one change of a deal."""
    try:
        values = {**new, **stage_defaults(old, new, explicit, table, now)}
    except RuleViolation as exc:
        return Decision(dict(new), exc.messages, [])
    errors = check_opportunity(values, old, table, evidence_refs=evidence_refs,
                               can_reopen=old is None or can_reopen)
    return Decision(values, errors, [] if errors else plan_events(old, values, table))


def version_errors(expected: int | None, current: int | None) -> dict:
    """A client that read another version than the stored one must reload (optimistic locking)."""
    if expected is not None and current is not None and int(expected) != int(current):
        return {"version": [VERSION_CONFLICT]}
    return {}
