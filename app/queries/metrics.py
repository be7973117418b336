"""The owner's numbers: pipeline, forecast, aging, win rate, next-step SLA and stalled deals.

The figures read the maintained aggregates (app/models/reports.py, kept by
app/services/report_aggregates.py in the same transaction as every change): a few thousand rows
whatever the number of deals, a constant number of statements. Their days are UTC calendar days;
what a viewer's period cuts out of a day at its edges (their midnight is not UTC's), the rotting
boundary and today's overdue next steps are read exactly from the deals through partial indexes.
Days in a stage (now and past stays) are whole days. A viewer who sees only some accounts gets
the same rows recomputed from their visible deals (the aggregates' own SQL, under the read scope).
Every read goes through the reports database (app/reporting.py: a replica when configured).
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import DateTime, and_, case, func, literal, or_, select, union_all

from app import reporting, scope
from app.extensions import on_postgres
from app.models import Account, Opportunity, OpportunityEvent, User
from app.models.reports import (NO_DAY, NO_OWNER, ReportClosed, ReportClosedProject, ReportNextStep,
                                ReportNextStepProject, ReportPipeline, ReportPipelineProject, ReportStageAge,
                                ReportStageAgeProject, ReportStay, ReportStayProject)
from app.domain.localtime import as_utc, period_bounds
from app.models.types import utcnow
from . import report_sources as sources

from app.domain.next_step import days_overdue, is_overdue
from .conditions import NO_PROJECT, in_project, next_step_overdue
from app.settings import current as settings, stage_table

SECONDS_PER_DAY = 86400.0


@dataclass
class MetricFilters:
    start: date
    end: date  # inclusive
    owner_ids: list[int] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)  # in the viewer's zone: the period's days are theirs
    project: uuid.UUID | str | None = None  # a project's id, NO_PROJECT (outside any project) or None (all)

    @property
    def start_at(self) -> datetime:
        return period_bounds(self.start, self.end, self.now.tzinfo or timezone.utc)[0]

    @property
    def end_at(self) -> datetime:
        return period_bounds(self.start, self.end, self.now.tzinfo or timezone.utc)[1]


def default_filters(owner_ids: list[int] | None = None, days: int = 90) -> MetricFilters:
    today = utcnow().date()
    return MetricFilters(start=today - timedelta(days=days - 1), end=today, owner_ids=owner_ids or [])


def session():
    """Where reports read: the reports database when one is configured, else the main one."""
    return reporting.session()


def _chosen(f: MetricFilters, column=Opportunity.owner_user_id, project_column=Opportunity.project_id) -> list:
    """The owners and the project the figures are asked for."""
    return ([column.in_(f.owner_ids)] if f.owner_ids else []) + in_project(f.project, project_column)


def _open(f: MetricFilters) -> list:
    return [Opportunity.status == "open", Opportunity.proposed.is_(False), *_chosen(f)]


def _days(later, earlier):
    """Days between two timestamps as a SQL expression (fractional)."""
    if on_postgres(session()):
        return func.extract("epoch", later - earlier) / SECONDS_PER_DAY
    return func.julianday(later) - func.julianday(earlier)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram_percentile(counts: dict[int, int], q: float) -> float | None:
    """`percentile` of the values a histogram {value: how many} stands for, without expanding it."""
    total = sum(counts.values())
    if total <= 0:
        return None
    position = (total - 1) * q
    low, high = math.floor(position), math.ceil(position)
    values, seen, at = {}, 0, sorted((v, n) for v, n in counts.items() if n > 0)
    for value, n in at:
        for rank in (low, high):
            if seen <= rank < seen + n:
                values.setdefault(rank, value)
        seen += n
    return values[low] + (values[high] - values[low]) * (position - low)


def rotting_days() -> dict[str, int]:
    return dict(settings().rotting_days)


def no_touch_days() -> int:
    return settings().no_touch_days


def _names() -> dict:
    return dict(session().execute(select(User.id, func.trim(User.first_name + literal(" ") + User.last_name))).all())


def _owner_id(key: int):
    return None if key == NO_OWNER else key


# --- reading the aggregates ------------------------------------------------------------------

# figure: (table over all deals, table per project, its SQL source, the columns its owner and
# project filters apply to in that source, its value columns)
FIGURES = {
    "pipeline": (ReportPipeline, ReportPipelineProject, sources.pipeline_source, Opportunity,
                 ("deals", "amount", "weighted")),
    "ages": (ReportStageAge, ReportStageAgeProject, sources.age_source, Opportunity, ("deals",)),
    "next_steps": (ReportNextStep, ReportNextStepProject, sources.next_step_source, Opportunity, ("deals",)),
    "closed": (ReportClosed, ReportClosedProject, sources.closed_source, Opportunity, ("won", "lost")),
    "stays": (ReportStay, ReportStayProject, sources.stay_source, OpportunityEvent, ("stays",)),
}


def _project_id(f: MetricFilters):
    try:
        return f.project if isinstance(f.project, uuid.UUID) else uuid.UUID(str(f.project))
    except ValueError:
        return None


def recomputed_parts(f: MetricFilters, figure: str) -> list[tuple]:
    """The figure's rows recomputed from the deals (or stage changes) the viewer sees: the
    aggregate's own SQL under the read scope, with the filters."""
    _, _, source, entity, _ = FIGURES[figure]
    return [(source(False).where(*_chosen(f, entity.owner_user_id, entity.project_id)).subquery(), [])]


