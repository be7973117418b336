"""Maintained aggregates: additive totals kept in the same transaction as every change of the rows
they summarise (app/services/aggregates.py keeps them and can rebuild or check them), so the board
and the accounts list read a few rows instead of scanning every deal.

Key columns are NOT NULL (a unique key with NULLs never conflicts): "no owner" is owner_key 0 and
"outside any project" is project_key NIL_UUID. Amounts are per currency, never mixed.
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import Boolean, Date, Index, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .account import Account
from .opportunity import Opportunity
from .types import GUID

NIL_UUID = uuid.UUID(int=0)  # project_key of a deal outside any project
NO_OWNER = 0  # owner_key of a deal or account without an owner

AMOUNT = Numeric(18, 2)
WEIGHTED = Numeric(20, 5)  # amount (2 places) x probability (3 places), summed unrounded


class _Sums:
    deals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    amount: Mapped[Decimal] = mapped_column(AMOUNT, nullable=False, default=0, server_default="0")
    weighted: Mapped[Decimal] = mapped_column(WEIGHTED, nullable=False, default=0, server_default="0")


class BoardOpenTotal(_Sums, Model):
    """Open, accepted deals per board column and the board's filters (owner, forecast category,
    inside a project or not) and currency: the board for everyone, an owner, deals outside projects."""

    __tablename__ = "agg_board_open"

    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    forecast_category: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    in_project: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class BoardClosedDay(_Sums, Model):
    """Won and lost (accepted) deals per UTC day of closing, column, filters and currency: the
    board's "closed in the last N days" columns add whole days from here."""

    __tablename__ = "agg_board_closed"

    closed_on: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    forecast_category: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    in_project: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class AccountOpenTotal(_Sums, Model):
    """Open, accepted deals per account and project (or none), column, filters and currency: the
    accounts list's open deals and pipeline, and the board of one project, one account or a PM."""

    __tablename__ = "agg_account_open"
    __table_args__ = (Index("ix_agg_account_open_project", "project_key"),)

    account_id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    project_key: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    forecast_category: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)


class _PipelineTotals:
    """Open, accepted deals per account and currency: count and amount."""

    account_id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    deals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    amount: Mapped[Decimal] = mapped_column(AMOUNT, nullable=False, default=0, server_default="0")


class AccountPipeline(_PipelineTotals, Model):
    """Every project included: the accounts list's "open pipeline" order for a viewer who sees
    every project (one row per account to walk)."""

    __tablename__ = "agg_account_pipeline"


class AccountPipelineOutside(_PipelineTotals, Model):
    """Deals outside projects only: the "open pipeline" order for a viewer who sees every account
    but only some projects (their projects' deals are added to the few accounts that have them)."""

    __tablename__ = "agg_account_pipeline_outside"


class AccountCount(Model):
    """Accounts per status, segment and owner (merged ones left out, as the list hides them): the
    accounts list's total without counting rows."""

    __tablename__ = "agg_account_counts"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    segment: Mapped[str] = mapped_column(String(20), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


# Indexes the pages' orders need (LIMIT served by an index scan, never a sort of the table).
# The owner's board: one owner's column in next-step order.
Index("ix_opportunities_owner_stage_next_step", Opportunity.owner_user_id, Opportunity.stage,
      Opportunity.next_step_due_at, Opportunity.id)
# ... and its won / lost columns, most recently closed first.
Index("ix_opportunities_owner_stage_closed", Opportunity.owner_user_id, Opportunity.stage, Opportunity.closed_at,
      Opportunity.id)
# Proposals waiting on the board (newest first): few rows, a partial index.
Index("ix_opportunities_proposed_created", Opportunity.created_at,
      postgresql_where=Opportunity.proposed.is_(True) & Opportunity.withdrawn_at.is_(None),
      sqlite_where=Opportunity.proposed.is_(True) & Opportunity.withdrawn_at.is_(None))
# The accounts list in name order and in last-touch order.
Index("ix_accounts_lower_name", func.lower(Account.name), Account.id)
# PostgreSQL only: SQLite has no NULLS LAST in an index (and one Index per name keeps autogenerate stable).
Index("ix_accounts_last_touch", Account.last_touch_at.desc().nulls_last(), Account.name).ddl_if(dialect="postgresql")
# The accounts list in "open pipeline" order for a viewer who sees every project: the accounts with
# a pipeline in the default currency, biggest first (queries.account_pages._by_maintained_pipeline).
Index("ix_agg_account_pipeline_order", AccountPipeline.currency, AccountPipeline.amount.desc(),
      AccountPipeline.account_id)
# ... and for a viewer who sees only some projects: the pipeline outside projects, biggest first.
Index("ix_agg_account_pipeline_outside_order", AccountPipelineOutside.currency, AccountPipelineOutside.amount.desc(),
      AccountPipelineOutside.account_id)
