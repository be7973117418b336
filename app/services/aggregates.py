"""Maintained aggregates: additive totals kept in the same transaction as every change of the rows
they summarise, provably equal to a recomputation.

An aggregate (`Aggregate`, `register`) names its table, the entity it follows, `key(state)` (a
tuple of the table's key columns, or None: the row is not counted) and `values(state)` (additive
columns: counts, sums). `state` is a dict of the entity's columns (`fields`) before or after a
change (None for an insert / a delete).

Maintenance: a `before_flush` listener (installed after the audit listener, so it runs after the
rules decided the final values) notes the state each changed row had before the flush; an
`after_flush` listener reads the state after it, subtracts the old key's values and adds the new
key's, sums the deltas per (table, key) and applies them in sorted (table, key) order with one
`INSERT … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c` per table (PostgreSQL and SQLite
3.24+): atomic increments, no lost update under concurrent writers, and row locks always taken in
the same order (no deadlock). A change that moves nothing (a next step, a note) writes nothing.

`rebuild()` recomputes every table from scratch (DELETE + INSERT … SELECT … GROUP BY, one
transaction, the tables and their sources locked); `differences()` lists the keys where a table
and a recomputation disagree (empty: equal). Writes that bypass the ORM (bench/generate.py's raw
SQL, bulk UPDATEs) must call `rebuild()` — or `note_change()` per row — afterwards.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from sqlalchemy import Date, Table, and_, case, cast, event, func, inspect, literal, select, text, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from app.extensions import db, on_postgres, upsert
from app.models import Account, Opportunity
from app.models.aggregates import (NIL_UUID, NO_OWNER, AccountCount, AccountOpenTotal, AccountPipeline,
                                   AccountPipelineOutside, BoardClosedDay, BoardOpenTotal)
from app.models.types import GUID, as_utc

# Modules that register aggregates at import (install() imports them): add yours here.
AGGREGATE_MODULES: tuple[str, ...] = ("app.services.aggregates", "app.services.report_aggregates")

_OLD = "crm_aggregates_old"  # session.info: {id(obj): (obj, state before this flush)}


@dataclass(frozen=True)
class Aggregate:
    """One maintained table. `source()` is the SELECT recomputing it from scratch: its columns
    labelled like the table's, key columns first, grouped by the key (used by rebuild and
    differences)."""
    name: str
    table: Table
    entity: type
    fields: tuple[str, ...]
    key: Callable[[dict], tuple | None]
    values: Callable[[dict], dict]
    source: Callable[[], object]
    key_columns: tuple[str, ...] = field(default=())
    value_columns: tuple[str, ...] = field(default=())


_registry: dict[str, Aggregate] = {}


def register(name: str, model_or_table, entity: type, fields, key, values, source) -> Aggregate:
    """Register (or replace, on re-import) an aggregate; returns it."""
    table = getattr(model_or_table, "__table__", model_or_table)
    keys = tuple(c.name for c in table.primary_key.columns)
    aggregate = Aggregate(name, table, entity, tuple(fields), key, values, source, keys,
                          tuple(c.name for c in table.columns if c.name not in keys))
    _registry[name] = aggregate
    return aggregate


def registered(names=None) -> list[Aggregate]:
    """The registered aggregates (those named, if given), in table-name order."""
    chosen = [a for a in _registry.values() if names is None or a.name in names]
    unknown = set(names or ()) - set(_registry)
    if unknown:
        raise KeyError(f"no aggregate named {', '.join(sorted(unknown))}")
    return sorted(chosen, key=lambda a: (a.table.name, a.name))


# ---------------------------------------------------------------- maintenance

def _followed(obj) -> list[Aggregate]:
    return [a for a in _registry.values() if isinstance(obj, a.entity)]


def _fields(obj) -> tuple[str, ...]:
    return tuple(sorted({f for a in _followed(obj) for f in a.fields}))


def _old_state(session: Session, obj) -> dict:
    """The row's values before this flush (a foreign key set through its relation included)."""
    from .audit import _field_value  # the audit listener's reading of "before", one definition

    names = _fields(obj)
    state = inspect(obj)
    unknown = [n for n in names if state.committed_state.get(n, None) is NO_VALUE]
    values = {n: _field_value(obj, n, old=True) for n in names}
    if unknown:  # changed without having been loaded: read what the database still holds
        mapper = state.mapper
        row = session.connection().execute(
            select(*(mapper.columns[n] for n in unknown)).where(
                and_(*(c == v for c, v in zip(mapper.primary_key, state.identity))))).first()
        if row is not None:
            values.update(dict(zip(unknown, row)))
    return values