def _parts(f: MetricFilters, figure: str) -> list[tuple]:
    """The (table or subquery, conditions) whose rows make the figure for this viewer and filter."""
    everything, per_project, _, _, _ = FIGURES[figure]
    view = scope.current()
    if not view.all_accounts:  # only some accounts' deals: no aggregate has the account
        return recomputed_parts(f, figure)
    every, projects = everything.__table__, per_project.__table__
    if f.project == NO_PROJECT:
        parts = [(every, [every.c.in_project.is_(False)])]
    elif f.project is not None:
        project = _project_id(f)
        parts = [(projects, [projects.c.project_id == project])] if project and view.sees_project(project) else []
    elif view.all_projects:
        parts = [(every, [])]
    else:  # the deals outside projects and those of the viewer's projects
        parts = [(every, [every.c.in_project.is_(False)])]
        if view.project_ids:
            parts.append((projects, [projects.c.project_id.in_(view.project_ids)]))
    if f.owner_ids:
        parts = [(t, [*conditions, t.c.owner_user_id.in_(f.owner_ids)]) for t, conditions in parts]
    return parts


def figure_rows(f: MetricFilters, figure: str, group: tuple[str, ...], where=lambda t: []) -> list:
    """The figure's value columns summed by `group` for this viewer and filter: one statement."""
    values = FIGURES[figure][4]
    selects = [select(*(t.c[g] for g in group), *(t.c[v] for v in values)).where(*conditions, *where(t))
               for t, conditions in _parts(f, figure)]
    if not selects:
        return []
    rows = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery()
    return session().execute(select(*(rows.c[g] for g in group), *(func.sum(rows.c[v]).label(v) for v in values))
                             .group_by(*(rows.c[g] for g in group))).all()


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def whole_utc_days(start_at: datetime, end_at: datetime) -> tuple[date, date, list[tuple[datetime, datetime]]]:
    """The UTC days wholly inside [start_at, end_at) as [first, stop), and the partial ranges left at
    the edges (read from the rows themselves)."""
    start_at, end_at = _utc(start_at), _utc(end_at)
    first = start_at.date() if start_at == _midnight(start_at.date()) else start_at.date() + timedelta(days=1)
    stop = end_at.date()
    if first >= stop:
        return first, first, [(start_at, end_at)] if start_at < end_at else []
    edges = [(start_at, _midnight(first)), (_midnight(stop), end_at)]
    return first, stop, [(a, b) for a, b in edges if a < b]


# --- pipeline and forecast ------------------------------------------------------------------

