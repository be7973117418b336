"""Triage actions on an inbound thread: each one transaction, idempotent, recorded with its actor.

Safe by default: the only opportunity triage creates is a *proposed* one, which waits on the
board until a person accepts it; nothing is sent and no deal moves.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.domain.accounts import is_valid_domain, is_valid_email, normalise_domain, normalise_email
from app.domain.errors import N_, NotFoundError, RuleViolation
from app.extensions import db
from app.inbound.matching import email_domain, similarity
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent, Opportunity
from app.models.types import utcnow

from .context import current_actor_id


def get_thread(thread_id) -> InboundThread:
    thread = db.session.get(InboundThread, thread_id)
    if thread is None:
        raise NotFoundError({"id": [N_("No such inbound thread.")]})
    return thread


def _record(thread: InboundThread, action: str, before: dict, **details) -> None:
    db.session.add(InboundThreadEvent(thread_id=thread.id, action=action, actor_user_id=current_actor_id(),
                                      details={"before": before, **{k: str(v) if v is not None else None
                                                                     for k, v in details.items()}}))


def _state(thread: InboundThread) -> dict:
    return {"status": thread.status, "account_id": str(thread.account_id) if thread.account_id else None,
            "contact_id": str(thread.contact_id) if thread.contact_id else None,
            "opportunity_id": str(thread.opportunity_id) if thread.opportunity_id else None}


def assign_thread(thread_id, account_id) -> bool:
    """Attach the thread to an account (again: nothing happens). Returns whether anything changed."""
    thread = get_thread(thread_id)
    account = db.session.get(Account, account_id) if account_id else None
    if account is None:
        raise RuleViolation({"account_id": [N_("No such account.")]})
    if thread.account_id == account.id and thread.status == "assigned":
        return False
    before = _state(thread)
    if thread.account_id != account.id:
        thread.contact_id = None
    thread.account_id, thread.status = account.id, "assigned"
    thread.assigned_by_user_id, thread.assigned_at = current_actor_id(), utcnow()
    _record(thread, "assigned", before, account_id=account.id)
    db.session.flush()
    _touch(account, thread)
    return True


def _touch(account: Account, thread: InboundThread) -> None:
    newest = db.session.scalar(select(func.max(InboundMessage.sent_at)).where(
        InboundMessage.thread_id == thread.id, InboundMessage.private.is_(False)))
    if newest and (account.last_touch_at is None or account.last_touch_at < newest):
        account.last_touch_at = newest


def sender_of(thread: InboundThread) -> dict:
    """The client behind a thread, from its latest incoming message (to prefill forms)."""
    message = db.session.scalars(select(InboundMessage).where(
        InboundMessage.thread_id == thread.id, InboundMessage.direction == "incoming")
        .order_by(InboundMessage.sent_at.desc()).limit(1)).first()
    if message is None:
        return {}
    raw = message.raw or {}
    sender = raw.get("sender") if isinstance(raw.get("sender"), dict) else {}
    company = (sender.get("additional_attributes") or {}).get("company_name") if sender else None
    return {"name": message.sender_name, "email": message.sender_email, "phone": message.sender_phone,
            "telegram_handle": message.sender_handle if message.source == "telegram" else None,
            "company": company, "domain": email_domain(message.sender_email)}


def create_account_from_sender(thread_id, account_name: str, domain: str | None, contact_name: str | None,
                               email: str | None, phone: str | None, telegram_handle: str | None) -> Account:
    """Create the account (and its contact) from the sender, then assign the thread to it."""
    thread = get_thread(thread_id)
    if thread.account_id is not None:
        return db.session.get(Account, thread.account_id)  # done already: nothing twice
    errors: dict[str, list[str]] = {}
    if not (account_name or "").strip():
        errors["account_name"] = [N_("An account needs a name.")]
    domain = normalise_domain(domain)
    if domain and not is_valid_domain(domain):
        errors["domain"] = [N_("Not a valid domain, e.g. studio.ru")]
    email = normalise_email(email)
    if email and not is_valid_email(email):
        errors["email"] = [N_("Not a valid e-mail address.")]
    if errors:
        raise RuleViolation(errors)
    account = Account(name=account_name.strip(), domain=domain, owner_user_id=current_actor_id())
    db.session.add(account)
    contact = None
    if (contact_name or "").strip():
        contact = Contact(account=account, name=contact_name.strip(), email=email, phone=phone,
                          telegram_handle=telegram_handle)
        db.session.add(contact)
    db.session.flush()
    before = _state(thread)
    thread.account_id, thread.contact_id, thread.status = account.id, contact.id if contact else None, "assigned"
    thread.assigned_by_user_id, thread.assigned_at = current_actor_id(), utcnow()
    _record(thread, "account_created", before, account_id=account.id, contact_id=contact.id if contact else None)
    db.session.flush()
    _touch(account, thread)
    return account


create_account_and_contact_from_sender = create_account_from_sender


def propose_opportunity(thread_id, name: str | None = None) -> Opportunity:
    """A *proposed* opportunity on the thread's account (once: again returns the same one)."""
    thread = get_thread(thread_id)
    if thread.opportunity_id is not None:
        return db.session.get(Opportunity, thread.opportunity_id)
    if thread.account_id is None:
        raise RuleViolation({"account_id": [N_("Assign the thread to an account first.")]})
    opp = Opportunity(account_id=thread.account_id, name=(name or "").strip() or thread.title or "Inbound request",
                      proposed=True, source=thread.source, owner_user_id=current_actor_id())
    db.session.add(opp)
    db.session.flush()
    before = _state(thread)
    thread.opportunity_id = opp.id
    _record(thread, "opportunity_proposed", before, opportunity_id=opp.id)
    db.session.flush()
    return opp


