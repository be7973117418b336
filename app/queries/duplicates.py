"""Proposed duplicates: pairs of accounts (and of contacts within an account) that look like one
company (person), with their reasons and a score. Reads only: nothing is merged or decided here.

Each list is ONE statement: a UNION of indexed self-joins (one per reason), grouped by pair with
the reasons aggregated, pairs kept separate and merged records left out, newest first, paged, with
the total (a window count) on every row. Similar names: pg_trgm's `%` over the stored name key
(GIN index) on PostgreSQL; on SQLite the fallback is "the same first word of at least three
letters" (app.domain.duplicates.first_word), which needs no extension.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased, join

from app import scope
from app.domain.accounts import normalise_email, normalise_handle, normalise_phone
from app.domain.duplicates import (CONTACT_REASONS, REASONS, SIMILARITY_THRESHOLD, email_domain, first_word,
                                   name_key, ordered, registrable_domain, score)
from app.extensions import db, on_postgres
from app.models import Account, AuditEvent, Contact, DuplicateDecision, SimilarName
from app.models.types import as_utc

UNSCOPED = {scope.UNSCOPED: True}  # the visibility is written into these statements by hand


@dataclass
class AccountPair:
    a: Account
    b: Account
    reasons: list[str]
    score: float
    detected_at: datetime


@dataclass
class ContactPair:
    a: Contact
    b: Contact
    reasons: list[str]
    score: float
    detected_at: datetime


@dataclass
class Candidate:
    account: Account
    reasons: list[str]
    score: float


@dataclass
class ContactCandidate:
    contact: Contact
    reasons: list[str]
    score: float


def _lo(x, y):
    return case((x < y, x), else_=y)


def _hi(x, y):
    return case((x < y, y), else_=x)


def _live_account(alias, view):
    return and_(alias.merged_into_id.is_(None), scope.account_visible(alias.id, view))


def _account_reasons(view):
    """(a_id, b_id, reason) of every proposed account pair, a < b, one SELECT per reason."""
    a, b = aliased(Account), aliased(Account)
    ca, cb = aliased(Contact), aliased(Contact)
    live = lambda alias: _live_account(alias, view)  # noqa: E731
    def pair(reason, x, y, *where, frm):
        return select(_lo(x, y).label("a_id"), _hi(x, y).label("b_id"), literal(reason).label("reason")) \
            .select_from(frm).where(*where)
    by_domain = select(a.id.label("a_id"), b.id.label("b_id"), literal("domain").label("reason")) \
        .join(b, and_(b.domain_key == a.domain_key, a.id < b.id)).where(a.domain_key.isnot(None), live(a), live(b))
    by_name = select(a.id, b.id, literal("name")) \
        .join(b, and_(b.name_key == a.name_key, a.id < b.id)).where(a.name_key.isnot(None), live(a), live(b))
    # similar names: the pairs the flush listener keeps (a trigram probe per account at read time
    # would cost a probe per account; app.services.merge._similar_names)
    by_similar = select(SimilarName.a_id, SimilarName.b_id, literal("similar_name")) \
        .join(a, a.id == SimilarName.a_id).join(b, b.id == SimilarName.b_id).where(live(a), live(b))
    by_phone = pair("contact_phone", ca.account_id, cb.account_id,
                    ca.phone.isnot(None), ca.merged_into_id.is_(None), cb.merged_into_id.is_(None), live(a), live(b),
                    frm=join(ca, cb, and_(cb.phone == ca.phone, ca.account_id < cb.account_id))
                    .join(a, a.id == ca.account_id).join(b, b.id == cb.account_id))
    # a contact's e-mail domain is the other account's domain (contact e-mails are unique, so two
    # accounts never share one address; they share the company's domain)
    by_email = pair("contact_email", ca.account_id, b.id,
                    ca.domain_key.isnot(None), ca.merged_into_id.is_(None), live(a), live(b),
                    frm=join(ca, b, and_(b.domain_key == ca.domain_key, b.id != ca.account_id))
                    .join(a, a.id == ca.account_id))
    by_email_both = pair("contact_email", ca.account_id, cb.account_id,
                         ca.domain_key.isnot(None), ca.merged_into_id.is_(None), cb.merged_into_id.is_(None),
                         live(a), live(b),
                         frm=join(ca, cb, and_(cb.domain_key == ca.domain_key, ca.account_id < cb.account_id))
                         .join(a, a.id == ca.account_id).join(b, b.id == cb.account_id))
    return union_all(by_domain, by_name, by_similar, by_phone, by_email, by_email_both).subquery("reasons")


def _flags(rows, codes):
    return [func.max(case((rows.c.reason == code, 1), else_=0)).label(f"r_{code}") for code in codes]


def _kept_separate(kind, a_col, b_col):
    return select(DuplicateDecision.id).where(DuplicateDecision.kind == kind, DuplicateDecision.a_id == a_col,
                                              DuplicateDecision.b_id == b_col).exists()


def _paged(kind, rows, codes, model, reason, owner_id, page, page_size, extra=()):
    """The one statement over the reason rows: grouped, filtered, newest first, paged, counted."""
    grouped = select(rows.c.a_id, rows.c.b_id, *_flags(rows, codes)) \
        .where(~_kept_separate(kind, rows.c.a_id, rows.c.b_id)).group_by(rows.c.a_id, rows.c.b_id).subquery("pairs")
    a, b = aliased(model), aliased(model)
    detected = _hi(a.created_at, b.created_at)
    query = select(grouped, detected.label("detected_at"), func.count().over().label("total")) \
        .join(a, a.id == grouped.c.a_id).join(b, b.id == grouped.c.b_id).where(*extra)
    if reason in codes:
        query = query.where(grouped.c[f"r_{reason}"] == 1)
    if owner_id is not None and model is Account:
        query = query.where(or_(a.owner_user_id == owner_id, b.owner_user_id == owner_id))
    query = query.order_by(detected.desc(), grouped.c.a_id, grouped.c.b_id) \
        .offset(page * page_size).limit(page_size).execution_options(**UNSCOPED)
    return db.session.execute(query).all()


def _pairs_of(rows, model, codes, make):
    ids = {r.a_id for r in rows} | {r.b_id for r in rows}
    loaded = {m.id: m for m in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    pairs = []
    for row in rows:
        if row.a_id in loaded and row.b_id in loaded:  # the scope saw both
            reasons = ordered([c for c in codes if getattr(row, f"r_{c}")], codes)
            pairs.append(make(loaded[row.a_id], loaded[row.b_id], reasons, score(reasons), as_utc(row.detected_at)))
    return pairs, (rows[0].total if rows else 0)


def account_pairs(reason: str | None = None, owner_id: int | None = None, page: int = 0,
                  page_size: int = 50) -> tuple[list[AccountPair], int]:
    """A page of proposed account pairs (newest first) and how many there are in all."""
    view = scope.current()
    if page_size < 1:
        return [], 0
    if reason is not None and reason not in REASONS:
        return [], 0
    rows = _paged("account", _account_reasons(view), REASONS, Account, reason, owner_id, page, page_size)
    if not rows and page > 0:
        return [], _count_only("account", view, reason, owner_id)
    return _pairs_of(rows, Account, REASONS, AccountPair)


def _count_only(kind, view, reason, owner_id, account_id=None):
    """The total when the page asked for lies beyond the last one."""
    if kind == "account":
        rows = _paged("account", _account_reasons(view), REASONS, Account, reason, owner_id, 0, 1)
    else:
        rows = _paged("contact", _contact_reasons(view, account_id), CONTACT_REASONS, Contact, reason, None, 0, 1)
    return rows[0].total if rows else 0


def _contact_reasons(view, account_id=None):
    """(a_id, b_id, reason) of contact pairs within one account, a < b, one SELECT per reason."""
    a, b = aliased(Contact), aliased(Contact)
    acc = aliased(Account)
    def same(reason, condition, present):
        query = select(a.id.label("a_id"), b.id.label("b_id"), literal(reason).label("reason")) \
            .join(b, and_(b.account_id == a.account_id, a.id < b.id, condition)) \
            .join(acc, acc.id == a.account_id) \
            .where(present, a.merged_into_id.is_(None), b.merged_into_id.is_(None), _live_account(acc, view))
        return query.where(a.account_id == account_id) if account_id is not None else query
    return union_all(
        same("email", func.lower(b.email) == func.lower(a.email), a.email.isnot(None)),
        same("phone", b.phone == a.phone, a.phone.isnot(None)),
        same("telegram", func.lower(b.telegram_handle) == func.lower(a.telegram_handle), a.telegram_handle.isnot(None)),
        same("name", b.name_key == a.name_key, a.name_key.isnot(None)),
    ).subquery("reasons")


def contact_pairs(account_id=None, reason: str | None = None, page: int = 0,
                  page_size: int = 50) -> tuple[list[ContactPair], int]:
    """A page of proposed contact pairs within one account (or every account), newest first."""
    view = scope.current()
    if page_size < 1 or (reason is not None and reason not in CONTACT_REASONS):
        return [], 0
    account_id = _uuid(account_id) if account_id is not None else None
    rows = _paged("contact", _contact_reasons(view, account_id), CONTACT_REASONS, Contact, reason, None, page, page_size)
    if not rows and page > 0:
        return [], _count_only("contact", view, reason, None, account_id)
    return _pairs_of(rows, Contact, CONTACT_REASONS, ContactPair)


def _uuid(value):
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)


def similar_accounts(name: str | None, domain: str | None = None, emails=(), phones=(),
                     exclude_ids=(), limit: int = 5) -> list[Candidate]:
    """Accounts that these (not yet saved) values would duplicate, strongest first."""
    key, dom = name_key(name) or None, registrable_domain(domain)
    emails = [e for e in (normalise_email(x) for x in emails or ()) if e]
    phones = [p for p in (normalise_phone(x) for x in phones or ()) if p]
    email_domains = {d for d in (email_domain(e) for e in emails) if d}
    found: dict = {}
    def add(rows, reason):
        for account_id in rows:
            found.setdefault(account_id, set()).add(reason)
    live = [Account.merged_into_id.is_(None)]
    if exclude_ids:
        live.append(Account.id.notin_([_uuid(i) for i in exclude_ids]))
    if dom:
        add(db.session.scalars(select(Account.id).where(Account.domain_key == dom, *live).limit(limit)), "domain")
    if key:
        add(db.session.scalars(select(Account.id).where(Account.name_key == key, *live).limit(limit)), "name")
        add(db.session.scalars(select(Account.id).where(_similar_to(key), *live).limit(limit)), "similar_name")
    if email_domains:
        add(db.session.scalars(select(Account.id).where(Account.domain_key.in_(email_domains), *live).limit(limit)),
            "contact_email")
    contact_terms = []
    if emails:
        contact_terms.append(func.lower(Contact.email).in_(emails))
    if dom:
        contact_terms.append(Contact.domain_key == dom)
    if contact_terms:
        add(db.session.scalars(select(Contact.account_id).join(Account, Account.id == Contact.account_id)
                               .where(or_(*contact_terms), Contact.merged_into_id.is_(None), *live).limit(limit)),
            "contact_email")
    if phones:
        add(db.session.scalars(select(Contact.account_id).join(Account, Account.id == Contact.account_id)
                               .where(Contact.phone.in_(phones), Contact.merged_into_id.is_(None), *live).limit(limit)),
            "contact_phone")
    if not found:
        return []
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(found)))}
    candidates = [Candidate(accounts[i], ordered(r, REASONS), score(r)) for i, r in found.items() if i in accounts]
    candidates.sort(key=lambda c: (-c.score, c.account.name or ""))
    return candidates[:limit]


def _similar_to(key: str, postgres: bool | None = None):
    """SQL: an account's name key is similar to `key` (and not the same)."""
    if on_postgres() if postgres is None else postgres:
        return and_(Account.name_key.op("%")(key), func.similarity(Account.name_key, key) >= SIMILARITY_THRESHOLD,
                    Account.name_key != key)
    word = first_word(key)
    if not word:
        return literal(False)
    return and_(or_(Account.name_key == word, Account.name_key.like(word.replace("%", "").replace("_", "") + " %")),
                Account.name_key != key)