def pipeline_and_forecast(f: MetricFilters) -> tuple[list[dict], list[dict]]:
    """Both from one read of the pipeline aggregate: per stage count, amount and weighted amount
    (amount × probability), and per month of close_date_target the amount of each forecast
    category (pipeline / best_case / commit) with the weighted sum."""
    rows = figure_rows(f, "pipeline", ("stage", "close_month", "forecast_category"))
    stages = {s: {"stage": s, "count": 0, "amount": _money(0), "weighted": _money(0)} for s in stage_table().open_stages()}
    months: dict[str, dict] = {}
    for stage, m, category, count, total, weighted in rows:
        entry = stages.setdefault(stage, {"stage": stage, "count": 0, "amount": _money(0), "weighted": _money(0)})
        entry["count"] += int(count)
        entry["amount"] += _money(total)
        entry["weighted"] += Decimal(weighted or 0)
        if not m:
            continue
        month_entry = months.setdefault(m, {"month": m, "pipeline": _money(0), "best_case": _money(0),
                                            "commit": _money(0), "count": 0, "weighted": Decimal(0)})
        if category in ("pipeline", "best_case", "commit"):
            month_entry[category] += _money(total)
        month_entry["count"] += int(count)
        month_entry["weighted"] += Decimal(weighted or 0)
    for entry in list(stages.values()) + list(months.values()):
        entry["weighted"] = _money(entry["weighted"])
    return list(stages.values()), [months[m] for m in sorted(months) if months[m]["count"]]


def pipeline(f: MetricFilters) -> list[dict]:
    """Open deals per stage: count, amount and weighted amount."""
    return pipeline_and_forecast(f)[0]


def forecast(f: MetricFilters) -> list[dict]:
    """Open deals by month of close_date_target, split by forecast category."""
    return pipeline_and_forecast(f)[1]


# --- aging ----------------------------------------------------------------------------------

def aging(f: MetricFilters) -> list[dict]:
    """Per open stage: whole days in the current stage (median, p90), deals past the stage's
    rotting threshold (exact), and the whole days deals stayed in that stage before moving on
    within the period (from the history)."""
    thresholds = rotting_days()
    now = _utc(f.now)
    today = now.date()
    stages = stage_table().open_stages()
    ages: dict[str, dict[int, int]] = {}
    for stage, day, n in figure_rows(f, "ages", ("stage", "entered_day")):
        ages.setdefault(stage, {}).setdefault(max(0, (today - day).days), 0)
        ages[stage][max(0, (today - day).days)] += int(n)
    rotting = _rotting(f, ages, thresholds, now)
    past = _past_stays(f)
    result = []
    for s in stages:
        here, left = ages.get(s, {}), past.get(s, {})
        result.append({"stage": s, "count": sum(here.values()), "median_days": _round(histogram_percentile(here, .5)),
                       "p90_days": _round(histogram_percentile(here, .9)), "threshold_days": thresholds.get(s),
                       "rotting": rotting.get(s, 0), "moved_on": sum(left.values()),
                       "past_median_days": _round(histogram_percentile(left, .5)),
                       "past_p90_days": _round(histogram_percentile(left, .9))})
    return result


def _rotting(f: MetricFilters, ages: dict[str, dict[int, int]], thresholds: dict[str, int], now: datetime) -> dict:
    """Deals in their stage for longer than its threshold: the whole UTC days before the cut from
    the histogram, the day the cut falls in from the deals (one statement for every stage)."""
    today = now.date()
    result, boundary = {}, []
    for stage, limit in thresholds.items():
        cut = now - timedelta(days=limit)
        days_before = (today - cut.date()).days  # entered on a day before the cut's day: rotting
        result[stage] = sum(n for days, n in ages.get(stage, {}).items() if days > days_before)
        boundary.append(and_(Opportunity.stage == stage, Opportunity.stage_entered_at >= _midnight(cut.date()),
                             Opportunity.stage_entered_at < cut))
    if boundary:
        for stage, n in session().execute(select(Opportunity.stage, func.count()).where(*_open(f), or_(*boundary))
                                          .group_by(Opportunity.stage)):
            result[stage] = result.get(stage, 0) + n
    return result


def _past_stays(f: MetricFilters) -> dict[str, dict[int, int]]:
    """{stage: {whole days: stays}} of the deals that left a stage within the period: whole UTC
    days from the aggregate, the period's partial days from the audit rows themselves."""
    first, stop, edges = whole_utc_days(f.start_at, f.end_at)
    result: dict[str, dict[int, int]] = {}

    def add(stage, days, n):
        result.setdefault(stage, {}).setdefault(days, 0)
        result[stage][days] += int(n)

    for stage, days, n in figure_rows(f, "stays", ("stage", "days"),
                                      where=lambda t: [t.c.left_day >= first, t.c.left_day < stop]):
        add(stage, days, n)
    e = OpportunityEvent
    stage = sources.stay_stage_sql()
    days = sources.whole_days_sql(e.created_at, e.previous_stage_entered_at)
    # Seeing every account, the scope is the project part only, applied like the aggregate's rows
    # are: on the project the stage change recorded (_event_scope), not through each deal.
    options = {scope.UNSCOPED: True} if scope.current().all_accounts else {}
    for since, until in _two(edges):  # one range a statement: an index-only scan each
        for stage_left, stay, n in session().execute(
                select(stage, days, func.count())
                .where(e.event_type == "stage_changed", e.previous_stage_entered_at.isnot(None), stage.isnot(None),
                       e.created_at >= since, e.created_at < until, *_event_scope(f))
                .group_by(stage, days).execution_options(**options)):
            add(stage_left, int(stay), n)
    return result


