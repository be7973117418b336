"""Kanban board queries: whole-column aggregates (from the maintained aggregate tables) and the
first cards of every column (index scans with LIMIT), each in one SQL statement whatever the
number of opportunities."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, case, false, func, literal, or_, select, union_all

from app.extensions import db
from app import scope
from app.models import Account, Opportunity, User
from app.models.aggregates import NIL_UUID, AccountOpenTotal, BoardClosedDay, BoardOpenTotal
from app.models.types import utcnow

from app.domain.localtime import days_between
from app.domain.next_step import next_step_state
from app.queries.conditions import NO_PROJECT, account_contains, contains, in_project
from app.settings import stage_table

PAGE = 25


@dataclass
class BoardFilters:
    owner_ids: list[int] = field(default_factory=list)
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    forecast_category: str | None = None
    search: str | None = None
    project: uuid.UUID | str | None = None  # a project's id, NO_PROJECT (outside any project) or None (all)
    closed_days: int = 30


@dataclass
class Card:
    id: uuid.UUID
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    next_step_text: str | None
    next_step_due_at: datetime | None
    stage_entered_at: datetime | None
    version: int
    account_id: uuid.UUID
    account_name: str
    owner_name: str | None
    proposed: bool = False
    owner_user_id: int | None = None

    def due_state(self, now: datetime) -> str:
        """none / overdue / today / future for the next step."""
        return next_step_state(self.next_step_due_at, now)

    def days_in_stage(self, now: datetime) -> int:
        return days_between(self.stage_entered_at, now, now.tzinfo or timezone.utc)


def _where(f: BoardFilters, now: datetime, proposed: bool = False, semantic: str | None = None) -> list:
    """Filters of the board; open columns hold every open deal, won/lost only the recent ones."""
    closed_since = now - timedelta(days=f.closed_days)
    if semantic == "open":
        recent = Opportunity.status == "open"
    elif semantic is not None:
        recent = Opportunity.closed_at >= closed_since
    else:
        recent = or_(Opportunity.status == "open", Opportunity.closed_at >= closed_since)
    clauses = [Opportunity.proposed.is_(proposed), recent]
    if f.owner_ids:
        clauses.append(Opportunity.owner_user_id.in_(f.owner_ids))
    if f.account_id:
        clauses.append(Opportunity.account_id == f.account_id)
    if f.account_name:
        clauses.append(account_contains(f.account_name, Opportunity.account_id))
    if f.forecast_category:
        clauses.append(Opportunity.forecast_category == f.forecast_category)
    clauses.extend(in_project(f.project))
    if f.search:
        clauses.append(or_(contains(f.search, Opportunity.name), account_contains(f.search, Opportunity.account_id)))
    return clauses


def _card_columns():
    owner_name = func.trim(func.coalesce(User.first_name, "") + literal(" ") + func.coalesce(User.last_name, ""))
    return (Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.amount_estimate, Opportunity.currency,
            Opportunity.next_step_text, Opportunity.next_step_due_at, Opportunity.stage_entered_at,
            Opportunity.version, Opportunity.account_id, Account.name.label("account_name"),
            owner_name.label("owner_name"), Opportunity.proposed, Opportunity.owner_user_id)


def _card_select(f: BoardFilters, now: datetime, proposed: bool = False, *extra, semantic: str | None = None):
    return (select(*_card_columns(), *extra).join(Account, Account.id == Opportunity.account_id)
            .outerjoin(User, User.id == Opportunity.owner_user_id).where(and_(*_where(f, now, proposed, semantic))))


def _order(stage: str) -> tuple:
    """Open columns: soonest next step first; won/lost: most recently closed first."""
    if stage_table().get(stage).semantic == "open":
        return (Opportunity.next_step_due_at.asc().nulls_last(), Opportunity.id)
    return (Opportunity.closed_at.desc(), Opportunity.id.desc())


def _ordered(query, stage: str):
    return query.order_by(*_order(stage))


def summaries(f: BoardFilters, now: datetime | None = None) -> dict[str, dict]:
    """Per stage: count, amount sum and weighted sum (amount × probability) of the whole column,
    the sums per currency ({currency: Decimal}: never added across currencies), in one statement.

    From the maintained aggregates (app/services/aggregates.py) whatever the number of deals —
    everyone, owners, forecast category, inside / outside projects, one project, the read scope
    of a PM or of a project member; won/lost add whole UTC days from the per-day table and read
    only the first, partial day from the closed_at index. A text filter (search, account name)
    or one account's board keeps the plain query over the matching deals (few)."""
    now = now or utcnow()
    if f.search or f.account_name or f.account_id:
        statement = _scanned_sums(f, now)
    else:
        statement = _aggregated_sums(f, now)
    result = {s: {"count": 0, "amount": {}, "weighted": {}} for s in stage_table().names()}
    for stage, currency, count, total, weighted in db.session.execute(statement):
        if not count:  # a maintained key whose deals all left it
            continue
        column = result.setdefault(stage, {"count": 0, "amount": {}, "weighted": {}})
        column["count"] += int(count or 0)
        column["amount"][currency] = column["amount"].get(currency, Decimal(0)) + Decimal(total or 0)
        column["weighted"][currency] = column["weighted"].get(currency, Decimal(0)) + Decimal(weighted or 0)
    for column in result.values():
        column["weighted"] = {c: v.quantize(Decimal("0.01")) for c, v in column["weighted"].items()}
    return result