def _new_state(obj) -> dict:
    return {n: getattr(obj, n) for n in _fields(obj)}


def _before_flush(session: Session, flush_context, instances) -> None:
    if not _registry:
        return
    noted = session.info.setdefault(_OLD, {})
    for obj in list(session.dirty) + list(session.deleted):
        if id(obj) not in noted and _followed(obj) and inspect(obj).persistent:
            with session.no_autoflush:
                noted[id(obj)] = (obj, _old_state(session, obj))


def _after_flush(session: Session, flush_context) -> None:
    noted = session.info.pop(_OLD, {})
    changes = []
    for obj in session.new:
        if _followed(obj):
            changes.append((obj, None, _new_state(obj)))
    for obj in session.dirty:
        if _followed(obj) and session.is_modified(obj, include_collections=False):
            old = noted[id(obj)][1] if id(obj) in noted else _old_state(session, obj)
            changes.append((obj, old, _new_state(obj)))
    for obj in session.deleted:
        if _followed(obj):
            changes.append((obj, noted[id(obj)][1] if id(obj) in noted else _old_state(session, obj), None))
    if changes:
        apply(session.connection(), deltas(changes))


def _after_rollback(session: Session) -> None:
    session.info.pop(_OLD, None)


def deltas(changes) -> dict[str, dict[tuple, dict]]:
    """{aggregate name: {key: {column: delta}}} of (obj, old state, new state) changes; keys whose
    deltas are all zero are left out."""
    result: dict[str, dict[tuple, dict]] = {}
    for obj, old, new in changes:
        for aggregate in _followed(obj):
            per_key = result.setdefault(aggregate.name, {})
            for state, sign in ((old, -1), (new, 1)):
                key = aggregate.key(state) if state is not None else None
                if key is None:
                    continue
                sums = per_key.setdefault(key, dict.fromkeys(aggregate.value_columns, 0))
                for column, value in aggregate.values(state).items():
                    sums[column] += sign * value
    return {name: {k: v for k, v in per_key.items() if any(v.values())}
            for name, per_key in result.items() if any(any(v.values()) for v in per_key.values())}


def _sort_key(key: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in key)


def apply(connection, changes: dict[str, dict[tuple, dict]]) -> None:
    """Add the deltas to the tables: tables in name order, keys sorted, one upsert per table."""
    for aggregate in registered([n for n in changes]):
        rows = [{**dict(zip(aggregate.key_columns, key)), **sums}
                for key, sums in sorted(changes[aggregate.name].items(), key=lambda kv: _sort_key(kv[0]))]
        statement = upsert(aggregate.table, connection).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=list(aggregate.key_columns),
            set_={c: aggregate.table.c[c] + statement.excluded[c] for c in aggregate.value_columns})
        connection.execute(statement)


def note_change(session: Session, entity_obj_or_type, old: dict | None, new: dict | None) -> None:
    """For a write that bypasses the flush (a bulk UPDATE): apply one row's change by hand, with
    its old and new states (dicts of the followed fields)."""
    probe = entity_obj_or_type if not isinstance(entity_obj_or_type, type) else entity_obj_or_type.__new__(entity_obj_or_type)
    apply(session.connection(), deltas([(probe, old, new)]))


def install() -> None:
    """Register the listeners once per process (after the audit listener) and the aggregates."""
    for module in AGGREGATE_MODULES:
        importlib.import_module(module)
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_soft_rollback", lambda session, previous: _after_rollback(session))


# ---------------------------------------------------------------- rebuild and check

def _lock(connection, aggregates: list[Aggregate]) -> None:
    if not on_postgres(connection):
        return  # SQLite: the write transaction holds the whole database
    for table in sorted({a.entity.__table__.name for a in aggregates}):
        connection.execute(text(f'LOCK TABLE "{table}" IN SHARE MODE'))  # writers wait, readers go on
    for aggregate in aggregates:
        connection.execute(text(f'LOCK TABLE "{aggregate.table.name}" IN EXCLUSIVE MODE'))


