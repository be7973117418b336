"""The one choke point for opportunity rules and audit: a before_flush listener.

Every write of an Opportunity goes through a SQLAlchemy flush inside a verb, so the listener
adapts the ORM to the pure decision (app/domain/opportunity.decide): it reads the state before
and after, applies the values the decision returns, refuses the change on field errors, and adds
the audit rows to the same flush. A write outside any verb (no change request) is refused.
"""
from __future__ import annotations

import functools

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import MANYTOONE, Session

from app.domain.errors import ConflictError, MissingActor, N_, PermissionDenied, RuleViolation
from app.domain.fields import TRACKED_FIELDS
from app.domain.evidence import parse_evidence_refs
from app.domain.fields import CLOCK_FIELDS
from app.domain.opportunity import creation_defaults, decide, version_errors
from app.domain.ownership import OWNER_FIELD, owner_after, write_refusal
from app.domain.text import BLANK_NAME, blank
from app.domain.records import NEEDS_EVIDENCE, evidence_needed, touched
from app.models import Account, AuditEvent, Opportunity, OpportunityEvent, Project, ProjectMember, User
from app.models.types import as_utc, new_id
from app.settings import current as settings

from .context import ChangeRequest, current_request
from .evidence import check_message_refs

WRITTEN_EVENTS = "crm_written_events"  # session.info key: audit rows added since the last take
STATE_FIELDS = TRACKED_FIELDS + CLOCK_FIELDS
NO_ACTOR = N_("A change of an opportunity needs an actor (log in, or pass --as USER).")
NO_RECORD_ACTOR = N_("A change needs an actor (log in, or pass --as USER).")


def take_written_events(session: Session) -> list[OpportunityEvent]:
    """The audit rows the listener added in this session since the last call."""
    return session.info.pop(WRITTEN_EVENTS, [])


def install() -> None:
    """Register the listener once per process (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


@functools.cache
def _relation_of(model, name: str) -> str | None:
    """The many-to-one relation a foreign-key column is also set through (forms set relations)."""
    return next((rel.key for rel in inspect(model).relationships
                 if rel.direction is MANYTOONE and any(c.key == name for c in rel.local_columns)), None)


def _field_value(obj, name: str, old: bool):
    """A field before or after this change. A foreign key may be set as a column (REST) or
    through its relation (forms): whichever this change touched wins over the stale other."""
    state = inspect(obj)
    relation = _relation_of(type(obj), name)
    if old:
        hist = state.attrs[name].history
        if hist.deleted:
            return hist.deleted[0]
        if relation and state.attrs[relation].history.deleted:
            previous = state.attrs[relation].history.deleted[0]
            return previous.id if previous is not None else None
        return hist.unchanged[0] if hist.unchanged else getattr(obj, name)
    if relation and not state.attrs[name].history.has_changes() and getattr(obj, relation) is not None:
        return getattr(obj, relation).id
    return getattr(obj, name)


def state_of(opp: Opportunity, old: bool = False) -> dict:
    """The deal's tracked fields and stage clock as a plain mapping (before or after this change)."""
    return {name: _field_value(opp, name, old) for name in STATE_FIELDS}


def _explicit(opp: Opportunity) -> set[str]:
    state = inspect(opp)
    return {name for name in STATE_FIELDS if state.attrs[name].history.has_changes()}


def apply_ownership(session: Session, obj, request: ChangeRequest, created: bool) -> None:
    """The ownership rule (app.domain.ownership) on a deal or an account being written: refuse a
    write of another's record or a hand-over (403), then store the owner it leaves (a new record
    belongs to its creator, an unowned one to whoever takes it)."""
    actor = request.actor
    old_owner = None if created else _field_value(obj, OWNER_FIELD, old=True)
    new_owner = _field_value(obj, OWNER_FIELD, old=False)
    errors = write_refusal(actor.id, actor.writes_all, old_owner, new_owner, created)
    if errors:
        raise PermissionDenied(errors)
    owner = owner_after(actor.id, actor.writes_all, new_owner, created)
    if owner != new_owner:
        with session.no_autoflush:
            obj.owner = session.get(User, owner)
        obj.owner_user_id = owner