def similar_contacts(account_id, name=None, email=None, phone=None, telegram_handle=None,
                     exclude_ids=(), limit: int = 5) -> list[ContactCandidate]:
    """Contacts of this account that a contact with these (not yet saved) values would duplicate."""
    terms = []
    key, email = name_key(name) or None, normalise_email(email)
    phone, handle = normalise_phone(phone), normalise_handle(telegram_handle)
    if email:
        terms.append(("email", func.lower(Contact.email) == email))
    if phone:
        terms.append(("phone", Contact.phone == phone))
    if handle:
        terms.append(("telegram", func.lower(Contact.telegram_handle) == handle))
    if key:
        terms.append(("name", Contact.name_key == key))
    if not terms or account_id is None:
        return []
    where = [Contact.account_id == _uuid(account_id), Contact.merged_into_id.is_(None)]
    if exclude_ids:
        where.append(Contact.id.notin_([_uuid(i) for i in exclude_ids]))
    found: dict = {}
    for contact in db.session.scalars(select(Contact).where(*where, or_(*(t for _, t in terms))).limit(50)):
        reasons = [r for r, _ in terms if _matches(contact, r, email, phone, handle, key)]
        found[contact.id] = ContactCandidate(contact, ordered(reasons, CONTACT_REASONS), score(reasons))
    return sorted(found.values(), key=lambda c: (-c.score, c.contact.name or ""))[:limit]


