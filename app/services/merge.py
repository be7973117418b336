"""Merging duplicates, and keeping a proposed pair separate: verbs, one unit of work each.

A merge locks every account (contact) involved, in id order, before it reads or moves anything,
so two people merging the same records at once are serialised: the second finds one of them
already merged and gets 409 with nothing moved. Everything of the merged account moves to the
survivor through the ORM (contacts, projects, deals, inbound threads; offers and notes follow
their deals and projects), so the audit listener writes the usual rows (a deal's account change on
its own history) and checks the project rules (projects and deals move in the same flush). The
merged account is kept, marked `merged_into_id`/`merged_at` and hidden by the read scope; its
domain is cleared so the survivor may take it. One `merged` audit row on the survivor holds the
actor, every account's values before and the choices made — the evidence for the values it copies
— and one on each merged account names the survivor. A merge is not a touch: the survivor's
`last_touch_at` is the later of theirs.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import delete, event, insert, inspect, or_, select
from sqlalchemy.orm import Session

from app import scope
from app.domain.duplicates import pair_key
from app.domain.errors import N_, ConflictError, NotFoundError, PermissionDenied, RuleViolation
from app.domain.events import json_safe
from app.extensions import db
from app.models import (Account, AuditEvent, Contact, DuplicateDecision, InboundThread, Opportunity, Project,
                        SimilarName)
from app.models.types import as_utc, new_id

from .context import ChangeRequest
from .transaction import transaction

MERGEABLE_ACCOUNT_FIELDS = ("name", "domain", "industry", "segment", "status", "owner_user_id",
                            "icp_fit_score", "icp_fit_reason")
MERGEABLE_CONTACT_FIELDS = ("name", "email", "phone", "telegram_handle", "role_tags", "influence_score")
# what a merged record gives up so that the survivor may take it (unique or matched values)
CLEARED_ON_MERGE = {Account: ("domain",), Contact: ("email", "phone", "telegram_handle")}
KINDS = {"account": Account, "contact": Contact}

NO_RIGHT = N_("Merging needs the merge permission and sight of every project (Owner, Admin).")
NO_SUCH = N_("No such record.")
ALREADY_MERGED = N_("Already merged into another record: reload the duplicates.")
STALE = N_("The record was changed meanwhile: reload and choose again.")
NOTHING_TO_MERGE = N_("Name at least one other record to merge.")
SELF_MERGE = N_("A record cannot be merged into itself.")
UNKNOWN_FIELD = N_("Not a field that a merge chooses.")
NOT_IN_MERGE = N_("Choose the value of one of the records being merged.")
OTHER_ACCOUNT = N_("Contacts are merged within one account.")
NOT_A_PAIR = N_("Name exactly two different records.")
NO_DECISION = N_("No such decision.")


def _ids(values) -> list[uuid.UUID]:
    try:
        return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in values]
    except (ValueError, TypeError, AttributeError):
        raise NotFoundError({"merge_ids": [NO_SUCH]}) from None


def _lock(model, ids: list[uuid.UUID]) -> dict:
    """Every record, locked in id order (merged ones too: the scope would hide them, so visibility
    is checked here by hand); 404 when one is not there for this viewer."""
    view = scope.current()
    visible = scope.account_visible(model.id if model is Account else model.account_id, view)
    rows = db.session.scalars(select(model).where(model.id.in_(ids), visible).order_by(model.id)
                              .with_for_update(of=model).execution_options(populate_existing=True,
                                                                          **{scope.UNSCOPED: True})).all()
    found = {r.id: r for r in rows}
    if set(ids) - set(found):
        raise NotFoundError({"merge_ids": [NO_SUCH]})
    return found


def _check_right(request: ChangeRequest) -> None:
    actor = request.actor
    if not (getattr(actor, "may_merge", False) and actor.all_projects and actor.all_accounts and actor.writes_all):
        raise PermissionDenied({"merge_ids": [NO_RIGHT]})


def _checked(request, model, survivor_id, merge_ids, fields, allowed):
    """(survivor, merged records) locked and checked in the order 404 → 403 → 409 → 422."""
    survivor_id, merge_ids = _ids([survivor_id])[0], list(dict.fromkeys(_ids(merge_ids or [])))
    found = _lock(model, sorted({survivor_id, *merge_ids}, key=str))
    _check_right(request)
    if any(r.merged_into_id is not None for r in found.values()):
        raise ConflictError({"merge_ids": [ALREADY_MERGED]})
    if request.expected_version is not None:
        from app.queries.duplicates import record_version
        if record_version(model.__tablename__[:-1], survivor_id) != request.expected_version:
            raise ConflictError({"version": [STALE]})
    if not merge_ids:
        raise RuleViolation({"merge_ids": [NOTHING_TO_MERGE]})
    if survivor_id in merge_ids:
        raise RuleViolation({"merge_ids": [SELF_MERGE]})
    errors = {}
    for name, source in (fields or {}).items():
        if name not in allowed:
            errors.setdefault("fields", []).append(UNKNOWN_FIELD)
        elif _ids_or_none(source) not in found:
            errors.setdefault(name, []).append(NOT_IN_MERGE)
    if errors:
        raise RuleViolation(errors)
    return found[survivor_id], [found[i] for i in merge_ids]


def _ids_or_none(value):
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _values(record, allowed) -> dict:
    return {f: json_safe(getattr(record, f)) for f in allowed}


def _chosen(survivor, records: dict, fields: dict, allowed) -> dict:
    """{field: value} the survivor takes from another record (only those that differ)."""
    chosen = {}
    for name in allowed:
        source = records[_ids_or_none(fields[name])] if name in (fields or {}) else survivor
        value = getattr(source, name)
        if source is not survivor and value != getattr(survivor, name):
            chosen[name] = list(value) if isinstance(value, list) else value
    return chosen


def _audit_merge(request, model, survivor, merged, before, fields, chosen, moved) -> AuditEvent:
    """The `merged` rows: one on the survivor (the evidence of the values it took), one on each
    merged record."""
    kind = model.__tablename__[:-1]
    now = request.now()
    account_of = (lambda r: r.id) if model is Account else (lambda r: r.account_id)
    row = AuditEvent(id=new_id(), entity_type=kind, entity_id=survivor.id, account_id=account_of(survivor),
                     action="merged", actor_user_id=request.actor.id, created_at=now, evidence_refs=[],
                     old_value={"survivor": before[survivor.id],
                                "merged": {str(m.id): before[m.id] for m in merged}},
                     new_value={"merged_ids": [str(m.id) for m in merged],
                                "fields": {k: str(v) for k, v in (fields or {}).items()},
                                "values": json_safe(chosen), "moved": moved})
    db.session.add(row)
    for m in merged:
        db.session.add(AuditEvent(entity_type=kind, entity_id=m.id, account_id=account_of(m), action="merged",
                                  actor_user_id=request.actor.id, created_at=now, evidence_refs=[],
                                  old_value=before[m.id], new_value={"merged_into": str(survivor.id)}))
    return row


def _evidence(row: AuditEvent) -> list[dict]:
    """The values a merge copies are backed by its audit row."""
    return [{"type": "merge", "id": str(row.id)}]


@transaction
def merge_accounts(request: ChangeRequest, survivor_id, merge_ids: list, fields: dict) -> Account:
    """Merge accounts into the survivor: everything of theirs moves to it, the survivor takes the
    chosen values ({field: id of the account whose value stays}), they are kept as merged."""
    survivor, merged = _checked(request, Account, survivor_id, merge_ids, fields, MERGEABLE_ACCOUNT_FIELDS)
    records = {survivor.id: survivor, **{m.id: m for m in merged}}
    before = {r.id: {**_values(r, MERGEABLE_ACCOUNT_FIELDS), "last_touch_at": json_safe(r.last_touch_at)}
              for r in records.values()}
    chosen = _chosen(survivor, records, fields, MERGEABLE_ACCOUNT_FIELDS)
    touches = [as_utc(r.last_touch_at) for r in records.values() if r.last_touch_at is not None]
    ids = [m.id for m in merged]
    moved = _move_account_children(request, survivor, ids)
    row = _audit_merge(request, Account, survivor, merged, before, fields, chosen, moved)
    _finish(replace(request, expected_version=None, evidence_refs=_evidence(row)), Account, survivor, merged, chosen)
    survivor.last_touch_at = max(touches) if touches else None  # a merge is not a touch
    for earlier in db.session.scalars(select(Account).where(Account.merged_into_id.in_(ids))
                                      .execution_options(**{scope.UNSCOPED: True})):
        earlier.merged_into_id = survivor.id  # merged before into one merged now: one hop to the survivor
    _forget_decisions("account", [survivor.id, *ids])
    db.session.flush()
    return survivor


@transaction
def _move(request: ChangeRequest, changes) -> None:
    """Apply (record, field, value) changes in one flush, under a request without the survivor's
    version (the listener checks a deal's own version against the request's)."""
    for record, name, value in changes:
        setattr(record, name, value)
    db.session.flush()


def _move_account_children(request, survivor, ids) -> dict:
    """Contacts, projects, deals and inbound threads of the merged accounts move to the survivor
    (through the ORM: audited, the project rules checked; projects and deals in one flush)."""
    unscoped = {scope.UNSCOPED: True}
    found = {name: list(db.session.scalars(select(model).where(model.account_id.in_(ids)).execution_options(**unscoped)))
             for name, model in (("contacts", Contact), ("projects", Project), ("opportunities", Opportunity),
                                 ("inbound_threads", InboundThread))}
    changes = [(item, "account_id", survivor.id) for items in found.values() for item in items]
    changes += [(item, "account", survivor) for item in found["opportunities"] + found["projects"] + found["contacts"]]
    _move(replace(request, expected_version=None), changes)
    return {name: len(items) for name, items in found.items()}


@transaction
def _finish(request: ChangeRequest, model, survivor, merged, chosen) -> None:
    """Mark the merged records, clear what they give up, then give the survivor its values."""
    for m in merged:
        m.merged_into_id, m.merged_at = survivor.id, request.now()
        for name in CLEARED_ON_MERGE[model]:
            setattr(m, name, None)
    db.session.flush()
    for name, value in chosen.items():
        setattr(survivor, name, value)
    db.session.flush()


def _forget_decisions(kind, ids) -> None:
    """Decisions about merged records are moot (the pair no longer exists)."""
    db.session.execute(delete(DuplicateDecision).where(
        DuplicateDecision.kind == kind,
        DuplicateDecision.a_id.in_(ids) & DuplicateDecision.b_id.in_(ids)))


@transaction
def merge_contacts(request: ChangeRequest, survivor_id, merge_ids: list, fields: dict) -> Contact:
    """Merge contacts of one account into the survivor (its inbound threads move to it)."""
    survivor, merged = _checked(request, Contact, survivor_id, merge_ids, fields, MERGEABLE_CONTACT_FIELDS)
    if any(m.account_id != survivor.account_id for m in merged):
        raise RuleViolation({"merge_ids": [OTHER_ACCOUNT]})
    records = {survivor.id: survivor, **{m.id: m for m in merged}}
    before = {r.id: _values(r, MERGEABLE_CONTACT_FIELDS) for r in records.values()}
    chosen = _chosen(survivor, records, fields, MERGEABLE_CONTACT_FIELDS)
    ids = [m.id for m in merged]
    threads = list(db.session.scalars(select(InboundThread).where(InboundThread.contact_id.in_(ids))
                                      .execution_options(**{scope.UNSCOPED: True})))
    _move(replace(request, expected_version=None), [(t, "contact_id", survivor.id) for t in threads])
    row = _audit_merge(request, Contact, survivor, merged, before, fields, chosen, {"inbound_threads": len(threads)})
    _finish(replace(request, expected_version=None, evidence_refs=_evidence(row)), Contact, survivor, merged, chosen)
    for earlier in db.session.scalars(select(Contact).where(Contact.merged_into_id.in_(ids))
                                      .execution_options(**{scope.UNSCOPED: True})):
        earlier.merged_into_id = survivor.id
    _forget_decisions("contact", [survivor.id, *ids])
    db.session.flush()
    return survivor


@transaction
def keep_separate(request: ChangeRequest, kind: str, ids: list) -> DuplicateDecision:
    """Remember that two proposed records are different (the pair is not proposed again while the
    decision stands). Keeping a pair separate twice keeps the first decision."""
    model = KINDS.get(kind)
    if model is None:
        raise RuleViolation({"kind": [N_("Not a kind of record.")]})
    pair = list(dict.fromkeys(_ids(ids or [])))
    if len(pair) != 2 or len(ids) != 2:
        raise RuleViolation({"ids": [NOT_A_PAIR]})
    visible = db.session.scalars(select(model.id).where(model.id.in_(pair))).all()  # scoped: merged ones hidden
    if len(visible) != 2:
        raise NotFoundError({"ids": [NO_SUCH]})
    if request.actor.id is None:
        raise PermissionDenied({"ids": [NO_RIGHT]})
    a_id, b_id = (uuid.UUID(x) for x in pair_key(*pair))
    existing = db.session.scalar(select(DuplicateDecision).where(
        DuplicateDecision.kind == kind, DuplicateDecision.a_id == a_id, DuplicateDecision.b_id == b_id))
    if existing is not None:
        return existing
    decision = DuplicateDecision(id=new_id(), kind=kind, a_id=a_id, b_id=b_id, decision="keep_separate",
                                 decided_by_id=request.actor.id, decided_at=request.now())
    db.session.add(decision)
    db.session.flush()
    return decision


@transaction
def undo_keep_separate(request: ChangeRequest, decision_id) -> None:
    """Forget a "keep separate" decision: the pair is proposed again (if it still looks alike)."""
    try:
        key = decision_id if isinstance(decision_id, uuid.UUID) else uuid.UUID(str(decision_id))
    except ValueError:
        raise NotFoundError({"id": [NO_DECISION]}) from None
    decision = db.session.get(DuplicateDecision, key)
    if decision is None:
        raise NotFoundError({"id": [NO_DECISION]})
    model = KINDS[decision.kind]
    if len(db.session.scalars(select(model.id).where(model.id.in_([decision.a_id, decision.b_id]))).all()) != 2:
        raise NotFoundError({"id": [NO_DECISION]})
    db.session.delete(decision)
    db.session.flush()


def install() -> None:
    """Keep the similar-name pairs of accounts (idempotent, once per process)."""
    if not event.contains(Session, "after_flush", _similar_names):
        event.listen(Session, "after_flush", _similar_names)


def _similar_names(session: Session, _flush_context) -> None:
    """After a flush that created an account, changed its name or merged it: its similar-name pairs
    again (one probe of the name-key index), in the same transaction."""
    changed = [obj for obj in list(session.new) + list(session.dirty) if isinstance(obj, Account)
               and (obj in session.new or inspect(obj).attrs.name_key.history.has_changes()
                    or inspect(obj).attrs.merged_into_id.history.has_changes())]
    if not changed:
        return
    from app.queries.duplicates import similar_name_ids

    connection = session.connection()
    for account in changed:
        connection.execute(delete(SimilarName).where(or_(SimilarName.a_id == account.id,
                                                         SimilarName.b_id == account.id)))
        if not account.name_key or account.merged_into_id is not None:
            continue
        rows = [dict(zip(("a_id", "b_id"), sorted((account.id, other), key=str)))
                for other in similar_name_ids(connection, account.id, account.name_key)]
        if rows:
            connection.execute(insert(SimilarName), rows)
