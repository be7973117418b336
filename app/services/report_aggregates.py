"""The dashboard's maintained aggregates (tables in app/models/reports.py), registered with the one
mechanism (app/services/aggregates.py): kept in the same transaction as every change of a deal or
every stage change written, rebuilt and checked by `flask crm rebuild-aggregates [--check]`.

Each figure is registered twice: over all deals with an `in_project` flag, and over the deals of a
project keyed by the project. `key(state)` and the SQL `source` are twins: the key function says
where one row counts, the source recomputes the whole table (app.queries.metrics also runs the
sources, filtered, for a viewer who sees only some accounts).
"""
from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.models import Opportunity, OpportunityEvent
from app.models.reports import (NO_DAY, NO_OWNER, ReportClosed, ReportClosedProject, ReportNextStep,
                                ReportNextStepProject, ReportPipeline, ReportPipelineProject, ReportStageAge,
                                ReportStageAgeProject, ReportStay, ReportStayProject)
from app.models.types import as_utc
from app.queries.report_sources import (SECONDS_PER_DAY, age_source, closed_source, next_step_source,
                                        pipeline_source, stay_source)

from .aggregates import register

DEAL_FIELDS = ("project_id", "stage", "status", "proposed", "owner_user_id", "forecast_category", "amount_estimate",
               "probability", "close_date_target", "stage_entered_at", "next_step_due_at", "closed_at", "source")
STAY_FIELDS = ("event_type", "old_value", "created_at", "previous_stage_entered_at", "owner_user_id", "project_id")

# ---------------------------------------------------------------- the rules, in Python

def utc_day(moment) -> date:
    """The UTC calendar day of a stored time."""
    return as_utc(moment).date()


def whole_days(later, earlier) -> int:
    """Whole days between two times (whole seconds first; never negative)."""
    seconds = math.floor(as_utc(later).timestamp()) - math.floor(as_utc(earlier).timestamp())
    return max(0, seconds // SECONDS_PER_DAY)


def _owner(state) -> int:
    return NO_OWNER if state["owner_user_id"] is None else state["owner_user_id"]


def _open(state) -> bool:
    return state["status"] == "open" and not state["proposed"]


def _closed(state) -> bool:
    return state["status"] in ("won", "lost") and not state["proposed"] and state["closed_at"] is not None


def _month(value) -> str:
    return "" if value is None else f"{value.year:04}-{value.month:02}"


def _scoped(columns: dict, state, per_project: bool):
    """The key as a dict: the scope column added (in_project, or project_id; None: not counted)."""
    if per_project:
        return None if state["project_id"] is None else {**columns, "project_id": state["project_id"]}
    return {**columns, "in_project": state["project_id"] is not None}


def _pipeline_key(state) -> dict | None:
    return {"stage": state["stage"], "owner_user_id": _owner(state), "forecast_category": state["forecast_category"],
            "close_month": _month(state["close_date_target"])} if _open(state) else None


def _pipeline_values(state) -> dict:
    amount = Decimal(state["amount_estimate"] or 0)
    return {"deals": 1, "amount": amount, "weighted": amount * Decimal(state["probability"] or 0)}


def _age_key(state) -> dict | None:
    return {"stage": state["stage"], "owner_user_id": _owner(state),
            "entered_day": utc_day(state["stage_entered_at"])} if _open(state) else None


def _next_step_key(state) -> dict | None:
    due = state["next_step_due_at"]
    return {"owner_user_id": _owner(state), "due_day": NO_DAY if due is None else utc_day(due)} if _open(state) else None


def _closed_key(state) -> dict | None:
    return {"owner_user_id": _owner(state), "source": state["source"] or "",
            "closed_day": utc_day(state["closed_at"])} if _closed(state) else None


def _closed_values(state) -> dict:
    return {"won": int(state["status"] == "won"), "lost": int(state["status"] == "lost")}


def _stay_key(state) -> dict | None:
    stage = (state["old_value"] or {}).get("stage") if isinstance(state["old_value"], dict) else None
    if state["event_type"] != "stage_changed" or state["previous_stage_entered_at"] is None or not stage:
        return None
    return {"stage": stage, "owner_user_id": _owner(state), "left_day": utc_day(state["created_at"]),
            "days": whole_days(state["created_at"], state["previous_stage_entered_at"])}


# ---------------------------------------------------------------- registration

def _register(name: str, model, entity, fields, key, values, source, per_project: bool) -> None:
    columns = [c.name for c in model.__table__.primary_key.columns]

    def keyed(state):
        found = key(state)
        found = None if found is None else _scoped(found, state, per_project)
        return None if found is None else tuple(found[c] for c in columns)

    def ordered():  # rebuild inserts by position: the table's key columns first, then its values
        found = source(per_project).subquery()
        return select(*(found.c[c.name] for c in model.__table__.columns if c.primary_key),
                      *(found.c[c.name] for c in model.__table__.columns if not c.primary_key))

    register(name, model, entity, fields, key=keyed, values=values, source=ordered)


FIGURES = (
    ("report_pipeline", ReportPipeline, ReportPipelineProject, Opportunity, DEAL_FIELDS, _pipeline_key,
     _pipeline_values, pipeline_source),
    ("report_stage_ages", ReportStageAge, ReportStageAgeProject, Opportunity, DEAL_FIELDS, _age_key,
     lambda s: {"deals": 1}, age_source),
    ("report_next_steps", ReportNextStep, ReportNextStepProject, Opportunity, DEAL_FIELDS, _next_step_key,
     lambda s: {"deals": 1}, next_step_source),
    ("report_closed", ReportClosed, ReportClosedProject, Opportunity, DEAL_FIELDS, _closed_key, _closed_values,
     closed_source),
    ("report_stays", ReportStay, ReportStayProject, OpportunityEvent, STAY_FIELDS, _stay_key,
     lambda s: {"stays": 1}, stay_source),
)

for _name, _all, _per_project, _entity, _fields, _key, _values, _source_of in FIGURES:
    _register(_name, _all, _entity, _fields, _key, _values, _source_of, per_project=False)
    _register(f"{_name}_projects", _per_project, _entity, _fields, _key, _values, _source_of, per_project=True)
