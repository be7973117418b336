"""Kanban board queries: whole-column aggregates and the first cards of every column, each in
one SQL statement whatever the number of opportunities."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from app.extensions import db
from app.models import Account, Opportunity, User
from app.models.types import utcnow

from app.domain.localtime import days_between
from app.domain.next_step import next_step_state
from app.queries.conditions import account_contains, contains, in_project
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
    """Per stage: count, amount sum and weighted sum (amount × probability) of the whole column."""
    now = now or utcnow()
    amount = func.coalesce(Opportunity.amount_estimate, 0)
    query = (select(Opportunity.stage, func.count(), func.sum(amount),
                    func.sum(amount * func.coalesce(Opportunity.probability, 0)))
             .where(and_(*_where(f, now))).group_by(Opportunity.stage))
    rows = db.session.execute(query)
    result = {s: {"count": 0, "amount": Decimal(0), "weighted": Decimal(0)} for s in stage_table().names()}
    for stage, count, total, weighted in rows:
        result[stage] = {"count": count, "amount": Decimal(total or 0), "weighted": Decimal(weighted or 0).quantize(Decimal("0.01"))}
    return result


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