def check_name(obj) -> None:
    """A record's name (deals, accounts, contacts, projects …) is never blank or only invisible
    characters, whatever path wrote it."""
    if "name" in type(obj).__table__.c and blank(obj.name):
        raise RuleViolation({"name": [BLANK_NAME]})


def _audit(session: Session, opp: Opportunity, old: dict | None, request: ChangeRequest) -> None:
    apply_ownership(session, opp, request, created=old is None)
    check_name(opp)
    if old is not None:
        errors = version_errors(request.expected_version, old.get("version"))
        if errors:
            raise ConflictError(errors)
    refs = parse_evidence_refs(request.evidence_refs, required=False)
    decision = decide(old, state_of(opp), _explicit(opp) | set(request.values), settings().stages, evidence_refs=refs, can_reopen=request.actor.may_reopen,
                      now=request.now())
    if decision.errors:
        raise RuleViolation(decision.errors)
    check_project(session, decision.values, old)
    check_message_refs(session, refs)
    for name in STATE_FIELDS:
        if _relation_of(Opportunity, name) is None and decision.values.get(name) != getattr(opp, name):
            setattr(opp, name, decision.values.get(name))
    for event_type, old_value, new_value in decision.events:
        audit_row = OpportunityEvent(
            opportunity_id=opp.id, event_type=event_type, old_value=old_value, new_value=new_value,
            actor_user_id=request.actor.id,
            evidence_refs=list(refs),
            created_at=request.now(),
            previous_stage_entered_at=old.get("stage_entered_at") if old and event_type == "stage_changed" else None,
            owner_user_id=decision.values.get("owner_user_id") if event_type == "stage_changed" else None,
            project_id=decision.values.get("project_id") if event_type == "stage_changed" else None,
        )
        session.add(audit_row)
        session.info.setdefault(WRITTEN_EVENTS, []).append(audit_row)
    account = opp.account
    if account is None and opp.account_id is not None:  # created with only its account's id
        with session.no_autoflush:
            account = session.get(Account, opp.account_id)
    if decision.events and account is not None:
        touched = request.now()
        if account.last_touch_at is None or as_utc(account.last_touch_at) < touched:
            account.last_touch_at = touched


def check_project(session: Session, new: dict, old: dict | None) -> None:
    """A deal inside a project belongs to the project's account and is owned by one of its members
    (a project the actor cannot see does not exist for them)."""
    project_id = new.get("project_id")
    if project_id is None:
        return
    changed = old is None or old.get("project_id") != project_id
    with session.no_autoflush:
        project = session.get(Project, project_id)
        if project is None or project.account_id != new.get("account_id"):
            raise RuleViolation({"project_id": [N_("No such project on this account.")]})
        owner = new.get("owner_user_id")
        if owner is not None and session.scalar(select(ProjectMember.id).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == owner)) is None:
            raise RuleViolation({"project_id" if changed else "owner_user_id": [
                N_("The owner of a deal inside a project must be a member of the project.")]})


# a record's parent, which the actor must be able to see to attach the record to it
PARENTS = {"contact": ("account_id", Account), "project": ("account_id", Account),
           "project_member": ("project_id", Project), "offer": ("opportunity_id", Opportunity)}


def _check_parent_visible(session: Session, obj) -> None:
    """A record hangs under a parent the actor can see (one out of their scope does not exist)."""
    field, model = PARENTS.get(obj.audit_entity, (None, None))
    if field is None:
        return
    parent = getattr(obj, field[:-3], None)
    if parent is not None and parent in session.new:  # created in this same unit of work
        return
    key = _field_value(obj, field, old=False)
    with session.no_autoflush:
        if key is not None and session.get(model, key) is None:
            raise RuleViolation({field: [N_("No such record.")]})