def rebuild(names=None) -> int:
    """Recompute the aggregates (all, or those named) from scratch in one transaction; returns the
    number of rows written."""
    aggregates = registered(names)
    written = 0
    with db.engine.begin() as connection:
        _lock(connection, aggregates)
        for aggregate in aggregates:
            columns = list(aggregate.key_columns + aggregate.value_columns)
            connection.execute(aggregate.table.delete())
            result = connection.execute(aggregate.table.insert().from_select(columns, aggregate.source()))
            written += result.rowcount or 0
            if on_postgres(connection):
                # fresh statistics for the planner at once: a table rebuilt from scratch keeps the
                # old ones until autovacuum runs (if it runs), and an estimate of hundreds of rows
                # per account where there are five made the accounts list cost 300 ms
                connection.execute(text(f"ANALYZE {aggregate.table.name}"))
    return written


def _normal(value):
    if isinstance(value, float):  # SQLite keeps NUMERIC sums as REAL
        value = Decimal(str(round(value, 5)))
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


def _rows(connection, statement, aggregate: Aggregate) -> dict[tuple, dict]:
    rows = {}
    for row in connection.execute(statement).mappings():
        values = {c: _normal(row[c]) for c in aggregate.value_columns}
        if any(values.values()):
            rows[tuple(_normal(row[c]) for c in aggregate.key_columns)] = values
    return rows


def differences(names=None) -> list[dict]:
    """Rows where a maintained table differs from a fresh recomputation (empty: all equal); a
    key whose values are all zero counts as absent. Each item: aggregate, key, stored, expected."""
    result = []
    with db.engine.connect() as connection:
        for aggregate in registered(names):
            stored = _rows(connection, select(aggregate.table), aggregate)
            # positional, as rebuild's INSERT … SELECT, read with the table's types (SQLite's REAL
            # sums come back at the table's scale)
            source = list(aggregate.source().subquery().c)
            names = aggregate.key_columns + aggregate.value_columns
            expected = _rows(connection, select(*(type_coerce(source[i], aggregate.table.c[n].type).label(n)
                                                  for i, n in enumerate(names))), aggregate)
            for key in sorted(stored.keys() | expected.keys(), key=_sort_key):
                if stored.get(key) != expected.get(key):
                    result.append({"aggregate": aggregate.name, "key": dict(zip(aggregate.key_columns, key)),
                                   "stored": stored.get(key), "expected": expected.get(key)})
    return result


# ---------------------------------------------------------------- the board's and the accounts list's

DEAL_FIELDS = ("account_id", "project_id", "stage", "status", "proposed", "owner_user_id", "forecast_category",
               "currency", "amount_estimate", "probability", "closed_at")


def owner_key(owner_id) -> int:
    return NO_OWNER if owner_id is None else owner_id


def project_key(project_id):
    return NIL_UUID if project_id is None else project_id


def deal_sums(state: dict) -> dict:
    amount = Decimal(state["amount_estimate"] or 0)
    return {"deals": 1, "amount": amount, "weighted": amount * Decimal(state["probability"] or 0)}


def counted_open(state: dict) -> bool:
    """Counted on the board's open columns and in an account's pipeline: open and accepted."""
    return state["status"] == "open" and not state["proposed"]


def counted_closed(state: dict) -> bool:
    return state["status"] != "open" and not state["proposed"] and state["closed_at"] is not None


def _owner_sql():
    return func.coalesce(Opportunity.owner_user_id, NO_OWNER)


def _amount_sql():
    return func.coalesce(Opportunity.amount_estimate, 0)


def _sums_sql():
    return (func.count().label("deals"), func.sum(_amount_sql()).label("amount"),
            func.sum(_amount_sql() * func.coalesce(Opportunity.probability, 0)).label("weighted"))


def closed_day_sql():
    """SQL: the UTC day a deal closed (the twin of `closed_day`)."""
    if on_postgres():
        return cast(func.timezone("UTC", Opportunity.closed_at), Date)
    return func.date(Opportunity.closed_at, type_=Date)


def closed_day(closed_at):
    return as_utc(closed_at).date()


def _in_project_sql():
    return case((Opportunity.project_id.is_(None), literal(False)), else_=literal(True))