def _two(edges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The period's two edges, an empty range standing for a missing one (the statement count of a
    page stays the same whatever the viewer's zone and period)."""
    empty = (_midnight(date(2000, 1, 1)), _midnight(date(2000, 1, 1)))
    return (list(edges) + [empty, empty])[:2]


def _event_scope(f: MetricFilters) -> list:
    """The filters and the project part of the read scope on a stage change's own owner and
    project (those the aggregate is keyed by)."""
    e = OpportunityEvent
    conditions = _chosen(f, e.owner_user_id, e.project_id)
    view = scope.current()
    if view.all_accounts and not view.all_projects:
        conditions.append(scope.project_visible(e.project_id, view))
    return conditions


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)


# --- win rate -------------------------------------------------------------------------------

def win_rate(f: MetricFilters) -> dict:
    """won / (won + lost) of deals closed in the period: overall, by owner and by source (whole
    UTC days from the aggregate, the period's partial days from the deals)."""
    first, stop, edges = whole_utc_days(f.start_at, f.end_at)
    tally: dict[tuple, list[int]] = {}
    for owner, source, won, lost in figure_rows(f, "closed", ("owner_user_id", "source"),
                                                where=lambda t: [t.c.closed_day >= first, t.c.closed_day < stop]):
        counts = tally.setdefault((_owner_id(owner), source or None), [0, 0])
        counts[0] += int(won or 0)
        counts[1] += int(lost or 0)
    for since, until in _two(edges):
        for owner, source, status, n in session().execute(
                select(Opportunity.owner_user_id, Opportunity.source, Opportunity.status, func.count())
                .where(Opportunity.status.in_(["won", "lost"]), Opportunity.proposed.is_(False), *_chosen(f),
                       Opportunity.closed_at >= since, Opportunity.closed_at < until)
                .group_by(Opportunity.owner_user_id, Opportunity.source, Opportunity.status)):
            counts = tally.setdefault((owner, source or None), [0, 0])
            counts[0 if status == "won" else 1] += n
    names = _names()

    def by(index):
        grouped: dict = {}
        for key, (won, lost) in tally.items():
            counts = grouped.setdefault(key[index], [0, 0])
            counts[0] += won
            counts[1] += lost
        return sorted(grouped.items(), key=lambda kv: (kv[0] is None, str(kv[0])))

    won = sum(c[0] for c in tally.values())
    lost = sum(c[1] for c in tally.values())
    return {"overall": _rate(won, lost),
            "by_owner": [{"owner_user_id": o, "owner": names.get(o), **_rate(w, l)} for o, (w, l) in by(0) if w + l],
            "by_source": [{"source": s, **_rate(w, l)} for s, (w, l) in by(1) if w + l]}


def _rate(won, lost) -> dict:
    won, lost = int(won or 0), int(lost or 0)
    return {"won": won, "lost": lost, "rate": round(won / (won + lost), 4) if won + lost else None}


# --- next-step SLA --------------------------------------------------------------------------

