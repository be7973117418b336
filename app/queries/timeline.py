"""One paged timeline over several kinds of dated rows (deal events, record changes, notes,
client messages): each page is one UNION query for the ids, then one query per kind present."""
from __future__ import annotations

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuditEvent, InboundMessage, OpportunityEvent, ProjectNote, User

# kind -> (model, its time column, what each entry shows with it)
KINDS = {
    "event": (OpportunityEvent, OpportunityEvent.created_at,
              (joinedload(OpportunityEvent.opportunity), joinedload(OpportunityEvent.actor))),
    "record": (AuditEvent, AuditEvent.created_at, (joinedload(AuditEvent.actor),)),
    "note": (ProjectNote, ProjectNote.created_at, ()),
    "message": (InboundMessage, InboundMessage.sent_at, (joinedload(InboundMessage.thread),)),
}


def source(kind: str, *where, join=None):
    """The (kind, id, at) rows of one kind that belong on a timeline."""
    model, at, _ = KINDS[kind]
    query = select(literal(kind).label("kind"), model.id.label("id"), at.label("at"))
    if join is not None:
        query = query.join(*join)
    return query.where(*where)


def page(sources: list, number: int, size: int) -> tuple[int, list[dict]]:
    """(total, entries newest first) of one page: {"kind", "at", "item"} each."""
    every = union_all(*sources).subquery()
    total = db.session.scalar(select(func.count()).select_from(every))
    rows = db.session.execute(select(every.c.kind, every.c.id).order_by(every.c.at.desc(), every.c.id)
                              .offset(number * size).limit(size)).all()
    wanted: dict[str, list] = {}
    for row in rows:
        wanted.setdefault(row.kind, []).append(row.id)
    found: dict = {}
    for kind, ids in wanted.items():
        model, at, options = KINDS[kind]
        for item in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options)):
            found[item.id] = {"kind": kind, "at": getattr(item, at.key), "item": item}
    return total, [found[r.id] for r in rows if r.id in found]


USER_KEYS = ("user_id", "pm_user_id", "owner_user_id")


def user_names(items: list[dict]) -> dict[int, str]:
    """Names of the users the history rows of a timeline page name by id (a member, a PM, an
    owner): one statement, none when none is named."""
    ids = set()
    for entry in items:
        if entry["kind"] in ("record", "event"):
            row = entry["item"]
            for values in (row.old_value or {}, row.new_value or {}):
                ids.update(values[key] for key in USER_KEYS if isinstance(values.get(key), int))
    if not ids:
        return {}
    names = func.trim(func.coalesce(User.first_name, "") + literal(" ") + func.coalesce(User.last_name, ""))
    return dict(db.session.execute(select(User.id, names).where(User.id.in_(ids))).all())