def _matches(contact, reason, email, phone, handle, key) -> bool:
    return {"email": (contact.email or "").lower() == email, "phone": contact.phone == phone,
            "telegram": (contact.telegram_handle or "").lower() == handle, "name": contact.name_key == key}[reason]


def survivor_of(account_id) -> uuid.UUID | None:
    """The account a merged account lives on in (following chains); None when it is not merged
    or not visible. Reads merged rows, which the read scope hides, and checks the scope itself."""
    return _survivor(Account, account_id)


def contact_survivor_of(contact_id) -> uuid.UUID | None:
    """The contact a merged contact lives on in (following chains); None when it is not merged."""
    return _survivor(Contact, contact_id)


def _survivor(model, record_id):
    view = scope.current()
    current, seen = _uuid(record_id), set()
    while current not in seen:
        seen.add(current)
        target = db.session.scalar(select(model.merged_into_id).where(model.id == current)
                                   .execution_options(**UNSCOPED))
        if target is None:
            break
        current = target
    if current == _uuid(record_id):
        return None
    visible = db.session.scalar(select(model.id).where(model.id == current))  # scoped: the survivor as the viewer sees it
    return visible if view is not None else None


def merged_ids(account_id) -> list[uuid.UUID]:
    """The accounts merged into this one (directly or through a chain): their history lives on here."""
    found, frontier = [], [_uuid(account_id)]
    while frontier:
        rows = list(db.session.scalars(select(Account.id).where(Account.merged_into_id.in_(frontier))
                                       .execution_options(**UNSCOPED)))
        rows = [r for r in rows if r not in found]
        found += rows
        frontier = rows
    return found


