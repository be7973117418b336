"""Verbs on opportunities shared by the REST API, the pages and the CLI.

They change the ORM objects and flush; the before_flush listener applies the stage rules and
writes the audit rows. The caller owns the transaction (`with transaction(db.session):`).
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.domain.errors import N_, MissingActor, NotFoundError, RuleViolation
from app.domain.evidence import parse_evidence_refs
from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent, User
from app.models.types import utcnow

from .audit import take_written_events
from .evidence import check_message_refs
from .context import change_context, current_actor_id, current_context, stage_table

UPDATABLE = ("stage", "amount_estimate", "currency", "probability", "forecast_category", "next_step_text",
             "next_step_due_at", "lost_reason", "discount_percent", "close_date_target", "owner_user_id",
             "status", "name", "source", "primary_competitor", "proposed")


def get_opportunity(opp_id) -> Opportunity:
    """The opportunity, or NotFoundError."""
    key = parse_uuid(opp_id)
    opp = db.session.get(Opportunity, key) if key else None
    if opp is None:
        raise NotFoundError({"id": [N_("No such opportunity.")]})
    return opp


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def resolve_user_id(value: Any) -> int:
    """A user given as id, username or 'me'."""
    if value == "me":
        actor = current_actor_id()
        if actor is not None:
            return actor
    query = select(User.id).where(User.id == value) if isinstance(value, int) and not isinstance(value, bool) \
        else select(User.id).where(User.username == str(value))
    if isinstance(value, str) and value.isdigit():
        query = select(User.id).where(User.id == int(value))
    user_id = db.session.scalar(query)
    if user_id is None:
        raise RuleViolation({"owner": [N_("No such user.")]})
    return user_id


def _actor_context(evidence_refs, expected_version, opp_id):
    ctx = current_context()
    return change_context(
        actor_id=ctx.actor_id or current_actor_id(), evidence_refs=evidence_refs, can_reopen=ctx.can_reopen,
        expected_versions={opp_id: expected_version} if expected_version is not None else {}, at=ctx.at,
    )


def _check_sent_status(changes: dict, stage: str) -> None:
    """A client may send status, but it must agree with the stage (status follows the stage)."""
    if changes.get("status") is not None and stage_table().get(stage).semantic != changes["status"]:
        raise RuleViolation({"status": [N_("The status follows the stage and contradicts it.")]})


def update_opportunity(opp_id, changes: dict, *, evidence_refs: list | None = None,
                       expected_version: int | None = None) -> tuple[Opportunity, list[OpportunityEvent]]:
    """Apply a partial change with its evidence; the listener checks rules and writes the audit."""
    opp = get_opportunity(opp_id)
    refs = parse_evidence_refs(evidence_refs, required=False)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise RuleViolation({name: [N_("This field cannot be changed here.")] for name in sorted(unknown)})
    _check_sent_status(changes, changes.get("stage", opp.stage))
    take_written_events(db.session)
    with _actor_context(refs, expected_version, opp.id):
        for name, value in changes.items():
            setattr(opp, name, value)
        db.session.flush()
    return opp, take_written_events(db.session)


def create_opportunity(values: dict) -> tuple[Opportunity, list[OpportunityEvent]]:
    """A new opportunity (rules checked, `created` event written)."""
    if not (values.get("name") or "").strip():
        raise RuleViolation({"name": [N_("An opportunity needs a name.")]})
    account_id = parse_uuid(values.get("account_id"))
    if account_id is None or db.session.get(Account, account_id) is None:
        raise RuleViolation({"account_id": [N_("No such account.")]})
    _check_sent_status(values, values.get("stage") or "lead")
    take_written_events(db.session)
    opp = Opportunity(**values)
    db.session.add(opp)
    db.session.flush()
    return opp, take_written_events(db.session)


def add_note(opp_id, text: str, evidence_refs: list | None = None) -> OpportunityEvent:
    """A note on the deal's timeline: an audit event of its own, with the actor."""
    opp = get_opportunity(opp_id)
    text = (text or "").strip()
    if not text:
        raise RuleViolation({"text": [N_("A note must not be blank.")]})
    actor = current_actor_id()
    if actor is None:
        raise MissingActor({"actor": [N_("A change of an opportunity needs an actor (log in, or pass --as USER).")]})
    refs = parse_evidence_refs(evidence_refs, required=False)
    check_message_refs(db.session, refs)
    event = OpportunityEvent(opportunity_id=opp.id, event_type="note_added", old_value=None,
                             new_value={"text": text}, actor_user_id=actor, evidence_refs=refs,
                             created_at=current_context().at or utcnow())
    db.session.add(event)
    opp.account.last_touch_at = event.created_at
    db.session.flush()
    return event


def events_of(opp_id, limit: int | None = None, offset: int = 0) -> list[OpportunityEvent]:
    """The audit history of one opportunity, newest first."""
    opp = get_opportunity(opp_id)
    query = (select(OpportunityEvent).where(OpportunityEvent.opportunity_id == opp.id)
             .order_by(OpportunityEvent.created_at.desc(), OpportunityEvent.id).offset(offset))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))
