"""The owner's numbers: pipeline, forecast, aging, win rate, next-step SLA and stalled deals.

Each figure is one SQL aggregate over the whole table (the statement count does not grow with
the data). Percentiles use PostgreSQL's percentile_cont; on SQLite (the zero-setup default) the
same figures are computed from the rows of that one query.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import DateTime, case, func, literal, or_, select

from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent, User
from app.domain.localtime import as_utc, period_bounds
from app.models.types import utcnow

from app.domain.next_step import days_overdue, is_overdue
from .conditions import in_project, next_step_overdue
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


def _chosen(f: MetricFilters, column=Opportunity.owner_user_id) -> list:
    """The owners and the project the figures are asked for."""
    return ([column.in_(f.owner_ids)] if f.owner_ids else []) + in_project(f.project)


def _open(f: MetricFilters) -> list:
    return [Opportunity.status == "open", Opportunity.proposed.is_(False), *_chosen(f)]


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _days(later, earlier):
    """Days between two timestamps as a SQL expression (fractional)."""
    if _is_postgres():
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


def rotting_days() -> dict[str, int]:
    return dict(settings().rotting_days)


def no_touch_days() -> int:
    return settings().no_touch_days


# --- pipeline and forecast ------------------------------------------------------------------

def pipeline_and_forecast(f: MetricFilters) -> tuple[list[dict], list[dict]]:
    """One aggregate over the open deals gives both: per stage count, amount and weighted amount
    (amount × probability), and per month of close_date_target the amount of each forecast
    category (pipeline / best_case / commit) with the weighted sum."""
    month = func.to_char(Opportunity.close_date_target, "YYYY-MM") if _is_postgres() \
        else func.strftime("%Y-%m", Opportunity.close_date_target)
    amount = func.coalesce(Opportunity.amount_estimate, 0)
    rows = db.session.execute(
        select(Opportunity.stage, month, Opportunity.forecast_category, func.count(), func.sum(amount),
               func.sum(amount * func.coalesce(Opportunity.probability, 0)))
        .where(*_open(f)).group_by(Opportunity.stage, month, Opportunity.forecast_category)).all()
    stages = {s: {"stage": s, "count": 0, "amount": _money(0), "weighted": _money(0)} for s in stage_table().open_stages()}
    months: dict[str, dict] = {}
    for stage, m, category, count, total, weighted in rows:
        entry = stages.setdefault(stage, {"stage": stage, "count": 0, "amount": _money(0), "weighted": _money(0)})
        entry["count"] += count
        entry["amount"] += _money(total)
        entry["weighted"] += Decimal(weighted or 0)
        if m is None:
            continue
        month_entry = months.setdefault(m, {"month": m, "pipeline": _money(0), "best_case": _money(0),
                                            "commit": _money(0), "count": 0, "weighted": Decimal(0)})
        if category in ("pipeline", "best_case", "commit"):
            month_entry[category] += _money(total)
        month_entry["count"] += count
        month_entry["weighted"] += Decimal(weighted or 0)
    for entry in list(stages.values()) + list(months.values()):
        entry["weighted"] = _money(entry["weighted"])
    return list(stages.values()), [months[m] for m in sorted(months)]


def pipeline(f: MetricFilters) -> list[dict]:
    """Open deals per stage: count, amount and weighted amount."""
    return pipeline_and_forecast(f)[0]


def forecast(f: MetricFilters) -> list[dict]:
    """Open deals by month of close_date_target, split by forecast category."""
    return pipeline_and_forecast(f)[1]


# --- aging ----------------------------------------------------------------------------------

def aging(f: MetricFilters) -> list[dict]:
    """Per open stage: days in the current stage (median, p90), deals past the stage's rotting
    threshold, and how long deals stayed in that stage before moving on (from the history)."""
    thresholds = rotting_days()
    current = _days(literal(f.now.astimezone(timezone.utc)), Opportunity.stage_entered_at)  # SQLite drops offsets
    stages = stage_table().open_stages()
    threshold = case(*[(Opportunity.stage == s, d) for s, d in thresholds.items()], else_=None)
    now_rows = _stage_percentiles(select(Opportunity.stage, current.label("days"), threshold.label("threshold"))
                                  .where(*_open(f)))
    past_rows = _past_stage_percentiles(f)
    rotting = {s: row.get("over", 0) for s, row in now_rows.items()}
    return [{"stage": s, "count": now_rows.get(s, {}).get("count", 0),
             "median_days": now_rows.get(s, {}).get("median"), "p90_days": now_rows.get(s, {}).get("p90"),
             "threshold_days": thresholds.get(s), "rotting": rotting.get(s, 0),
             "moved_on": past_rows.get(s, {}).get("count", 0), "past_median_days": past_rows.get(s, {}).get("median"),
             "past_p90_days": past_rows.get(s, {}).get("p90")} for s in stages]


def _stage_percentiles(query) -> dict[str, dict]:
    """{stage: {count, median, p90, over}} of `days` in one aggregate (percentile_cont on
    PostgreSQL); `over` counts rows past their `threshold` column when the query has one."""
    sub = query.subquery()
    has_threshold = "threshold" in sub.c
    if _is_postgres():
        over = func.count().filter(sub.c.days > sub.c.threshold) if has_threshold else literal(0)
        rows = db.session.execute(select(sub.c.stage, func.count(), func.percentile_cont(0.5).within_group(sub.c.days),
                                         func.percentile_cont(0.9).within_group(sub.c.days), over).group_by(sub.c.stage))
        return {s: {"count": n, "median": _round(m), "p90": _round(p), "over": o} for s, n, m, p, o in rows}
    values: dict[str, list[float]] = {}
    over_counts: dict[str, int] = {}
    columns = [sub.c.stage, sub.c.days] + ([sub.c.threshold] if has_threshold else [])
    for row in db.session.execute(select(*columns)):
        values.setdefault(row[0], []).append(float(row[1]))
        if has_threshold and row[2] is not None and float(row[1]) > row[2]:
            over_counts[row[0]] = over_counts.get(row[0], 0) + 1
    return {s: {"count": len(v), "median": _round(percentile(v, 0.5)), "p90": _round(percentile(v, 0.9)),
                "over": over_counts.get(s, 0)} for s, v in values.items()}


def _past_stage_percentiles(f: MetricFilters) -> dict[str, dict]:
    """Time spent in a stage by deals that left it within the period: each stage_changed event
    carries when the deal had entered the stage it left."""
    old_stage = OpportunityEvent.old_value["stage"].as_string()
    query = (select(old_stage.label("stage"),
                    _days(OpportunityEvent.created_at, OpportunityEvent.previous_stage_entered_at).label("days"))
             .where(OpportunityEvent.event_type == "stage_changed", OpportunityEvent.created_at >= f.start_at,
                    OpportunityEvent.created_at < f.end_at, OpportunityEvent.previous_stage_entered_at.isnot(None))
             .join(Opportunity, Opportunity.id == OpportunityEvent.opportunity_id)
             .where(Opportunity.proposed.is_(False), *_chosen(f)))
    return _stage_percentiles(query)


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)


# --- win rate -------------------------------------------------------------------------------

def win_rate(f: MetricFilters) -> dict:
    """won / (won + lost) of deals closed in the period: overall, by owner and by source."""
    closed = [Opportunity.status.in_(["won", "lost"]), Opportunity.proposed.is_(False),
              Opportunity.closed_at >= f.start_at, Opportunity.closed_at < f.end_at, *_chosen(f)]
    won = func.sum(case((Opportunity.status == "won", 1), else_=0))
    lost = func.sum(case((Opportunity.status == "lost", 1), else_=0))

    def grouped(key):
        query = select(key, won, lost).where(*closed).group_by(key) if key is not None else select(won, lost).where(*closed)
        return db.session.execute(query).all()

    (overall,) = grouped(None)
    names = dict(db.session.execute(select(User.id, func.trim(User.first_name + literal(" ") + User.last_name))).all())
    return {"overall": _rate(*overall),
            "by_owner": [{"owner_user_id": o, "owner": names.get(o), **_rate(w, l)} for o, w, l in grouped(Opportunity.owner_user_id)],
            "by_source": [{"source": s, **_rate(w, l)} for s, w, l in grouped(Opportunity.source)]}


def _rate(won, lost) -> dict:
    won, lost = int(won or 0), int(lost or 0)
    return {"won": won, "lost": lost, "rate": round(won / (won + lost), 4) if won + lost else None}


# --- next-step SLA --------------------------------------------------------------------------

def sla(f: MetricFilters, limit: int = 200) -> dict:
    """Overdue next steps by owner and the list of them; open deals with no next step."""
    overdue = [*_open(f), next_step_overdue(f.now)]
    missing = [*_open(f), Opportunity.next_step_due_at.is_(None)]
    names = dict(db.session.execute(select(User.id, func.trim(User.first_name + literal(" ") + User.last_name))).all())
    by_owner = [{"owner_user_id": o, "owner": names.get(o), "overdue": n} for o, n in db.session.execute(
        select(Opportunity.owner_user_id, func.count()).where(*overdue).group_by(Opportunity.owner_user_id)
        .order_by(func.count().desc()))]
    columns = (Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.owner_user_id, Opportunity.next_step_text,
               Opportunity.next_step_due_at, Account.name.label("account"))
    overdue_list = db.session.execute(select(*columns).join(Account, Account.id == Opportunity.account_id).where(*overdue)
                                      .order_by(Opportunity.next_step_due_at).limit(limit)).all()
    missing_count = db.session.scalar(select(func.count()).select_from(Opportunity).where(*missing))
    missing_list = db.session.execute(select(*columns).join(Account, Account.id == Opportunity.account_id).where(*missing)
                                      .order_by(Opportunity.stage_entered_at).limit(limit)).all()
    return {"overdue_total": sum(r["overdue"] for r in by_owner), "by_owner": by_owner,
            "overdue": [_deal(r, names, f.now) for r in overdue_list],
            "no_next_step_total": missing_count, "no_next_step": [_deal(r, names, f.now) for r in missing_list]}


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
    return func.greatest(*values, type_=kind) if _is_postgres() else func.max(*values, type_=kind)


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
    for row in db.session.execute(statement, execution_options={"yield_per": chunk}):
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