def sla(f: MetricFilters, limit: int = 200) -> dict:
    """Overdue next steps by owner (days before today from the aggregate, today's from the deals)
    and the first of them; open deals with no next step (count and the longest waiting)."""
    now = _utc(f.now)
    today = now.date()
    overdue: dict = {}
    missing = 0
    for owner, due_day, n in figure_rows(f, "next_steps", ("owner_user_id", "due_day"),
                                         where=lambda t: [t.c.due_day < today]):
        if due_day == NO_DAY:
            missing += int(n)
        else:
            overdue[_owner_id(owner)] = overdue.get(_owner_id(owner), 0) + int(n)
    for owner, n in session().execute(
            select(Opportunity.owner_user_id, func.count())
            .where(*_open(f), Opportunity.next_step_due_at >= _midnight(today), next_step_overdue(now))
            .group_by(Opportunity.owner_user_id)):
        overdue[owner] = overdue.get(owner, 0) + n
    names = _names()
    by_owner = sorted(({"owner_user_id": o, "owner": names.get(o), "overdue": n} for o, n in overdue.items() if n),
                      key=lambda r: (-r["overdue"], str(r["owner_user_id"])))
    columns = (Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.owner_user_id, Opportunity.next_step_text,
               Opportunity.next_step_due_at, Account.name.label("account"))
    overdue_list = session().execute(select(*columns).join(Account, Account.id == Opportunity.account_id)
                                     .where(*_open(f), next_step_overdue(now))
                                     .order_by(Opportunity.next_step_due_at).limit(limit)).all()
    missing_list = session().execute(select(*columns).join(Account, Account.id == Opportunity.account_id)
                                     .where(*_open(f), Opportunity.next_step_due_at.is_(None))
                                     .order_by(Opportunity.stage_entered_at).limit(limit)).all()
    return {"overdue_total": sum(r["overdue"] for r in by_owner), "by_owner": by_owner,
            "overdue": [_deal(r, names, f.now) for r in overdue_list],
            "no_next_step_total": missing, "no_next_step": [_deal(r, names, f.now) for r in missing_list]}


def _deal(row, names, now) -> dict:
    due = row.next_step_due_at
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=timezone.utc)
    return {"id": str(row.id), "name": row.name, "account": row.account, "stage": row.stage,
            "owner_user_id": row.owner_user_id, "owner": names.get(row.owner_user_id),
            "next_step_text": row.next_step_text, "next_step_due_at": due.isoformat() if due else None,
            "days_overdue": days_overdue(due, now)}


# --- why deals stall ------------------------------------------------------------------------

# The report's sort keys and the direction each one starts in (the first is the default: the
# biggest amounts first, so the money at risk leads). A direction is that of the value shown:
# "days" desc lists the longest in their stage first; an empty value (no amount, no next step,
# never touched) counts as the smallest.
STALL_SORTS = {"amount": "desc", "days": "desc", "due": "asc", "touch": "asc", "deal": "asc", "account": "asc",
               "owner": "asc", "stage": "asc"}
DEFAULT_STALL_SORT = "amount"


def stall_order(sort: str | None, direction: str | None) -> tuple[str, str]:
    """A sort key and direction from the query string; the default for anything unknown."""
    sort = sort if sort in STALL_SORTS else DEFAULT_STALL_SORT
    return sort, direction if direction in ("asc", "desc") else STALL_SORTS[sort]


def _latest(*values):
    """SQL: the latest of these times (PostgreSQL's greatest, SQLite's multi-argument max)."""
    kind = DateTime(timezone=True)
    return func.greatest(*values, type_=kind) if on_postgres(session()) else func.max(*values, type_=kind)


def deal_touch():
    """SQL: a deal's last touch. Its account's last touch moves with every audit event and note of
    the account's deals and every client message (the audit listener and the inbound ingest keep
    it); the deal's own creation and its last stage change are touches too, and `stage_entered_at`
    holds the later of them (as the change request dated it), so a deal created today is touched
    today even when its account was quiet."""
    return _latest(func.coalesce(Account.last_touch_at, Opportunity.stage_entered_at), Opportunity.stage_entered_at)


