"""Reads of the inbound side: the triage queue with its previews and suggestions, and the
client messages of an account (the evidence picker)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.inbound.matching import email_domain, similarity
from app.models import Account, InboundMessage, InboundThread
from app.queries.conditions import contains


def messages_for_account(account_id, limit: int = 20) -> list[InboundMessage]:
    """The account's latest client messages (to pick as evidence)."""
    return db.session.scalars(select(InboundMessage).join(InboundThread, InboundThread.id == InboundMessage.thread_id)
                              .where(InboundThread.account_id == account_id, InboundMessage.private.is_(False))
                              .order_by(InboundMessage.sent_at.desc()).limit(limit)).all()



def suggested_accounts(threads: list[InboundThread], senders: dict, limit: int = 3) -> dict:
    """For each thread: accounts whose domain is the sender's, then names alike (one query)."""
    domains = {s.get("domain") for s in senders.values() if s.get("domain")}
    words = set()
    for thread in threads:
        text = " ".join(filter(None, [thread.title, (senders.get(thread.id) or {}).get("company")]))
        words |= {w.lower() for w in text.replace("·", " ").split() if len(w) >= 4}
    conditions = [func.lower(Account.domain).in_(domains)] if domains else []
    conditions += [contains(w, Account.name) for w in list(words)[:30]]
    candidates = db.session.scalars(select(Account).where(or_(*conditions)).limit(200)).all() if conditions else []
    result = {}
    for thread in threads:
        sender = senders.get(thread.id) or {}
        label = sender.get("company") or thread.title or ""
        scored = [(2.0 if a.domain and a.domain == sender.get("domain") else similarity(label, a.name), a)
                  for a in candidates]
        result[thread.id] = [a for score, a in sorted(scored, key=lambda x: -x[0]) if score >= 0.5][:limit]
    return result


QUEUE_PAGE = 20


def _latest_per_thread(thread_ids, limit: int, *where):
    ranked = (select(InboundMessage.id, func.row_number().over(
        partition_by=InboundMessage.thread_id, order_by=InboundMessage.sent_at.desc()).label("rank"))
        .where(InboundMessage.thread_id.in_(thread_ids), *where).subquery())
    return db.session.scalars(select(InboundMessage).join(ranked, ranked.c.id == InboundMessage.id)
                              .where(ranked.c.rank <= limit).order_by(InboundMessage.sent_at.desc())).all()


def queue_page(source: str | None, page: int = 0, status: str = "unassigned") -> dict:
    """Threads waiting for a person (newest first), their last messages, senders and suggestions."""
    where = [InboundThread.status == status]
    if source:
        where.append(InboundThread.source == source)
    total = db.session.scalar(select(func.count()).select_from(InboundThread).where(*where))
    threads = db.session.scalars(select(InboundThread).where(*where)
                                 .order_by(InboundThread.last_message_at.desc().nulls_last(), InboundThread.id)
                                 .offset(page * QUEUE_PAGE).limit(QUEUE_PAGE)).all()
    ids = [t.id for t in threads]
    previews: dict = {t.id: [] for t in threads}
    senders: dict = {}
    if ids:
        for message in _latest_per_thread(ids, 3):
            previews[message.thread_id].append(message)
        for message in _latest_per_thread(ids, 1, InboundMessage.direction == "incoming"):
            raw = message.raw or {}
            sender = raw.get("sender") if isinstance(raw.get("sender"), dict) else {}
            senders[message.thread_id] = {
                "name": message.sender_name, "email": message.sender_email, "phone": message.sender_phone,
                "telegram_handle": message.sender_handle if message.source == "telegram" else None,
                "company": (sender.get("additional_attributes") or {}).get("company_name"),
                "domain": email_domain(message.sender_email)}
    return {"threads": threads, "total": total, "page": page, "size": QUEUE_PAGE, "previews": previews,
            "senders": senders, "suggestions": suggested_accounts(threads, senders) if threads else {}}


def messages_by_id(ids) -> dict[str, InboundMessage]:
    """Client messages by id (evidence that names them), with their threads, in one query; ids
    that are not UUIDs or not visible to the viewer are left out."""
    keys = set()
    for value in ids:
        try:
            keys.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not keys:
        return {}
    return {str(m.id): m for m in db.session.scalars(
        select(InboundMessage).where(InboundMessage.id.in_(keys)).options(joinedload(InboundMessage.thread)))}
