"""What the accounts list, the account page and the opportunity page show, from SQL aggregates
(the number of statements per page does not grow with the rows)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from app.domain.errors import N_, NotFoundError
from app.queries import timeline as timelines
from app.queries.inbox import messages_by_id
from app.queries.duplicates import history_accounts
from app.queries.conditions import contains, next_step_overdue
from app import scope, settings
from app.domain.health import HealthSignals, health_label, health_score
from app.extensions import db
from app.models import (AuditEvent, Account, Contact, InboundMessage, InboundThread, Offer, Opportunity, OpportunityEvent,
                        Project, User)
from app.models.aggregates import NIL_UUID, AccountCount, AccountOpenTotal, AccountPipeline, AccountPipelineOutside
from app.models.types import as_utc, utcnow

LIST_PAGE = 50
TIMELINE_PAGE = 20


@dataclass
class AccountFilters:
    status: str | None = None
    segment: str | None = None
    owner_id: int | None = None
    search: str | None = None
    order: str = "name"


@dataclass
class AccountRow:
    id: uuid.UUID
    name: str
    domain: str | None
    segment: str
    status: str
    owner_name: str | None
    last_touch_at: datetime | None
    active_projects: int
    open_count: int
    open_sum: dict  # {currency: Decimal}
    overdue: int

    def signals(self, now: datetime) -> HealthSignals:
        touched = as_utc(self.last_touch_at)
        days = (now - touched).days if touched else None
        return HealthSignals(days, self.overdue, self.open_count, self.active_projects)

    def health(self, now: datetime) -> tuple[int, str]:
        score = health_score(self.signals(now))
        return score, health_label(score)


def _owner_name():
    return func.trim(func.coalesce(User.first_name, "") + literal(" ") + func.coalesce(User.last_name, ""))


def _open_deals(account_id_col):
    return and_(Opportunity.account_id == account_id_col, Opportunity.status == "open", Opportunity.proposed.is_(False),
                scope.visible(Opportunity))


def _visible_totals():
    """SQL: rows of the per-account aggregate (agg_account_open) the viewer sees: those of the
    accounts the viewer sees (a PM's few: the "open pipeline" order then sums only theirs), every
    project's under "all projects", else deals outside projects and those of the viewer's projects."""
    view = scope.current()
    accounts = scope.account_visible(AccountOpenTotal.account_id, view)
    if view.all_projects:
        return accounts
    return and_(accounts, or_(AccountOpenTotal.project_key == NIL_UUID, AccountOpenTotal.project_key.in_(view.project_ids)))


def _account_filters(f: AccountFilters) -> list:
    where = []
    if f.status:
        where.append(Account.status == f.status)
    if f.segment:
        where.append(Account.segment == f.segment)
    if f.owner_id:
        where.append(Account.owner_user_id == f.owner_id)
    if f.search:
        where.append(contains(f.search, Account.name, Account.domain))
    return where


def _total(f: AccountFilters, where: list) -> int:
    """The number of accounts the list has: from the maintained counts (status × segment × owner)
    when the viewer sees every account and no text is searched, else counted."""
    if f.search or not scope.current().all_accounts:
        return db.session.scalar(select(func.count()).select_from(Account).where(*where))
    counts = AccountCount.__table__.c
    clauses = [counts.status == f.status] if f.status else []
    clauses += [counts.segment == f.segment] if f.segment else []
    clauses += [counts.owner_key == f.owner_id] if f.owner_id else []
    return int(db.session.scalar(select(func.coalesce(func.sum(counts.accounts), 0)).where(*clauses)) or 0)


def account_rows(f: AccountFilters, page: int = 0, now: datetime | None = None) -> tuple[int, list[AccountRow]]:
    """One page of accounts with their aggregates, in 3 statements whatever the number of rows:
    the total (maintained counts), the page (an index scan in the list's order with LIMIT; open
    deals from the maintained per-account totals, overdue and active projects by index per row)
    and the page's open pipeline per currency. The "open pipeline" order (total in the default
    currency, then name) reads the maintained totals: by index for a viewer who sees every project
    (`_by_maintained_pipeline`), else summed per account over the projects the viewer sees."""
    now = now or utcnow()
    active_projects = (select(func.count()).where(Project.account_id == Account.id, Project.status == "active",
                                                  scope.visible(Project))
                       .correlate(Account).scalar_subquery())
    visible_totals = _visible_totals()
    open_count = (select(func.coalesce(func.sum(AccountOpenTotal.deals), 0))
                  .where(AccountOpenTotal.account_id == Account.id, visible_totals).correlate(Account).scalar_subquery())
    overdue = (select(func.count()).where(_open_deals(Account.id), next_step_overdue(now))
               .correlate(Account).scalar_subquery())
    where = _account_filters(f)
    total = _total(f, where)
    query = (select(Account.id, Account.name, Account.domain, Account.segment, Account.status,
                    _owner_name().label("owner_name"), Account.last_touch_at, active_projects, open_count,
                    literal(0).label("open_sum"), overdue)
             .outerjoin(User, User.id == Account.owner_user_id).where(*where))
    if f.order == "open_sum" and scope.current().all_accounts:
        rows = _by_maintained_pipeline(query, where, page)
    else:
        if f.order == "open_sum":  # a PM's few accounts: the deals the PM sees summed per account
            totals = (select(AccountOpenTotal.account_id, func.sum(AccountOpenTotal.amount).label("amount"))
                      .where(visible_totals, AccountOpenTotal.currency == settings.current().default_currency)
                      .group_by(AccountOpenTotal.account_id).subquery())
            query = query.outerjoin(totals, totals.c.account_id == Account.id)
            order = (func.coalesce(totals.c.amount, 0).desc(), func.lower(Account.name), Account.id)
        elif f.order == "last_touch":
            order = (Account.last_touch_at.desc().nulls_last(), Account.name)
        else:
            order = (func.lower(Account.name), Account.id)
        query = query.order_by(*order).offset(page * LIST_PAGE).limit(LIST_PAGE)
        rows = [AccountRow(*row) for row in db.session.execute(query)]
    sums: dict = {row.id: {} for row in rows}
    if rows:
        for account_id, currency, amount in db.session.execute(
                select(AccountOpenTotal.account_id, AccountOpenTotal.currency, func.sum(AccountOpenTotal.amount))
                .where(AccountOpenTotal.account_id.in_(list(sums)), visible_totals)
                .group_by(AccountOpenTotal.account_id, AccountOpenTotal.currency)):
            if amount:
                sums[account_id][currency] = Decimal(amount)
    for row in rows:
        row.open_sum = sums[row.id]  # {currency: amount}: shown each in its own currency
    return total, rows


def _by_maintained_pipeline(query, where: list, page: int) -> list[AccountRow]:
    """A page of the "open pipeline" order (total in the default currency, biggest first, then
    name) walked by index from the maintained totals instead of ranking every account. A viewer
    who sees every project reads one row per account (`agg_account_pipeline`); one who sees every
    account but only some projects reads the pipeline outside projects
    (`agg_account_pipeline_outside`), and the few accounts with deals in their projects get those
    added and are ranked with the rest. First the accounts whose visible pipeline is positive,
    then the others by name (`ix_accounts_lower_name`); the page's ids are found first and only
    they get the row's figures (a deep page does not compute them for the rows it skips). One
    statement while the page lies among the former; a page reaching past them also counts them
    (if it did not see where they end) and reads the latter."""
    view = scope.current()
    currency = settings.current().default_currency
    table = AccountPipeline if view.all_projects else AccountPipelineOutside
    offset = page * LIST_PAGE
    name = func.lower(Account.name)
    on_table = and_(table.account_id == Account.id, table.currency == currency)
    in_projects = None if view.all_projects or not view.project_ids else (
        select(AccountOpenTotal.account_id, func.sum(AccountOpenTotal.amount).label("amount"))
        .where(AccountOpenTotal.project_key.in_(view.project_ids), AccountOpenTotal.currency == currency)
        .group_by(AccountOpenTotal.account_id).subquery())
    ranked = [select(Account.id, table.amount, name.label("name")).join(table, and_(on_table, table.amount > 0))
              .where(*where)]
    if in_projects is not None:
        total = func.coalesce(table.amount, 0) + in_projects.c.amount
        ranked[0] = ranked[0].where(table.account_id.notin_(select(in_projects.c.account_id)))
        ranked.append(select(Account.id, total.label("amount"), name.label("name"))
                      .join(in_projects, in_projects.c.account_id == Account.id).outerjoin(table, on_table)
                      .where(*where, total > 0))
    # each part's own first offset + page rows (by index), then the page among them
    parts = [select(part.order_by(part.selected_columns.amount.desc(), name, Account.id)
                    .limit(offset + LIST_PAGE).subquery()) for part in ranked]
    candidates = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    ids = (select(candidates).order_by(candidates.c.amount.desc(), candidates.c.name, candidates.c.id)
           .offset(offset).limit(LIST_PAGE).subquery())
    first = query.join(ids, ids.c.id == Account.id).order_by(ids.c.amount.desc(), ids.c.name, Account.id)
    rows = [AccountRow(*row) for row in db.session.execute(first)]
    if len(rows) == LIST_PAGE:
        return rows
    positive = (union_all(*ranked) if len(ranked) > 1 else ranked[0]).subquery()
    if rows:
        with_pipeline = offset + len(rows)
    else:
        with_pipeline = db.session.scalar(select(func.count()).select_from(positive))
    ids = (select(Account.id, name.label("name"))
           .where(*where, Account.id.notin_(select(positive.c.id)))
           .order_by(name, Account.id).offset(max(0, offset - with_pipeline)).limit(LIST_PAGE - len(rows)).subquery())
    rest = query.join(ids, ids.c.id == Account.id).order_by(ids.c.name, Account.id)
    return rows + [AccountRow(*row) for row in db.session.execute(rest)]


def get_account(account_id) -> Account:
    account = db.session.get(Account, account_id, options=[joinedload(Account.owner)])
    if account is None:
        raise NotFoundError({"id": [N_("No such account.")]})
    return account


def account_page(account_id, timeline_page: int = 0, now: datetime | None = None) -> dict:
    """Everything the account page shows (a fixed number of statements)."""
    now = now or utcnow()
    account = get_account(account_id)
    contacts = db.session.scalars(select(Contact).where(Contact.account_id == account.id)
                                  .order_by(Contact.influence_score.desc().nulls_last(), Contact.name)).all()
    projects = db.session.scalars(select(Project).where(Project.account_id == account.id)
                                  .order_by(Project.status != "active", Project.name)).all()
    deals = db.session.scalars(
        select(Opportunity).where(Opportunity.account_id == account.id)
        .order_by(Opportunity.status != "open", Opportunity.next_step_due_at.asc().nulls_last(),
                  Opportunity.closed_at.desc())).all()
    open_deals = [d for d in deals if d.status == "open" and not d.proposed]
    touched = as_utc(account.last_touch_at)
    signals = HealthSignals((now - touched).days if touched else None,
                            sum(1 for d in open_deals if d.next_step_due_at and as_utc(d.next_step_due_at) < now),
                            len(open_deals), sum(1 for p in projects if p.status == "active"))
    score = health_score(signals)
    total, items = timeline(account.id, timeline_page)
    return {"account": account, "contacts": contacts, "projects": projects, "deals": deals,
            "health": (score, health_label(score)), "signals": signals, "timeline": items,
            "user_names": timelines.user_names(items),
            "timeline_total": total, "timeline_page": timeline_page, "timeline_size": TIMELINE_PAGE}


def timeline(account_id, page: int = 0) -> tuple[int, list[dict]]:
    """Audit events of its deals and of its records, notes and inbound messages of an account,
    newest first, paged."""
    return timelines.page([
        timelines.source("event", Opportunity.account_id == account_id,
                         join=(Opportunity, Opportunity.id == OpportunityEvent.opportunity_id)),
        timelines.source("message", InboundThread.account_id == account_id, InboundMessage.private.is_(False),
                         join=(InboundThread, InboundThread.id == InboundMessage.thread_id)),
        # its own record changes and those of the accounts merged into it (their history lives on here)
        timelines.source("record", AuditEvent.account_id.in_(history_accounts(account_id))),
    ], page, TIMELINE_PAGE)


def unique_evidence(history) -> list[tuple[object, dict]]:
    """Each evidence ref once (the newest event that carried it); one move writes several events."""
    seen, result = set(), []
    for event in history:
        for ref in event.evidence_refs or []:
            key = tuple(sorted(ref.items()))
            if key not in seen:
                seen.add(key)
                result.append((event, ref))
    return result


def opportunity_page(opp_id, now: datetime | None = None) -> dict:
    """Key fields, history, evidence and offers of one opportunity."""
    opp = db.session.get(Opportunity, opp_id, options=[joinedload(Opportunity.account), joinedload(Opportunity.owner)])
    if opp is None:
        raise NotFoundError({"id": [N_("No such opportunity.")]})
    history = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.opportunity_id == opp.id)
                                 .options(joinedload(OpportunityEvent.actor))
                                 .order_by(OpportunityEvent.created_at.desc(), OpportunityEvent.id)).all()
    evidence = unique_evidence(history)
    messages = messages_by_id(ref.get("id") for _, ref in evidence if ref.get("type") == "message")
    offers = db.session.scalars(select(Offer).where(Offer.opportunity_id == opp.id).order_by(Offer.created_at.desc())).all()
    return {"opp": opp, "history": history, "evidence": evidence, "messages": messages, "offers": offers}


def draft_offer(opp_id) -> Offer | None:
    """The deal's newest draft offer, if it has one (a second "Create offer" opens it)."""
    return db.session.scalars(select(Offer).where(Offer.opportunity_id == opp_id, Offer.status == "draft")
                              .order_by(Offer.created_at.desc()).limit(1)).first()