def _board_open_source():
    in_project = _in_project_sql().label("in_project")
    return (select(Opportunity.stage, _owner_sql().label("owner_key"), Opportunity.forecast_category,
                   Opportunity.currency, in_project, *_sums_sql())
            .where(Opportunity.status == "open", Opportunity.proposed.is_(False))
            .group_by(Opportunity.stage, _owner_sql(), Opportunity.forecast_category, Opportunity.currency,
                      _in_project_sql()))


def _board_closed_source():
    day = closed_day_sql()
    return (select(day.label("closed_on"), Opportunity.stage, _owner_sql().label("owner_key"),
                   Opportunity.forecast_category, Opportunity.currency, _in_project_sql().label("in_project"),
                   *_sums_sql())
            .where(Opportunity.status != "open", Opportunity.proposed.is_(False), Opportunity.closed_at.isnot(None))
            .group_by(day, Opportunity.stage, _owner_sql(), Opportunity.forecast_category, Opportunity.currency,
                      _in_project_sql()))


def _account_open_source():
    project = func.coalesce(Opportunity.project_id, literal(NIL_UUID, GUID()))
    return (select(Opportunity.account_id, project.label("project_key"), Opportunity.stage,
                   _owner_sql().label("owner_key"), Opportunity.forecast_category, Opportunity.currency, *_sums_sql())
            .where(Opportunity.status == "open", Opportunity.proposed.is_(False))
            .group_by(Opportunity.account_id, project, Opportunity.stage, _owner_sql(), Opportunity.forecast_category,
                      Opportunity.currency))


def _account_pipeline_source():
    return (select(Opportunity.account_id, Opportunity.currency, func.count().label("deals"),
                   func.sum(_amount_sql()).label("amount"))
            .where(Opportunity.status == "open", Opportunity.proposed.is_(False))
            .group_by(Opportunity.account_id, Opportunity.currency))


def _account_pipeline_outside_source():
    return _account_pipeline_source().where(Opportunity.project_id.is_(None))


def _account_counts_source():
    owner = func.coalesce(Account.owner_user_id, NO_OWNER)
    return (select(Account.status, Account.segment, owner.label("owner_key"), func.count().label("accounts"))
            .where(Account.merged_into_id.is_(None)).group_by(Account.status, Account.segment, owner))


register("board_open", BoardOpenTotal, Opportunity, DEAL_FIELDS,
         key=lambda s: ((s["stage"], owner_key(s["owner_user_id"]), s["forecast_category"], s["currency"],
                         s["project_id"] is not None) if counted_open(s) else None),
         values=deal_sums, source=_board_open_source)
register("board_closed", BoardClosedDay, Opportunity, DEAL_FIELDS,
         key=lambda s: ((closed_day(s["closed_at"]), s["stage"], owner_key(s["owner_user_id"]), s["forecast_category"],
                         s["currency"], s["project_id"] is not None) if counted_closed(s) else None),
         values=deal_sums, source=_board_closed_source)
register("account_open", AccountOpenTotal, Opportunity, DEAL_FIELDS,
         key=lambda s: ((s["account_id"], project_key(s["project_id"]), s["stage"], owner_key(s["owner_user_id"]),
                         s["forecast_category"], s["currency"]) if counted_open(s) else None),
         values=deal_sums, source=_account_open_source)
def _pipeline_values(state: dict) -> dict:
    return {"deals": 1, "amount": Decimal(state["amount_estimate"] or 0)}


register("account_pipeline", AccountPipeline, Opportunity, DEAL_FIELDS,
         key=lambda s: (s["account_id"], s["currency"]) if counted_open(s) else None,
         values=_pipeline_values, source=_account_pipeline_source)
register("account_pipeline_outside", AccountPipelineOutside, Opportunity, DEAL_FIELDS,
         key=lambda s: (s["account_id"], s["currency"]) if counted_open(s) and s["project_id"] is None else None,
         values=_pipeline_values, source=_account_pipeline_outside_source)
register("account_counts", AccountCount, Account, ("status", "segment", "owner_user_id", "merged_into_id"),
         key=lambda s: (s["status"], s["segment"], owner_key(s["owner_user_id"])) if s["merged_into_id"] is None else None,
         values=lambda s: {"accounts": 1}, source=_account_counts_source)
