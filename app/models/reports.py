"""The dashboard's maintained aggregates (app/services/report_aggregates.py keeps them in the same
transaction as every change; `flask crm rebuild-aggregates` recomputes them).

Every figure has two tables: one over all deals with an `in_project` flag (everyone's numbers,
one owner's, the deals outside any project: a few thousand rows whatever the number of deals) and
one over the deals inside a project keyed by the project (a project filter, or a user who sees
only some projects). Keys never hold NULL (ON CONFLICT needs equal keys): no owner is 0, no month
or source is '', no next step is NO_DAY. Days are UTC calendar days; the queries read the
viewer's partial days at the period's edges from the deals themselves (indexes below).
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import Boolean, Date, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .event import OpportunityEvent
from .opportunity import Opportunity
from .project import Project
from .types import GUID

NO_OWNER = 0
NO_DAY = date(1, 1, 1)  # an open deal without a next step


def _stage() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True)


def _owner() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True)


def _in_project() -> Mapped[bool]:
    return mapped_column(Boolean, primary_key=True)


def _project() -> Mapped[uuid.UUID]:
    return mapped_column(GUID(), primary_key=True)


def _count() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0, server_default="0")


def _money() -> Mapped[Decimal]:
    return mapped_column(Numeric(20, 2), nullable=False, default=0, server_default="0")


def _weighted() -> Mapped[Decimal]:
    return mapped_column(Numeric(24, 5), nullable=False, default=0, server_default="0")


class _Pipeline:
    """Open deals (not proposed): count, amount, amount × probability."""
    stage: Mapped[str] = _stage()
    owner_user_id: Mapped[int] = _owner()
    forecast_category: Mapped[str] = mapped_column(String(16), primary_key=True)
    close_month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM of close_date_target or ''
    deals: Mapped[int] = _count()
    amount: Mapped[Decimal] = _money()
    weighted: Mapped[Decimal] = _weighted()


class ReportPipeline(_Pipeline, Model):
    __tablename__ = "report_pipeline"
    in_project: Mapped[bool] = _in_project()


class ReportPipelineProject(_Pipeline, Model):
    __tablename__ = "report_pipeline_projects"
    project_id: Mapped[uuid.UUID] = _project()


class _StageAges:
    """Open deals (not proposed) by the UTC day they entered their stage: the aging histogram."""
    stage: Mapped[str] = _stage()
    owner_user_id: Mapped[int] = _owner()
    entered_day: Mapped[date] = mapped_column(Date, primary_key=True)
    deals: Mapped[int] = _count()


class ReportStageAge(_StageAges, Model):
    __tablename__ = "report_stage_ages"
    in_project: Mapped[bool] = _in_project()


class ReportStageAgeProject(_StageAges, Model):
    __tablename__ = "report_stage_ages_projects"
    project_id: Mapped[uuid.UUID] = _project()


class _NextSteps:
    """Open deals (not proposed) by the UTC day their next step is due (NO_DAY: none)."""
    owner_user_id: Mapped[int] = _owner()
    due_day: Mapped[date] = mapped_column(Date, primary_key=True)
    deals: Mapped[int] = _count()


class ReportNextStep(_NextSteps, Model):
    __tablename__ = "report_next_steps"
    in_project: Mapped[bool] = _in_project()


class ReportNextStepProject(_NextSteps, Model):
    __tablename__ = "report_next_steps_projects"
    project_id: Mapped[uuid.UUID] = _project()


class _Closed:
    """Won and lost deals (not proposed) by owner, source and the UTC day they closed."""
    owner_user_id: Mapped[int] = _owner()
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    closed_day: Mapped[date] = mapped_column(Date, primary_key=True)
    won: Mapped[int] = _count()
    lost: Mapped[int] = _count()


class ReportClosed(_Closed, Model):
    __tablename__ = "report_closed"
    in_project: Mapped[bool] = _in_project()


class ReportClosedProject(_Closed, Model):
    __tablename__ = "report_closed_projects"
    project_id: Mapped[uuid.UUID] = _project()


class _Stays:
    """Past stays: each stage change (audit row) by the stage left, the deal's owner as the change
    left it, the UTC day it left and the whole days it had spent there."""
    stage: Mapped[str] = _stage()
    owner_user_id: Mapped[int] = _owner()
    left_day: Mapped[date] = mapped_column(Date, primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    stays: Mapped[int] = _count()


class ReportStay(_Stays, Model):
    __tablename__ = "report_stays"
    in_project: Mapped[bool] = _in_project()


class ReportStayProject(_Stays, Model):
    __tablename__ = "report_stays_projects"
    project_id: Mapped[uuid.UUID] = _project()


# The viewer's partial days and the dashboard's lists come straight from these (PostgreSQL: partial
# indexes over the open deals that count).
_OPEN = text("status = 'open' AND proposed IS false")
Index("ix_opportunities_open_next_step", Opportunity.next_step_due_at, postgresql_where=_OPEN)
Index("ix_opportunities_open_stage_entered", Opportunity.stage, Opportunity.stage_entered_at, postgresql_where=_OPEN)
Index("ix_opportunities_open_no_next_step", Opportunity.stage_entered_at,
      postgresql_where=text("status = 'open' AND proposed IS false AND next_step_due_at IS NULL"))
Index("ix_opportunities_closed_at", Opportunity.closed_at, postgresql_where=text("closed_at IS NOT NULL"),
      postgresql_include=["status", "proposed", "owner_user_id", "source", "project_id"])
# The past stays of the period's partial days, read index-only.
Index("ix_opportunity_events_stays", OpportunityEvent.created_at,
      postgresql_include=["previous_stage_entered_at", "owner_user_id", "project_id", "old_value"],
      postgresql_where=text("event_type = 'stage_changed' AND previous_stage_entered_at IS NOT NULL"))
Index("ix_opportunities_open_owner_next_step", Opportunity.owner_user_id, Opportunity.next_step_due_at,
      postgresql_where=_OPEN)
Index("ix_opportunities_open_owner_no_next_step", Opportunity.owner_user_id, Opportunity.stage_entered_at,
      postgresql_where=text("status = 'open' AND proposed IS false AND next_step_due_at IS NULL"))
# The stall report in its default order (the biggest amounts first): its first rows, and the page,
# straight from an index instead of sorting every stalled deal.
Index("ix_opportunities_open_amount", Opportunity.amount_estimate.desc().nulls_last(), Opportunity.stage_entered_at,
      Opportunity.id, postgresql_where=_OPEN).ddl_if(dialect="postgresql")
# The project filter's choices (app.queries.projects.project_choices: active first, then by name, the
# first 300) straight from an index, however many projects there are (PostgreSQL only).
CHOICE_ORDER = ("(status <> ALL (ARRAY['active', 'planned']))", "lower(name)")  # NOT IN as PostgreSQL stores it
Index("ix_projects_choice_order", *(text(e) for e in CHOICE_ORDER), Project.id).ddl_if(dialect="postgresql")

REPORT_TABLES = (ReportPipeline, ReportPipelineProject, ReportStageAge, ReportStageAgeProject, ReportNextStep,
                 ReportNextStepProject, ReportClosed, ReportClosedProject, ReportStay, ReportStayProject)
