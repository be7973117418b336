"""Storing inbound messages: idempotent (unique keys + insert on conflict), edits update in place,
threads attach to an account only when exactly one matches. Nothing is ever sent, no deal moves.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from app.extensions import db, upsert
from app.inbound.matching import email_domain, normalise_email, normalise_handle, normalise_phone
from app.inbound.records import MessageRecord
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent
from app.models.types import new_id, utcnow
from app import scope
from .context import ChangeRequest, current_request
from .transaction import transaction

log = logging.getLogger(__name__)
BATCH = 1000


@dataclass
class IngestResult:
    new: int = 0
    known: int = 0
    skipped: int = 0

    def add(self, other: "IngestResult") -> None:
        self.new += other.new
        self.known += other.known
        self.skipped += other.skipped


@transaction
def ingest(request: ChangeRequest, records: list[MessageRecord]) -> IngestResult:
    """Store a batch of messages as one unit of work (request.actor: the system, or the user an
    import runs as). Safe to repeat and to run concurrently: one row per message, the newest edit
    wins, counters recomputed from the rows. Ingestion sees every thread (the system's read scope):
    a message must find its thread whoever may read it later."""
    result = IngestResult()
    with scope.scoped(scope.SYSTEM):
        for start in range(0, len(records), BATCH):
            result.add(_ingest_batch(records[start:start + BATCH]))
    return result


def _ingest_batch(records: list[MessageRecord]) -> IngestResult:
    latest: dict[tuple[str, str], MessageRecord] = {}
    for record in records:  # within one batch the newest edit of a message wins
        key = (record.source, record.external_key)
        if key not in latest or _newer(record, latest[key]):
            latest[key] = record
    if not latest:
        return IngestResult()
    thread_ids = _upsert_threads({(r.source, r.thread.external_key): r.thread for r in latest.values()})
    # rows in key order: concurrent overlapping batches take their unique-key locks in one order
    rows = [_row(r, thread_ids[(r.source, r.thread.external_key)]) for _, r in sorted(latest.items())]
    # New rows: insert, skip what exists. RETURNING names exactly the rows this transaction added
    # (a concurrent twin waits on the unique key and then skips), so counters can be incremented.
    # executemany of one cached statement ("insertmanyvalues"), not one huge compiled VALUES list
    table = InboundMessage.__table__
    inserted = db.session.execute(
        upsert(table).on_conflict_do_nothing(index_elements=["source", "external_key"])
        .returning(table.c.source, table.c.external_key, table.c.thread_id, table.c.sent_at, table.c.private),
        rows).all()
    added = {(i.source, i.external_key) for i in inserted}
    # Edits of rows that were already there: the newest edit wins, an older one changes nothing.
    edits = [row for row in rows if row["edited_at"] is not None and (row["source"], row["external_key"]) not in added]
    if edits:
        stmt = upsert(table)
        excluded = stmt.excluded
        newer_edit = or_(table.c.edited_at.is_(None), excluded.edited_at > table.c.edited_at)
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=["source", "external_key"],
            set_={"text": excluded.text, "edited_at": excluded.edited_at, "raw": excluded.raw}, where=newer_edit),
            edits)
    _count_threads(inserted)
    attached = _attach_threads(set(thread_ids.values()))
    _touch_accounts(inserted, attached)
    return IngestResult(new=len(added), known=len(records) - len(added))


def _newer(a: MessageRecord, b: MessageRecord) -> bool:
    return (a.edited_at or a.sent_at) > (b.edited_at or b.sent_at)


def _row(r: MessageRecord, thread_id) -> dict:
    return {"id": new_id(), "thread_id": thread_id, "source": r.source, "external_key": r.external_key,
            "direction": r.direction, "private": r.private, "sender_name": _cut(r.sender_name, 255),
            "sender_handle": _cut(normalise_handle(r.sender_handle) if r.sender_handle else None, 255),
            "sender_email": _cut(normalise_email(r.sender_email), 320), "sender_phone": _cut(r.sender_phone, 64),
            "text": r.text, "sent_at": r.sent_at, "edited_at": r.edited_at, "raw": r.raw, "created_at": utcnow()}


def _cut(value, size):
    return value[:size] if isinstance(value, str) else value


def _upsert_threads(threads: dict) -> dict:
    now = utcnow()
    rows = [{"id": new_id(), "source": t.source, "external_key": t.external_key, "title": _cut(t.title, 255),
             "status": "unassigned", "message_count": 0, "created_at": now, "updated_at": now}
            for _, t in sorted(threads.items())]
    db.session.execute(upsert(InboundThread).values(rows).on_conflict_do_nothing(index_elements=["source", "external_key"]))
    found = db.session.execute(select(InboundThread.source, InboundThread.external_key, InboundThread.id).where(
        or_(*[and_(InboundThread.source == s, InboundThread.external_key == k) for s, k in threads])))
    return {(s, k): i for s, k, i in found}


def _count_threads(inserted) -> None:
    """Counters and first/last times grow by the rows this batch added (one UPDATE per thread,
    relative to the stored values, so concurrent batches add up instead of overwriting)."""
    stats: dict = {}
    for row in inserted:
        n, first, last = stats.get(row.thread_id, (0, row.sent_at, row.sent_at))
        stats[row.thread_id] = (n + 1, min(first, row.sent_at), max(last, row.sent_at))
    if not stats:
        return
    table = InboundThread.__table__
    first, last = bindparam("first_at", type_=table.c.first_message_at.type), \
        bindparam("last_at", type_=table.c.last_message_at.type)
    db.session.execute(
        table.update().where(table.c.id == bindparam("thread_id")).values(
            message_count=table.c.message_count + bindparam("n"),
            first_message_at=case((or_(table.c.first_message_at.is_(None), table.c.first_message_at > first), first),
                                  else_=table.c.first_message_at),
            last_message_at=case((or_(table.c.last_message_at.is_(None), table.c.last_message_at < last), last),
                                 else_=table.c.last_message_at),
            updated_at=utcnow()),
        [{"thread_id": tid, "n": n, "first_at": f, "last_at": la}
         for tid, (n, f, la) in sorted(stats.items(), key=lambda item: str(item[0]))])


def _attach_threads(thread_ids: set) -> set:
    """Attach unassigned threads that match exactly one contact, else exactly one account by domain."""
    threads = db.session.scalars(select(InboundThread).where(
        InboundThread.id.in_(thread_ids), InboundThread.status == "unassigned", InboundThread.account_id.is_(None))).all()
    if not threads:
        return set()
    senders = db.session.execute(select(InboundMessage.thread_id, InboundMessage.sender_email, InboundMessage.sender_phone,
                                        InboundMessage.sender_handle)
                                 .where(InboundMessage.thread_id.in_([t.id for t in threads]),
                                        InboundMessage.direction == "incoming").distinct()).all()
    attached = set()
    for thread in threads:
        mine = [s for s in senders if s.thread_id == thread.id]
        match = match_sender({s.sender_email for s in mine if s.sender_email},
                             {normalise_phone(s.sender_phone) for s in mine if s.sender_phone} - {None},
                             {s.sender_handle for s in mine if s.sender_handle})
        if match:
            account_id, contact_id, reason = match
            thread.account_id, thread.contact_id, thread.status = account_id, contact_id, "assigned"
            thread.assigned_at = utcnow()
            db.session.add(InboundThreadEvent(thread_id=thread.id, action="auto_attached",
                                              actor_user_id=current_request().actor.id,
                                              details={"reason": reason, "account_id": str(account_id)}))
            attached.add(thread.id)
    db.session.flush()
    return attached


def match_sender(emails: set, phones: set, handles: set):
    """(account_id, contact_id, reason) when exactly one contact — or else exactly one account by
    the e-mail's company domain (free-mail ignored) — matches; None when none or several do."""
    conditions = []
    if emails:
        conditions.append(func.lower(Contact.email).in_([e.lower() for e in emails]))
    if handles:
        conditions.append(func.lower(Contact.telegram_handle).in_([h.lower() for h in handles]))
    if phones:
        conditions.append(Contact.phone.in_(phones))
    contacts = db.session.execute(select(Contact.id, Contact.account_id).where(or_(*conditions))).all() \
        if conditions else []
    unique = {c.id: c for c in contacts}
    if len(unique) == 1:
        contact = next(iter(unique.values()))
        return contact.account_id, contact.id, "contact"
    if unique:
        return None
    domains = {d for d in (email_domain(e) for e in emails) if d}
    if not domains:
        return None
    accounts = db.session.scalars(select(Account.id).where(func.lower(Account.domain).in_(domains))).all()
    return (accounts[0], None, "domain") if len(accounts) == 1 else None


def _touch_accounts(inserted, attached: set) -> None:
    """A client message is a touch (private notes are not): the account's last touch moves to the
    newest new message of its threads, and to the newest of a whole thread when it was just attached."""
    newest: dict = {}
    for row in inserted:
        if not row.private and row.thread_id not in attached:
            newest[row.thread_id] = max(newest.get(row.thread_id, row.sent_at), row.sent_at)
    parts = []
    if newest:
        parts.append(select(InboundThread.account_id, func.max(InboundMessage.sent_at).label("at"))
                     .join(InboundMessage, InboundMessage.thread_id == InboundThread.id)
                     .where(InboundThread.id.in_(newest), InboundThread.account_id.isnot(None),
                            InboundMessage.private.is_(False),
                            InboundMessage.sent_at >= min(newest.values()))
                     .group_by(InboundThread.account_id))
    if attached:
        parts.append(select(InboundThread.account_id, func.max(InboundMessage.sent_at).label("at"))
                     .join(InboundMessage, InboundMessage.thread_id == InboundThread.id)
                     .where(InboundThread.id.in_(attached), InboundMessage.private.is_(False))
                     .group_by(InboundThread.account_id))
    for part in parts:
        touch = part.subquery()
        db.session.execute(update(Account).where(Account.id == touch.c.account_id).values(
            last_touch_at=case((or_(Account.last_touch_at.is_(None), Account.last_touch_at < touch.c.at), touch.c.at),
                               else_=Account.last_touch_at)))
