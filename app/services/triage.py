"""Triage actions on an inbound thread: each one transaction, idempotent, recorded with its actor.

Safe by default: the only opportunity triage creates is a *proposed* one, which waits on the
board until a person accepts it; nothing is sent and no deal moves.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app.domain.accounts import domain_error, email_error, normalise_domain, normalise_email
from app.domain.errors import N_, NotFoundError, RuleViolation
from app.extensions import db
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent, Opportunity, Project
from app.models.types import utcnow

from .context import ChangeRequest
from .opportunities import parse_uuid, withdraw_proposal
from .transaction import transaction


def get_thread(thread_id) -> InboundThread:
    key = parse_uuid(thread_id)
    thread = db.session.get(InboundThread, key) if key else None
    if thread is None:
        raise NotFoundError({"id": [N_("No such inbound thread.")]})
    return thread


def _record(request: ChangeRequest, thread: InboundThread, action: str, before: dict, **details) -> None:
    db.session.add(InboundThreadEvent(thread_id=thread.id, action=action, actor_user_id=request.actor.id,
                                      details={"before": before, **{k: str(v) if v is not None else None
                                                                     for k, v in details.items()}}))


def _state(thread: InboundThread) -> dict:
    return {"status": thread.status, "account_id": str(thread.account_id) if thread.account_id else None,
            "project_id": str(thread.project_id) if thread.project_id else None,
            "contact_id": str(thread.contact_id) if thread.contact_id else None,
            "opportunity_id": str(thread.opportunity_id) if thread.opportunity_id else None}


@transaction
def assign_thread(request: ChangeRequest, thread_id, account_id, project_id=None) -> bool:
    """Attach the thread to an account, and optionally to one of its projects (then only the
    project's members see it); again: nothing happens. Returns whether anything changed."""
    thread = get_thread(thread_id)
    key = parse_uuid(account_id)
    account = db.session.get(Account, key) if key else None
    if account is None:
        raise RuleViolation({"account_id": [N_("No such account.")]})
    project = _project_of(account, project_id)
    project_key = project.id if project else None
    if thread.account_id == account.id and thread.status == "assigned" and thread.project_id == project_key:
        return False
    before = _state(thread)
    if thread.account_id != account.id:
        thread.contact_id = None
    thread.account_id, thread.status, thread.project_id = account.id, "assigned", project_key
    thread.assigned_by_user_id, thread.assigned_at = request.actor.id, utcnow()
    _record(request, thread, "assigned", before, account_id=account.id)
    db.session.flush()
    _touch(account, thread)
    return True


def _project_of(account: Account, project_id):
    """The account's project a thread goes to (None for none); one the actor cannot see is no project."""
    if project_id in (None, ""):
        return None
    key = parse_uuid(project_id)
    project = db.session.get(Project, key) if key else None
    if project is None or project.account_id != account.id:
        raise RuleViolation({"project_id": [N_("No such project on this account.")]})
    return project


def _touch(account: Account, thread: InboundThread) -> None:
    newest = db.session.scalar(select(func.max(InboundMessage.sent_at)).where(
        InboundMessage.thread_id == thread.id, InboundMessage.private.is_(False)))
    if newest and (account.last_touch_at is None or account.last_touch_at < newest):
        account.last_touch_at = newest


@transaction
def create_account_from_sender(request: ChangeRequest, thread_id) -> Account:
    """Create the account (and its contact) from the sender (request.values: account_name, domain,
    contact_name, email, phone, telegram_handle), then assign the thread to it."""
    values = request.values
    account_name, domain, contact_name = values.get("account_name"), values.get("domain"), values.get("contact_name")
    email, phone, telegram_handle = values.get("email"), values.get("phone"), values.get("telegram_handle")
    thread = get_thread(thread_id)
    if thread.account_id is not None:
        return db.session.get(Account, thread.account_id)  # done already: nothing twice
    errors: dict[str, list[str]] = {}
    if not (account_name or "").strip():
        errors["account_name"] = [N_("An account needs a name.")]
    for name, error in (("domain", domain_error(domain)), ("email", email_error(email))):
        if error:
            errors[name] = [error]
    domain, email = normalise_domain(domain), normalise_email(email)
    if errors:
        raise RuleViolation(errors)
    account = Account(name=account_name.strip(), domain=domain, owner_user_id=request.actor.id)
    db.session.add(account)
    contact = None
    if (contact_name or "").strip():
        contact = Contact(account=account, name=contact_name.strip(), email=email, phone=phone,
                          telegram_handle=telegram_handle)
        db.session.add(contact)
    db.session.flush()
    before = _state(thread)
    thread.account_id, thread.contact_id, thread.status = account.id, contact.id if contact else None, "assigned"
    thread.assigned_by_user_id, thread.assigned_at = request.actor.id, utcnow()
    _record(request, thread, "account_created", before, account_id=account.id, contact_id=contact.id if contact else None)
    db.session.flush()
    _touch(account, thread)
    return account


@transaction
def propose_opportunity(request: ChangeRequest, thread_id, name: str | None = None) -> Opportunity:
    """A *proposed* opportunity on the thread's account (once: again returns the same one)."""
    thread = get_thread(thread_id)
    if thread.opportunity_id is not None:
        return db.session.get(Opportunity, thread.opportunity_id)
    if thread.account_id is None:
        raise RuleViolation({"account_id": [N_("Assign the thread to an account first.")]})
    opp = Opportunity(account_id=thread.account_id, project_id=thread.project_id,
                      name=(name or "").strip() or thread.title or "Inbound request",
                      proposed=True, source=thread.source, owner_user_id=request.actor.id)
    db.session.add(opp)
    db.session.flush()
    before = _state(thread)
    thread.opportunity_id = opp.id
    _record(request, thread, "opportunity_proposed", before, opportunity_id=opp.id)
    db.session.flush()
    return opp


@transaction
def ignore_thread(request: ChangeRequest, thread_id) -> bool:
    """Take the thread out of the queue (again: nothing happens)."""
    thread = get_thread(thread_id)
    if thread.status == "ignored":
        return False
    before = _state(thread)
    thread.status = "ignored"
    _record(request, thread, "ignored", before)
    db.session.flush()
    return True


@transaction
def undo_last_action(request: ChangeRequest, thread_id) -> str | None:
    """Put the thread back as it was before its last person's action; a proposed opportunity that
    action created is withdrawn (kept, audited as `withdrawn`, counted nowhere)."""
    thread = get_thread(thread_id)
    last = db.session.scalars(select(InboundThreadEvent).where(
        InboundThreadEvent.thread_id == thread.id, InboundThreadEvent.action.notin_(["undone", "auto_attached"]))
        .order_by(InboundThreadEvent.created_at.desc()).limit(1)).first()
    if last is None or _already_undone(thread, last):
        return None
    before = (last.details or {}).get("before") or {}
    if last.action == "opportunity_proposed" and thread.opportunity_id:
        _withdraw(request, thread.opportunity_id)
    current = _state(thread)
    thread.status = before.get("status") or "unassigned"
    thread.account_id = before.get("account_id")
    thread.contact_id = before.get("contact_id")
    thread.project_id = before.get("project_id")
    thread.opportunity_id = before.get("opportunity_id")
    _record(request, thread, "undone", current, undid=last.id)
    db.session.flush()
    return last.action


def _already_undone(thread, last) -> bool:
    return db.session.scalar(select(func.count()).select_from(InboundThreadEvent).where(
        InboundThreadEvent.thread_id == thread.id, InboundThreadEvent.action == "undone",
        InboundThreadEvent.created_at >= last.created_at)) > 0


def _withdraw(request: ChangeRequest, opp_id) -> None:
    if db.session.get(Opportunity, opp_id) is not None:
        withdraw_proposal(request, opp_id)