def ignore_thread(thread_id) -> bool:
    """Take the thread out of the queue (again: nothing happens)."""
    thread = get_thread(thread_id)
    if thread.status == "ignored":
        return False
    before = _state(thread)
    thread.status = "ignored"
    _record(thread, "ignored", before)
    db.session.flush()
    return True


def undo_last_action(thread_id) -> str | None:
    """Put the thread back as it was before its last person's action; a proposed opportunity that
    action created is withdrawn (closed as lost, audited) since deals are never deleted."""
    thread = get_thread(thread_id)
    last = db.session.scalars(select(InboundThreadEvent).where(
        InboundThreadEvent.thread_id == thread.id, InboundThreadEvent.action.notin_(["undone", "auto_attached"]))
        .order_by(InboundThreadEvent.created_at.desc()).limit(1)).first()
    if last is None or _already_undone(thread, last):
        return None
    before = (last.details or {}).get("before") or {}
    if last.action == "opportunity_proposed" and thread.opportunity_id:
        _withdraw(thread.opportunity_id)
    current = _state(thread)
    thread.status = before.get("status") or "unassigned"
    thread.account_id = before.get("account_id")
    thread.contact_id = before.get("contact_id")
    thread.opportunity_id = before.get("opportunity_id")
    _record(thread, "undone", current, undid=last.id)
    db.session.flush()
    return last.action


def _already_undone(thread, last) -> bool:
    return db.session.scalar(select(func.count()).select_from(InboundThreadEvent).where(
        InboundThreadEvent.thread_id == thread.id, InboundThreadEvent.action == "undone",
        InboundThreadEvent.created_at >= last.created_at)) > 0


def _withdraw(opp_id) -> None:
    from .context import change_context

    opp = db.session.get(Opportunity, opp_id)
    if opp is None or not opp.proposed or opp.status != "open":
        return
    with change_context(actor_id=current_actor_id(),
                        evidence_refs=[{"type": "note", "text": "Withdrawn in inbound triage (undo)"}]):
        opp.stage, opp.lost_reason = "lost", "Withdrawn in inbound triage"
        db.session.flush()


def suggested_accounts(threads: list[InboundThread], senders: dict, limit: int = 3) -> dict:
    """For each thread: accounts whose domain is the sender's, then names alike (one query)."""
    domains = {s.get("domain") for s in senders.values() if s.get("domain")}
    words = set()
    for thread in threads:
        text = " ".join(filter(None, [thread.title, (senders.get(thread.id) or {}).get("company")]))
        words |= {w.lower() for w in text.replace("·", " ").split() if len(w) >= 4}
    conditions = [func.lower(Account.domain).in_(domains)] if domains else []
    conditions += [func.lower(Account.name).like(f"%{w}%") for w in list(words)[:30]]
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