def _base_sums():
    amount = func.coalesce(Opportunity.amount_estimate, 0)
    return (Opportunity.stage, Opportunity.currency, func.count(), func.sum(amount),
            func.sum(amount * func.coalesce(Opportunity.probability, 0)))


def _scanned_sums(f: BoardFilters, now: datetime):
    return select(*_base_sums()).where(and_(*_where(f, now))).group_by(Opportunity.stage, Opportunity.currency)


def plan(f: BoardFilters, view: scope.Scope) -> tuple[bool | None, tuple, tuple]:
    """Which deals the board counts, as the aggregates can serve them (the twin of
    scope.opportunity_visible plus the project filter): (general, projects, accounts) where
    general is True (every deal), False (every deal outside projects) or None (no general part),
    projects the ids whose deals count, accounts those whose deals outside projects count."""
    project = f.project
    if view.everything or view.all_accounts:
        if project is None:
            return (True, (), ()) if view.everything else (False, tuple(view.project_ids), ())
        if project == NO_PROJECT:
            return False, (), ()
    elif project is None:
        return None, tuple(view.project_ids), tuple(view.account_ids)
    elif project == NO_PROJECT:
        return None, (), tuple(view.account_ids)
    return None, ((project,) if view.everything or project in view.project_ids else ()), ()


def _grouped(table, where: list):
    return (select(table.c.stage, table.c.currency, func.sum(table.c.deals), func.sum(table.c.amount),
                   func.sum(table.c.weighted)).where(*where).group_by(table.c.stage, table.c.currency))


