"""The stage table and the rules an opportunity must satisfy in each stage."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from .errors import N_, RuleViolation
from .evidence import parse_evidence_refs
from .ranges import range_errors

FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "omitted")
STATUSES = ("open", "won", "lost")
EVIDENCE_FIELDS = ("stage", "amount_estimate", "discount_percent")
OPPORTUNITY_RANGES = ("probability", "discount_percent", "amount_estimate")


@dataclass(frozen=True)
class Stage:
    name: str
    semantic: str
    default_probability: float
    forecast_category: str
    requires_next_step: bool
    order: int


DEFAULT_STAGES = (
    Stage("lead", "open", 0.05, "pipeline", False, 0),
    Stage("qualified", "open", 0.2, "pipeline", True, 1),
    Stage("discovery", "open", 0.35, "pipeline", True, 2),
    Stage("proposal_sent", "open", 0.55, "best_case", True, 3),
    Stage("negotiation", "open", 0.75, "commit", True, 4),
    Stage("won", "won", 1.0, "commit", False, 5),
    Stage("lost", "lost", 0.0, "omitted", False, 6),
)


class StageTable:
    """Ordered stages with fixed semantics; probabilities and forecast categories configurable."""

    def __init__(self, stages: tuple[Stage, ...]):
        self._stages = {s.name: s for s in stages}

    @classmethod
    def default(cls) -> "StageTable":
        return cls(DEFAULT_STAGES)

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Mapping] | None) -> "StageTable":
        """Defaults with per-stage default_probability / forecast_category overrides."""
        stages = {s.name: s for s in DEFAULT_STAGES}
        for name, values in (overrides or {}).items():
            if name not in stages:
                raise ValueError(f"unknown stage {name!r}")
            unknown = set(values) - {"default_probability", "forecast_category"}
            if unknown:
                raise ValueError(f"stage {name!r}: only default_probability and forecast_category can change")
            prob = float(values.get("default_probability", stages[name].default_probability))
            cat = values.get("forecast_category", stages[name].forecast_category)
            if not 0 <= prob <= 1 or cat not in FORECAST_CATEGORIES:
                raise ValueError(f"stage {name!r}: bad probability or forecast category")
            stages[name] = replace(stages[name], default_probability=prob, forecast_category=cat)
        return cls(tuple(stages.values()))

    def get(self, name: str) -> Stage:
        try:
            return self._stages[name]
        except (KeyError, TypeError):
            raise RuleViolation({"stage": [N_("Unknown stage.")]}) from None

    def names(self) -> list[str]:
        return [s.name for s in sorted(self._stages.values(), key=lambda s: s.order)]

    def open_stages(self) -> list[str]:
        return [n for n in self.names() if self._stages[n].semantic == "open"]

    def status_for(self, name: str) -> str:
        """won -> won, lost -> lost, every other stage -> open."""
        return self.get(name).semantic

    def is_reopen(self, old_stage: str | None, new_stage: str) -> bool:
        """Moving a closed deal back to an open stage."""
        return bool(old_stage) and self.get(old_stage).semantic != "open" and self.get(new_stage).semantic == "open"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decimal(value):
    try:
        return None if value is None else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "bad"


def required_fields_for(stage_name: str, table: StageTable) -> list[str]:
    """Fields a stage needs besides evidence (every stage change also needs evidence_refs)."""
    stage = table.get(stage_name)
    if stage.semantic == "open" and stage.requires_next_step:
        return ["next_step_text", "next_step_due_at"]
    if stage.semantic == "lost":
        return ["lost_reason"]
    return []


def evidence_required(values: Mapping, old: Mapping | None) -> list[str]:
    """Changed fields that must carry evidence. A deal created past `lead` needs the same evidence
    as moving there; accepting a proposal sets its name and amount like a creation."""
    if old is None:
        return ["stage"] if values.get("stage") not in (None, "lead") else []
    if old.get("proposed") and not values.get("proposed"):
        return ["stage"] if not _same(old.get("stage"), values.get("stage")) else []
    changed = [f for f in EVIDENCE_FIELDS if _same(old.get(f), values.get(f)) is False]
    if not _blank(values.get("lost_reason")) and _same(old.get("lost_reason"), values.get("lost_reason")) is False:
        changed.append("lost_reason")
    return changed


def _same(a, b) -> bool:
    da, db = _decimal(a), _decimal(b)
    if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
        if "bad" not in (da, db):
            return da == db
    return a == b


def check_opportunity(values: Mapping, old: Mapping | None, table: StageTable, *,
                      evidence_refs: list | None, can_reopen: bool) -> dict[str, list[str]]:
    """Field errors of an opportunity's new state (empty when the change may be saved)."""
    try:
        stage = table.get(values.get("stage"))
    except RuleViolation as exc:
        return exc.messages
    errors: dict[str, list[str]] = {}
    if values.get("status") is not None and values["status"] != stage.semantic:
        errors["status"] = [N_("The status follows the stage and contradicts it.")]
    for field in required_fields_for(stage.name, table):
        if _blank(values.get(field)):
            errors[field] = [_REQUIRED[field]]
    if old is not None and old.get("stage") and table.is_reopen(old["stage"], stage.name) and not can_reopen:
        errors.setdefault("stage", []).append(N_("Reopening a closed deal needs the reopen permission (Owner and Admin have it)."))
    errors.update(range_errors(values, OPPORTUNITY_RANGES))
    if evidence_required(values, old):
        try:
            parse_evidence_refs(evidence_refs, required=True)
        except RuleViolation as exc:
            errors.update(exc.messages)
    return errors


_REQUIRED = {
    "next_step_due_at": N_("From qualified on, an open deal needs the next step's due date."),
    "next_step_text": N_("Say what the next step is: a due date without what is no next step."),
    "lost_reason": N_("A lost deal needs the reason it was lost."),
}