def _stall_statement(f: MetricFilters, sort: str, direction: str):
    thresholds, quiet = rotting_days(), no_touch_days()
    now = f.now.astimezone(timezone.utc)  # SQLite compares the stored UTC text: bind UTC too
    in_stage = _days(literal(now, DateTime(timezone=True)), Opportunity.stage_entered_at)
    threshold = case(*[(Opportunity.stage == s, d) for s, d in thresholds.items()], else_=None)
    touch = deal_touch()
    owner = func.trim(User.first_name + literal(" ") + User.last_name)
    stages = stage_table().names()
    keys = {"amount": (Opportunity.amount_estimate, False), "days": (Opportunity.stage_entered_at, True),
            "due": (Opportunity.next_step_due_at, False), "touch": (touch, False), "deal": (Opportunity.name, False),
            "account": (Account.name, False), "owner": (owner, False),
            "stage": (case(*[(Opportunity.stage == s, i) for i, s in enumerate(stages)], else_=len(stages)), False)}
    column, inverted = keys[sort]
    ascending = (direction == "asc") != inverted
    empty_first = direction == "asc"  # an empty value is the smallest one
    first = column.asc() if ascending else column.desc()
    order = [first.nulls_first() if empty_first else first.nulls_last()]
    if sort != "amount":
        order.append(Opportunity.amount_estimate.desc().nulls_last())
    return (select(Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.owner_user_id,
                   Opportunity.amount_estimate, Opportunity.currency, Opportunity.stage_entered_at,
                   Opportunity.next_step_text, Opportunity.next_step_due_at, Account.name.label("account"),
                   owner.label("owner"), touch.label("last_touch"))
            .join(Account, Account.id == Opportunity.account_id)
            .outerjoin(User, User.id == Opportunity.owner_user_id)
            .where(*_open(f))
            .where(or_(next_step_overdue(now), Opportunity.next_step_due_at.is_(None),
                       in_stage > threshold, touch < now - timedelta(days=quiet)))
            .order_by(*order, Opportunity.stage_entered_at, Opportunity.id))


def stalled_rows(f: MetricFilters, sort: str = DEFAULT_STALL_SORT, direction: str | None = None,
                 limit: int | None = None, chunk: int = 1000):
    """Every open deal that is overdue, has no next step, sits past its stage threshold or had no
    touch for CRM_NO_TOUCH_DAYS, with its reasons and days, in the asked order (one statement),
    yielded as the database sends them (`chunk` rows at a time: the CSV streams 70,000 of them)."""
    sort, direction = stall_order(sort, direction)
    statement = _stall_statement(f, sort, direction).limit(limit)
    read = _stall_reader(f.now, rotting_days(), no_touch_days())
    for row in session().execute(statement, execution_options={"yield_per": chunk}):
        yield read(row)


def stalled(f: MetricFilters, limit: int | None = None, sort: str = DEFAULT_STALL_SORT,
            direction: str | None = None) -> list[dict]:
    """The stalled deals as a list (the page: the first `limit` of them)."""
    return list(stalled_rows(f, sort, direction, limit=limit))


def _stall(row, now: datetime, thresholds: dict[str, int], quiet: int) -> dict:
    """One stalled deal with its reasons (see `_stall_reader`)."""
    return _stall_reader(now, thresholds, quiet)(row)


def _stall_reader(now: datetime, thresholds: dict[str, int], quiet: int):
    """A function turning a row of the report's statement into the stalled deal with its reasons.
    Days are whole days of the viewer's calendar (`now` carries their zone): 0 means today;
    `due_day` and `touch_day` are those local dates. What is the same for every row is computed
    once here (the CSV reads 70,000 rows)."""
    zone = now.tzinfo or timezone.utc
    today, now = now.astimezone(zone).date(), now.astimezone(timezone.utc)
    quiet_since = now - timedelta(days=quiet)
    limits = {stage: timedelta(days=d) for stage, d in thresholds.items()}

    def read(row) -> dict:
        due, touched, entered = as_utc(row.next_step_due_at), as_utc(row.last_touch), as_utc(row.stage_entered_at)
        due_day = None if due is None else due.astimezone(zone).date()
        touch_day = None if touched is None else touched.astimezone(zone).date()
        days_in_stage = max(0, (today - entered.astimezone(zone).date()).days)
        limit = limits.get(row.stage)
        reasons = []
        if is_overdue(due, now):
            reasons.append({"reason": "overdue", "days": max(0, (today - due_day).days)})
        if due is None:
            reasons.append({"reason": "no_next_step", "days": days_in_stage})
        if limit is not None and now - entered > limit:
            reasons.append({"reason": "past_threshold", "days": days_in_stage})
        if touched is None or touched < quiet_since:
            reasons.append({"reason": "no_touch", "days": max(0, (today - touch_day).days) if touched else None})
        return {"id": str(row.id), "name": row.name, "account": row.account, "stage": row.stage,
                "owner_user_id": row.owner_user_id, "owner": row.owner or None,
                "amount": row.amount_estimate, "currency": row.currency, "days_in_stage": days_in_stage,
                "stage_entered_at": entered, "next_step_text": row.next_step_text, "next_step_due_at": due,
                "due_day": due_day, "last_touch": touched, "touch_day": touch_day, "reasons": reasons}
    return read
