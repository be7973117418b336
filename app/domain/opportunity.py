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

from .fields import PROPOSAL_LOCKED_FIELDS, TRACKED_FIELDS
from .stages import StageTable, _same, check_opportunity


VERSION_CONFLICT = N_("This opportunity was changed by someone else; reload it and try again.")
NOT_ACCEPTED = N_("This deal is only proposed: accept it (with its name and amount) before you move, "
                  "price, assign or close it.")
WITHDRAWN = N_("This proposal was withdrawn and cannot change.")
ACCEPT_NEEDS_NAME = N_("Accepting a proposal needs the deal's name.")
ACCEPT_NEEDS_AMOUNT = N_("Accepting a proposal needs the deal's amount.")


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
    errors = proposal_errors(old, values) or check_opportunity(
        values, old, table, evidence_refs=evidence_refs, can_reopen=old is None or can_reopen)
    return Decision(values, errors, [] if errors else plan_events(old, values, table))


def _changed(old: Mapping, new: Mapping, fields) -> list[str]:
    return [name for name in fields if not _same(old.get(name), new.get(name))]


def proposal_errors(old: Mapping | None, new: Mapping) -> dict[str, list[str]]:
    """A proposal from triage is not a deal until a person accepts it: until then it cannot move,
    be priced, assigned or closed; accepting asks for its name and amount; a withdrawn proposal
    never changes again."""
    if old is None or not old.get("proposed"):
        return {}
    if old.get("withdrawn_at") is not None:
        return {"proposed": [WITHDRAWN]} if _changed(old, new, TRACKED_FIELDS) else {}
    if new.get("proposed"):
        return {"proposed": [NOT_ACCEPTED]} if _changed(old, new, PROPOSAL_LOCKED_FIELDS) else {}
    if new.get("withdrawn_at") is not None or _changed(old, new, ("stage", "status", "lost_reason")):
        return {"proposed": [NOT_ACCEPTED]}
    errors: dict[str, list[str]] = {}
    if not (new.get("name") or "").strip():
        errors["name"] = [ACCEPT_NEEDS_NAME]
    if new.get("amount_estimate") is None:
        errors["amount_estimate"] = [ACCEPT_NEEDS_AMOUNT]
    return errors


def version_errors(expected: int | None, current: int | None) -> dict:
    """A client that read another version than the stored one must reload (optimistic locking)."""
    if expected is not None and current is not None and int(expected) != int(current):
        return {"version": [VERSION_CONFLICT]}
    return {}
