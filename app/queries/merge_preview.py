"""Reads of the duplicates pages beside app.queries.duplicates: what a merge would move, and the
"keep separate" decisions a person may undo. Scoped like every read (app.scope): records the viewer
cannot see, and merged ones, are not counted or listed."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Contact, InboundThread, Opportunity, Project
from app.models.duplicate import DuplicateDecision

ACCOUNT_CHILDREN = (("contacts", Contact), ("opportunities", Opportunity), ("projects", Project),
                    ("threads", InboundThread))


def account_children(ids) -> dict:
    """For each account id: how many contacts, deals, projects and conversations it has (what a
    merge moves to the survivor). One grouped query per kind."""
    ids = list(ids)
    counts = {key: {name: 0 for name, _model in ACCOUNT_CHILDREN} for key in ids}
    if not ids:
        return counts
    for name, model in ACCOUNT_CHILDREN:
        rows = db.session.execute(select(model.account_id, func.count()).where(model.account_id.in_(ids))
                                  .group_by(model.account_id)).all()
        for key, count in rows:
            counts[key][name] = count
    return counts


def contact_children(ids) -> dict:
    """For each contact id: how many conversations name it (what a merge moves to the survivor)."""
    ids = list(ids)
    counts = {key: {"threads": 0} for key in ids}
    if ids:
        rows = db.session.execute(select(InboundThread.contact_id, func.count())
                                  .where(InboundThread.contact_id.in_(ids)).group_by(InboundThread.contact_id)).all()
        for key, count in rows:
            counts[key]["threads"] = count
    return counts


@dataclass
class KeptSeparate:
    decision: DuplicateDecision
    a: object
    b: object


def kept_separate(kind: str, limit: int = 50) -> list[KeptSeparate]:
    """The newest "keep separate" decisions of this kind whose two records the viewer sees."""
    model = Contact if kind == "contact" else Account
    decisions = db.session.scalars(select(DuplicateDecision).where(DuplicateDecision.kind == kind)
                                   .order_by(DuplicateDecision.decided_at.desc()).limit(limit)).all()
    keys = {d.a_id for d in decisions} | {d.b_id for d in decisions}
    found = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(keys)))} if keys else {}
    return [KeptSeparate(d, found[d.a_id], found[d.b_id]) for d in decisions if d.a_id in found and d.b_id in found]


def merged_account_names(account_id) -> dict:
    """The names of the accounts merged into this one (hidden by the read scope), so its history
    names them instead of "—"."""
    from app import scope
    from app.queries.duplicates import merged_ids

    ids = merged_ids(account_id)
    if not ids:
        return {}
    rows = db.session.execute(select(Account.id, Account.name).where(Account.id.in_(ids))
                              .execution_options(**{scope.UNSCOPED: True})).all()
    return {row.id: row.name for row in rows}