def _aggregated_sums(f: BoardFilters, now: datetime):
    general, projects, accounts = plan(f, scope.current())
    since = now - timedelta(days=f.closed_days)
    first_whole_day = since.astimezone(timezone.utc).date() + timedelta(days=1)
    first_day_end = datetime.combine(first_whole_day, time(0), tzinfo=timezone.utc)
    parts = []

    def filters(table) -> list:
        where = []
        if f.owner_ids:  # owner_key 0 stands for "no owner", which no user id asks for
            where.append(table.c.owner_key.in_([i for i in f.owner_ids if i > 0]))
        if f.forecast_category:
            where.append(table.c.forecast_category == f.forecast_category)
        return where

    closed = [Opportunity.proposed.is_(False), Opportunity.status != "open", Opportunity.closed_at >= since]
    if f.owner_ids:
        closed.append(Opportunity.owner_user_id.in_(f.owner_ids))
    if f.forecast_category:
        closed.append(Opportunity.forecast_category == f.forecast_category)
    if general is not None:
        outside = [] if general else [BoardOpenTotal.in_project.is_(False)]
        parts.append(_grouped(BoardOpenTotal.__table__, filters(BoardOpenTotal.__table__) + outside))
        outside = [] if general else [BoardClosedDay.in_project.is_(False)]
        parts.append(_grouped(BoardClosedDay.__table__, filters(BoardClosedDay.__table__) + outside
                              + [BoardClosedDay.closed_on >= first_whole_day]))
        outside = [] if general else [Opportunity.project_id.is_(None)]
        parts.append(select(*_base_sums()).where(*closed, *outside, Opportunity.closed_at < first_day_end)
                     .group_by(Opportunity.stage, Opportunity.currency))
    specific = []
    if projects:
        specific.append((AccountOpenTotal.project_key.in_(projects), Opportunity.project_id.in_(projects)))
    if accounts:
        specific.append((and_(AccountOpenTotal.project_key == NIL_UUID, AccountOpenTotal.account_id.in_(accounts)),
                         and_(Opportunity.project_id.is_(None), Opportunity.account_id.in_(accounts))))
    if specific:
        parts.append(_grouped(AccountOpenTotal.__table__, filters(AccountOpenTotal.__table__)
                              + [or_(*(a for a, _ in specific))]))
        parts.append(select(*_base_sums()).where(*closed, or_(*(b for _, b in specific)))
                     .group_by(Opportunity.stage, Opportunity.currency))
    if not parts:  # nothing visible: an empty answer, still one statement
        return select(*_base_sums()).where(false()).group_by(Opportunity.stage, Opportunity.currency)
    return union_all(*parts)


def first_cards(f: BoardFilters, now: datetime | None = None, limit: int = PAGE) -> dict[str, list[Card]]:
    """The first `limit` cards of every column (soonest next step first), in one statement:
    per column straight from the board index (UNION ALL), or — when a text filter makes the
    matching deals few — one scan of the matches ranked per column."""
    now = now or utcnow()
    stages = stage_table().names()
    if f.search or f.account_name:
        statement = _ranked_cards(f, now, limit)
    else:
        parts = []
        for s in stages:
            position = func.row_number().over(order_by=_order(s)).label("position")
            semantic = stage_table().get(s).semantic
            part = _ordered(_card_select(f, now, False, position, semantic=semantic).where(Opportunity.stage == s), s)
            parts.append(select(part.limit(limit).subquery()))
        statement = union_all(*parts)
    positioned: dict[str, list[tuple[int, Card]]] = {s: [] for s in stages}
    for row in db.session.execute(statement):
        positioned[row.stage].append((row.position, Card(*row[:-1])))
    return {s: [card for _, card in sorted(rows, key=lambda r: r[0])] for s, rows in positioned.items()}


def _ranked_cards(f: BoardFilters, now: datetime, limit: int):
    """Matching deals ranked within their column in the board's order; the first `limit` of each."""
    closed = Opportunity.status != "open"
    order = (case((closed, None), else_=Opportunity.next_step_due_at).asc().nulls_last(),
             case((closed, Opportunity.closed_at), else_=None).desc().nulls_last(), Opportunity.id)
    position = func.row_number().over(partition_by=Opportunity.stage, order_by=order).label("position")
    ranked = _card_select(f, now, False, position).subquery()
    return select(ranked).where(ranked.c.position <= limit)


def more_cards(f: BoardFilters, stage: str, offset: int, now: datetime | None = None, limit: int = PAGE) -> list[Card]:
    """The next cards of one column."""
    now = now or utcnow()
    semantic = stage_table().get(stage).semantic
    query = _ordered(_card_select(f, now, semantic=semantic).where(Opportunity.stage == stage), stage).offset(offset).limit(limit)
    return [Card(*row) for row in db.session.execute(query)]


def proposed_cards(f: BoardFilters, now: datetime | None = None, limit: int = PAGE) -> list[Card]:
    """Opportunities proposed by inbound triage, waiting for someone to accept them."""
    now = now or utcnow()
    query = _card_select(f, now, proposed=True).where(Opportunity.withdrawn_at.is_(None)).order_by(Opportunity.created_at.desc()).limit(limit)
    return [Card(*row) for row in db.session.execute(query)]