def history_accounts(account_id) -> list[uuid.UUID]:
    """The account and every account merged into it: the ids its timeline reads audit rows of."""
    return [_uuid(account_id), *merged_ids(account_id)]


def record_version(kind: str, record_id) -> int:
    """The version of an account or a contact a merge is checked against: how many audit rows of
    its own it has (every create, change or merge writes one; touches do not)."""
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == kind, AuditEvent.entity_id == _uuid(record_id)).execution_options(**UNSCOPED)) or 0


def record_versions(kind: str, ids) -> dict:
    """{id: version} of many records in one statement (the pair lists)."""
    ids = [_uuid(i) for i in ids]
    if not ids:
        return {}
    rows = db.session.execute(select(AuditEvent.entity_id, func.count()).where(
        AuditEvent.entity_type == kind, AuditEvent.entity_id.in_(ids)).group_by(AuditEvent.entity_id)
        .execution_options(**UNSCOPED)).all()
    found = dict(rows)
    return {i: found.get(i, 0) for i in ids}


def similar_name_ids(connection, account_id, key: str) -> list:
    """Ids of the live accounts whose name key is similar to `key` (not the same), by `connection`
    (the flush listener's: no read scope, as the pairs are filtered by it when read)."""
    return list(connection.execute(select(Account.id).where(
        _similar_to(key, on_postgres(connection)), Account.id != account_id,
        Account.merged_into_id.is_(None))).scalars())
