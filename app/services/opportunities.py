"""Verbs on opportunities: create, change (any field, stage moves included), accept a proposal,
add a note. Each takes a ChangeRequest, is one unit of work, and returns what it wrote.

They set values on the ORM objects and flush; the before_flush listener applies the stage rules
and writes the audit rows in the same transaction.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.domain.errors import N_, MissingActor, NotFoundError, RuleViolation
from app.domain.evidence import parse_evidence_refs
from app.domain.fields import EDITABLE_FIELDS, SYSTEM_FIELDS
from app.domain.opportunity import decide, version_errors
from app.domain.ownership import write_refusal
from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent, User
from app.settings import current as settings

from .audit import NO_ACTOR, check_project, state_of, take_written_events
from .context import ChangeRequest
from .evidence import check_message_refs
from .transaction import transaction

UPDATABLE = EDITABLE_FIELDS + SYSTEM_FIELDS


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def get_opportunity(opp_id) -> Opportunity:
    """The opportunity, or NotFoundError."""
    key = parse_uuid(opp_id)
    opp = db.session.get(Opportunity, key) if key else None
    if opp is None:
        raise NotFoundError({"id": [N_("No such opportunity.")]})
    return opp


def resolve_user_id(value: Any, actor_id: int | None = None, field: str = "owner") -> int:
    """A user given as id, username or 'me' (the actor): the one owner resolution every entry
    point uses."""
    if value == "me" and actor_id is not None:
        return actor_id
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        query = select(User.id).where(User.id == int(value))
    else:
        query = select(User.id).where(User.username == str(value))
    user_id = db.session.scalar(query)
    if user_id is None:
        raise RuleViolation({field: [N_("No such user.")]})
    return user_id


def _refuse_unknown(changes) -> None:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise RuleViolation({name: [N_("This field cannot be changed here.")] for name in sorted(unknown)})


@transaction
def update_opportunity(request: ChangeRequest, opp_id) -> tuple[Opportunity, list[OpportunityEvent]]:
    """Apply a partial change (request.values) with its evidence and the version the client read."""
    opp = get_opportunity(opp_id)
    _refuse_unknown(request.values)
    parse_evidence_refs(request.evidence_refs, required=False)
    take_written_events(db.session)
    for name, value in request.values.items():
        setattr(opp, name, value)
    db.session.flush()
    return opp, take_written_events(db.session)


@transaction
def create_opportunity(request: ChangeRequest) -> tuple[Opportunity, list[OpportunityEvent]]:
    """A new opportunity from request.values (rules checked, `created` event written)."""
    values = dict(request.values)
    _refuse_unknown(values)
    if not (values.get("name") or "").strip():
        raise RuleViolation({"name": [N_("An opportunity needs a name.")]})
    account_id = parse_uuid(values.get("account_id"))
    if account_id is None or db.session.get(Account, account_id) is None:
        raise RuleViolation({"account_id": [N_("No such account.")]})
    values["account_id"] = account_id
    take_written_events(db.session)
    opp = Opportunity(**values)
    db.session.add(opp)
    db.session.flush()
    return opp, take_written_events(db.session)


ACCEPT_FIELDS = ("name", "amount_estimate", "currency", "owner_user_id", "next_step_text", "next_step_due_at")


@transaction
def accept_proposal(request: ChangeRequest, opp_id) -> tuple[Opportunity, list[OpportunityEvent]]:
    """A person accepts a proposed deal onto the board with its name and amount (request.values;
    one audited action: `accepted` plus the changed fields)."""
    unknown = set(request.values) - set(ACCEPT_FIELDS)
    if unknown:
        raise RuleViolation({name: [N_("This field cannot be changed here.")] for name in sorted(unknown)})
    if not get_opportunity(opp_id).proposed:
        raise RuleViolation({"proposed": [N_("This deal is not a proposal: it was accepted already.")]})
    return update_opportunity(request.with_values({**request.values, "proposed": False}), opp_id)


@transaction
def withdraw_proposal(request: ChangeRequest, opp_id) -> tuple[Opportunity, list[OpportunityEvent]]:
    """Withdraw a proposal nobody accepted: kept and audited as `withdrawn`, counted nowhere."""
    opp = get_opportunity(opp_id)
    if not opp.proposed or opp.withdrawn_at is not None:
        return opp, []
    return update_opportunity(request.with_values({"withdrawn_at": request.now()}), opp_id)


@transaction
def add_note(request: ChangeRequest, opp_id) -> OpportunityEvent:
    """A note (request.values["text"]) on the deal's timeline: an audit event with the actor."""
    opp = get_opportunity(opp_id)
    text = (request.values.get("text") or "").strip()
    if not text:
        raise RuleViolation({"text": [N_("A note must not be blank.")]})
    if request.actor.id is None:
        raise MissingActor({"actor": [NO_ACTOR]})
    refs = parse_evidence_refs(request.evidence_refs, required=False)
    check_message_refs(db.session, refs)
    event = OpportunityEvent(opportunity_id=opp.id, event_type="note_added", old_value=None,
                             new_value={"text": text}, actor_user_id=request.actor.id, evidence_refs=refs,
                             created_at=request.now())
    db.session.add(event)
    opp.account.last_touch_at = event.created_at
    db.session.flush()
    return event


def check_change(request: ChangeRequest, opp_id=None) -> dict[str, list[str]]:
    """The field errors `create_opportunity` / `update_opportunity` would answer for this request,
    without writing anything (forms ask this while validating, so they re-render with the values)."""
    values = dict(request.values)
    old = None
    if opp_id is not None:
        opp = get_opportunity(opp_id)
        old = {**state_of(opp), "version": opp.version}
        errors = write_refusal(request.actor.id, request.actor.writes_all, opp.owner_user_id,
                               values.get("owner_user_id", opp.owner_user_id), created=False) \
            or version_errors(request.expected_version, opp.version)
        if errors:
            return errors
    new = {**(old or {}), **values}
    if old is None:
        new.setdefault("stage", "lead")
        errors = write_refusal(request.actor.id, request.actor.writes_all, None, new.get("owner_user_id"), created=True)
        if errors:
            return errors
    explicit = {name for name in values if old is None or old.get(name) != values[name]}
    try:
        refs = parse_evidence_refs(request.evidence_refs, required=False)
    except RuleViolation as exc:
        return exc.messages
    decision = decide(old, new, explicit, settings().stages, evidence_refs=refs,
                      can_reopen=request.actor.may_reopen, now=request.now())
    if decision.errors:
        return decision.errors
    values = {**decision.values, "account_id": parse_uuid(decision.values.get("account_id")),
              "project_id": parse_uuid(decision.values.get("project_id")) if decision.values.get("project_id") else None}
    try:  # the project rule the save applies (the project is on the account, the owner a member)
        check_project(db.session, values, old)
    except RuleViolation as exc:
        return exc.messages
    return {}