def _check_member_change(session: Session, member, request: ChangeRequest, action: str) -> None:
    """Members of a project are added and removed by Owner, Admin and the project's PM; the PM
    stays a member while they are the PM."""
    actor = request.actor
    with session.no_autoflush:
        project = member.project or session.get(Project, member.project_id)
    if project is None:
        raise RuleViolation({"project_id": [N_("No such project.")]})
    if action == "deleted" and project not in session.deleted \
            and member.user_id == project.pm_user_id:
        raise RuleViolation({"user_id": [N_("The project's PM stays a member: choose another PM first.")]})
    if actor.is_system or actor.all_projects:
        return
    if project.pm_user_id != actor.id:
        raise PermissionDenied({"project_id": [N_("Only the project's PM, an Owner or an Admin manages its members.")]})


def _before_flush(session: Session, flush_context, instances) -> None:
    for obj in session.new:  # ids first: audit rows name their records and scopes by id
        if (isinstance(obj, Opportunity) or hasattr(obj, "audit_entity")) and obj.id is None:
            obj.id = new_id()
    for obj in list(session.new):
        if isinstance(obj, Opportunity):
            _require_request_and_audit(session, obj, created=True)
        elif hasattr(obj, "audit_entity"):
            _audit_record(session, obj, "created")
    for obj in list(session.dirty):
        if isinstance(obj, Opportunity) and session.is_modified(obj, include_collections=False):
            _require_request_and_audit(session, obj, created=False)
        elif hasattr(obj, "audit_entity") and session.is_modified(obj, include_collections=False):
            _audit_record(session, obj, "changed")
    for obj in list(session.deleted):
        if isinstance(obj, Opportunity):
            raise RuleViolation({"id": [N_("Opportunities are never deleted: close them as lost instead.")]})
        if isinstance(obj, (OpportunityEvent, AuditEvent)):
            raise RuleViolation({"id": [N_("Audit events cannot be changed or deleted.")]})
        if hasattr(obj, "audit_entity"):
            _audit_record(session, obj, "deleted")


def _audit_record(session: Session, obj, action: str) -> None:
    """One audit row for a create, change or delete of an audited record, in the same flush, with
    the request's actor and evidence (the system's own writes have no actor)."""
    request = current_request()
    if request is None:
        raise MissingActor({"actor": [NO_RECORD_ACTOR]})
    fields = obj.audit_fields
    old = None if action == "created" else {f: _field_value(obj, f, old=True) for f in fields}
    new = None if action == "deleted" else {f: _field_value(obj, f, old=False) for f in fields}
    old_value, new_value = touched(old, new, fields)
    if old_value is None and new_value is None:
        return
    if isinstance(obj, Account) and action != "deleted":
        apply_ownership(session, obj, request, created=action == "created")
        new = {f: _field_value(obj, f, old=False) for f in fields}
        old_value, new_value = touched(old, new, fields)
    if action != "deleted":
        check_name(obj)
    if action != "deleted":
        _check_parent_visible(session, obj)
    if isinstance(obj, ProjectMember):
        _check_member_change(session, obj, request, action)
    refs = parse_evidence_refs(request.evidence_refs, required=False)
    if evidence_needed(obj.audit_entity, old, new) and not refs:
        raise RuleViolation({"evidence_refs": [NEEDS_EVIDENCE]})
    check_message_refs(session, refs)
    if obj.id is None:
        obj.id = new_id()
    account_id, project_id = obj.audit_scope()
    session.add(AuditEvent(entity_type=obj.audit_entity, entity_id=obj.id, account_id=account_id,
                           project_id=project_id, action=action, old_value=old_value, new_value=new_value,
                           actor_user_id=request.actor.id, evidence_refs=refs, created_at=request.now()))


def _require_request_and_audit(session: Session, opp: Opportunity, created: bool) -> None:
    request = current_request()
    if request is None or request.actor.id is None:
        raise MissingActor({"actor": [NO_ACTOR]})
    if opp.id is None:
        opp.id = new_id()
    if created:
        for name, value in creation_defaults({"stage": opp.stage, "currency": opp.currency},
                                             settings().default_currency).items():
            setattr(opp, name, value)
    old = None if created else {**state_of(opp, old=True), "version": _field_value(opp, "version", old=True)}
    _audit(session, opp, old, request)
