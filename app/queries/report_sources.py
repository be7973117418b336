"""The dashboard's figures in SQL: each function is the twin of a key function of
app.services.report_aggregates (which maintains the tables row by row) and recomputes a whole table
(`flask crm rebuild-aggregates`); app.queries.metrics runs them, filtered, for a viewer who sees only
some accounts."""
from __future__ import annotations

from sqlalchemy import BigInteger, Date, case, cast, func, literal, select

from app.extensions import on_postgres
from app.models import Opportunity, OpportunityEvent
from app.models.reports import NO_DAY, NO_OWNER

SECONDS_PER_DAY = 86400


def utc_day_sql(column):
    return cast(func.timezone("UTC", column), Date) if on_postgres() else func.date(column)


def whole_days_sql(later, earlier):
    if on_postgres():
        seconds = (cast(func.floor(func.extract("epoch", later)), BigInteger)
                   - cast(func.floor(func.extract("epoch", earlier)), BigInteger))
        return func.greatest(0, seconds // SECONDS_PER_DAY)
    seconds = cast(func.strftime("%s", later), BigInteger) - cast(func.strftime("%s", earlier), BigInteger)
    return func.max(0, seconds // SECONDS_PER_DAY)


def _owner_sql(column=Opportunity.owner_user_id):
    return func.coalesce(column, NO_OWNER)


def _month_sql():
    month = func.to_char(Opportunity.close_date_target, "YYYY-MM") if on_postgres() \
        else func.strftime("%Y-%m", Opportunity.close_date_target)
    return func.coalesce(month, "")


def _open_sql() -> list:
    return [Opportunity.status == "open", Opportunity.proposed.is_(False)]


def _closed_sql() -> list:
    return [Opportunity.status.in_(("won", "lost")), Opportunity.proposed.is_(False), Opportunity.closed_at.isnot(None)]


def _source(keys: list, values: list, where: list, project_column, per_project: bool):
    """SELECT keys…, scope column, values… WHERE … GROUP BY keys, scope column."""
    if per_project:
        scope_column = project_column.label("project_id")
        where = [*where, project_column.isnot(None)]
    else:
        scope_column = case((project_column.is_(None), literal(False)), else_=literal(True)).label("in_project")
    return select(*keys, scope_column, *values).where(*where).group_by(*keys, scope_column)


def pipeline_source(per_project: bool):
    amount = func.coalesce(Opportunity.amount_estimate, 0)
    return _source([Opportunity.stage, _owner_sql().label("owner_user_id"), Opportunity.forecast_category,
                    _month_sql().label("close_month")],
                   [func.count().label("deals"), func.sum(amount).label("amount"),
                    func.sum(amount * func.coalesce(Opportunity.probability, 0)).label("weighted")],
                   _open_sql(), Opportunity.project_id, per_project)


def age_source(per_project: bool):
    return _source([Opportunity.stage, _owner_sql().label("owner_user_id"),
                    utc_day_sql(Opportunity.stage_entered_at).label("entered_day")],
                   [func.count().label("deals")], _open_sql(), Opportunity.project_id, per_project)


def next_step_source(per_project: bool):
    due = case((Opportunity.next_step_due_at.is_(None), literal(NO_DAY, Date)),
               else_=utc_day_sql(Opportunity.next_step_due_at))
    return _source([_owner_sql().label("owner_user_id"), due.label("due_day")],
                   [func.count().label("deals")], _open_sql(), Opportunity.project_id, per_project)


def closed_source(per_project: bool):
    won = func.sum(case((Opportunity.status == "won", 1), else_=0))
    lost = func.sum(case((Opportunity.status == "lost", 1), else_=0))
    return _source([_owner_sql().label("owner_user_id"), func.coalesce(Opportunity.source, "").label("source"),
                    utc_day_sql(Opportunity.closed_at).label("closed_day")],
                   [won.label("won"), lost.label("lost")], _closed_sql(), Opportunity.project_id, per_project)


def stay_stage_sql():
    return OpportunityEvent.old_value["stage"].as_string()


def stay_source(per_project: bool):
    e = OpportunityEvent
    return _source([stay_stage_sql().label("stage"), _owner_sql(e.owner_user_id).label("owner_user_id"),
                    utc_day_sql(e.created_at).label("left_day"),
                    whole_days_sql(e.created_at, e.previous_stage_entered_at).label("days")],
                   [func.count().label("stays")],
                   [e.event_type == "stage_changed", e.previous_stage_entered_at.isnot(None),
                    stay_stage_sql().isnot(None)], e.project_id, per_project)
