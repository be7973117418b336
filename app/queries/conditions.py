"""SQL conditions the read queries share, each the twin of one domain rule."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import any_, func, or_, select

from app.extensions import on_postgres
from app.models import Account, Opportunity


def next_step_overdue(now: datetime):
    """SQL for app.domain.next_step.is_overdue: the due time has passed."""
    return Opportunity.next_step_due_at < now


NO_PROJECT = "none"  # a project filter asking for the deals outside any project


def in_project(project, column=Opportunity.project_id) -> list:
    """SQL for a project filter of a page: [] for all deals, deals outside any project for
    NO_PROJECT, else the deals of that project (the read scope still applies underneath)."""
    if project is None:
        return []
    if project == NO_PROJECT:
        return [column.is_(None)]
    return [column == project]


def contains(term: str, *columns):
    """SQL for every search box and lookup: one of `columns` contains the typed term, in any
    letter case of any language, the same on both databases. ILIKE: on PostgreSQL served by the
    pg_trgm indexes (migration 0007, search indexes); on SQLite written lower(x) LIKE lower(y),
    with the app's Unicode lower() (app.extensions). A typed % or _ is literal; a typed "ё" also
    finds "е"."""
    text = term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    variants = dict.fromkeys([text, text.replace("ё", "е").replace("Ё", "Е")])
    return or_(*(column.ilike(f"%{v}%", escape="\\") for column in columns for v in variants))


def in_ids(column, ids):
    """SQL: `column` IN (the ids the select `ids` returns). PostgreSQL gets it as
    column = ANY(ARRAY(ids)): the ids are read first, so an index on `column` serves the condition
    even OR-ed with another indexed one (a bitmap OR) instead of a subplan tested on every row."""
    if on_postgres():
        return column == any_(func.array(ids.scalar_subquery()))
    return column.in_(ids)


def account_contains(term: str, account_id_column):
    """SQL: the row's account's name contains the term (see `contains`), as a condition on the
    row's own account id (so a search of a deal's name OR its account's name keeps both indexes)."""
    return in_ids(account_id_column, select(Account.id).where(contains(term, Account.name)).correlate(None))
