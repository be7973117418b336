"""The one choke point for opportunity rules and audit: a before_flush listener.

Every path that writes an Opportunity (generated forms, REST, CLI, importers, demo data) goes
through a SQLAlchemy flush, so stage rules, evidence and the audit rows are applied here once,
in the same transaction as the change.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.domain.errors import ConflictError, MissingActor, N_, RuleViolation
from app.domain.events import TRACKED_FIELDS, plan_events
from app.domain.stages import check_opportunity
from app.models import Opportunity, OpportunityEvent
from app.models.types import as_utc, new_id, utcnow

from .evidence import check_message_refs
from .context import actor_can_reopen, current_actor_id, current_context, default_currency, stage_table

WRITTEN_EVENTS = "crm_written_events"  # session.info key: audit rows added since the last take
_RELATION_OF = {"account_id": "account", "owner_user_id": "owner"}


def take_written_events(session: Session) -> list[OpportunityEvent]:
    """The audit rows the listener added in this session since the last call."""
    return session.info.pop(WRITTEN_EVENTS, [])


def install() -> None:
    """Register the listener once per process (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def _value(opp: Opportunity, name: str):
    rel = _RELATION_OF.get(name)
    if rel and getattr(opp, rel) is not None:
        return getattr(opp, rel).id
    return getattr(opp, name)


def _old_value(opp: Opportunity, name: str):
    state = inspect(opp)
    rel = _RELATION_OF.get(name)
    if rel:
        hist = state.attrs[rel].history
        if hist.deleted:
            return hist.deleted[0].id if hist.deleted[0] is not None else None
    hist = state.attrs[name].history
    if hist.deleted:
        return hist.deleted[0]
    return hist.unchanged[0] if hist.unchanged else getattr(opp, name)


def _changed(opp: Opportunity, name: str) -> bool:
    state = inspect(opp)
    return state.attrs[name].history.has_changes()


def _state(opp: Opportunity, old: bool = False) -> dict:
    get = _old_value if old else _value
    return {name: get(opp, name) for name in TRACKED_FIELDS}


def _apply_stage_defaults(opp: Opportunity, old: dict | None) -> None:
    """On creation or a stage move: status follows the stage, probability and forecast
    category take the stage's defaults unless the same change set them, and the stage clock
    (stage_entered_at, closed_at) restarts."""
    if old is not None and old["stage"] == opp.stage:
        return
    table = stage_table()
    stage = table.get(opp.stage)
    def explicit(name: str) -> bool:
        return getattr(opp, name) is not None and (old is None or _changed(opp, name))
    if not explicit("status"):
        opp.status = table.status_for(opp.stage)
    if not explicit("probability"):
        opp.probability = stage.default_probability
    if not explicit("forecast_category"):
        opp.forecast_category = stage.forecast_category
    now = current_context().at or utcnow()
    if old is not None or opp.stage_entered_at is None:
        opp.stage_entered_at = now
    was_open = old is None or table.get(old["stage"]).semantic == "open"
    if stage.semantic == "open":
        opp.closed_at = None
    elif was_open or opp.closed_at is None:
        opp.closed_at = now


def _check_version(opp: Opportunity, ctx) -> None:
    expected = ctx.expected_versions.get(opp.id)
    current = _old_value(opp, "version")
    if expected is not None and expected != current:
        raise ConflictError({"version": [N_("This opportunity was changed by someone else; reload it and try again.")]})


def _audit(session: Session, opp: Opportunity, old: dict | None, actor_id: int) -> None:
    ctx = current_context()
    entered_before = _old_value(opp, "stage_entered_at") if old is not None else None
    if old is not None:
        _check_version(opp, ctx)
    _apply_stage_defaults(opp, old)
    new = _state(opp)
    errors = check_opportunity(new, old, stage_table(), evidence_refs=ctx.evidence_refs,
                               can_reopen=old is None or actor_can_reopen(actor_id))
    if errors:
        raise RuleViolation(errors)
    check_message_refs(session, ctx.evidence_refs)
    planned = plan_events(old, new, stage_table())
    for event_type, old_value, new_value in planned:
        audit_row = OpportunityEvent(
            opportunity_id=opp.id, event_type=event_type, old_value=old_value, new_value=new_value,
            actor_user_id=actor_id, evidence_refs=list(ctx.evidence_refs) if event_type != "created" else [],
            created_at=ctx.at or utcnow(),
            previous_stage_entered_at=entered_before if event_type == "stage_changed" else None,
        )
        session.add(audit_row)
        session.info.setdefault(WRITTEN_EVENTS, []).append(audit_row)
    if planned and opp.account is not None:
        touched = ctx.at or utcnow()
        if opp.account.last_touch_at is None or as_utc(opp.account.last_touch_at) < touched:
            opp.account.last_touch_at = touched


def _before_flush(session: Session, flush_context, instances) -> None:
    for obj in list(session.new):
        if isinstance(obj, Opportunity):
            _require_actor_and_audit(session, obj, created=True)
    for obj in list(session.dirty):
        if isinstance(obj, Opportunity) and session.is_modified(obj, include_collections=False):
            _require_actor_and_audit(session, obj, created=False)
    for obj in list(session.deleted):
        if isinstance(obj, Opportunity):
            raise RuleViolation({"id": [N_("Opportunities are never deleted: close them as lost instead.")]})
        if isinstance(obj, OpportunityEvent):
            raise RuleViolation({"id": [N_("Audit events cannot be changed or deleted.")]})


def _require_actor_and_audit(session: Session, opp: Opportunity, created: bool) -> None:
    actor_id = current_actor_id()
    if actor_id is None:
        raise MissingActor({"actor": [N_("A change of an opportunity needs an actor (log in, or pass --as USER).")]})
    if opp.id is None:
        opp.id = new_id()
    if created:
        opp.stage = opp.stage or "lead"
        opp.currency = (opp.currency or default_currency()).upper()
    _audit(session, opp, None if created else _state(opp, old=True), actor_id)
