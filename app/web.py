"""What every web entry point (generated views, custom pages, REST) shares: the actor of the
request, change requests built from it, domain messages translated, and the datamodel whose
writes go through the verbs. Entry points never open a transaction or commit."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app, g, has_request_context
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.filters import FilterEqual, SQLAFilterConverter, get_field_setup_query
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import false
from sqlalchemy_utils import UUIDType
from flask_babel import gettext

from app.domain import localtime
from app.domain.errors import DomainError
from app.domain.localtime import valid_zone
from app.extensions import db
from app.domain.evidence import parse_evidence_text
from app.security import actor_for
from app import scope, settings
from app.services import records
from app.services.context import ChangeRequest


def request_actor():
    """The Actor of the logged-in user of this request (resolved once per request)."""
    if "crm_actor" not in g:
        user = g.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            from app.services.context import SYSTEM as anonymous
            g.crm_actor = anonymous
        else:
            # a role lookup must not flush what a form or schema has just loaded into the session:
            # that write belongs to the verb about to run, with this actor
            with db.session.no_autoflush:
                g.crm_actor = actor_for(current_app.appbuilder.sm, user)
    return g.crm_actor


def request_scope():
    """The read scope of the logged-in user of this request (None outside one, or before login)."""
    if not has_request_context():
        return None
    if "crm_scope" in g:
        return g.crm_scope
    user = g.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    actor = request_actor()
    if actor.all_projects and actor.all_accounts:
        g.crm_scope = scope.SYSTEM  # sees everything: no membership to look up
        return g.crm_scope
    with db.session.no_autoflush:
        g.crm_scope = scope.scope_for(db.session, actor.id, actor.all_projects, actor.all_accounts)
    return g.crm_scope


def request_timezone_name() -> str:
    """The viewer's zone: their own choice, else the studio's (CRM_TIMEZONE)."""
    in_request = has_request_context()
    user = g.get("user") if in_request else None
    chosen = getattr(user, "timezone", None) if user is not None and getattr(user, "is_authenticated", False) else None
    studio = settings.current().timezone
    # asked per card and per time shown: remembered for this request, keyed by what it depends on
    memo = g.get("crm_zone_name") if in_request else None
    if memo is not None and memo[0] == (chosen, studio):
        return memo[1]
    name = chosen if valid_zone(chosen) else studio
    if in_request:
        g.crm_zone_name = ((chosen, studio), name)
    return name


def request_timezone():
    """The viewer's zone as a tzinfo: dates are shown, typed and counted ("today") in it."""
    name, studio = request_timezone_name(), settings.current().timezone
    memo = g.get("crm_zone") if has_request_context() else None
    if memo is not None and memo[0] == (name, studio):
        return memo[1]
    zone = localtime.zone(name, studio)
    if has_request_context():
        g.crm_zone = ((name, studio), zone)
    return zone


def local_now():
    """Now in the viewer's zone (an aware time: comparisons stay exact, .date() is their today)."""
    return datetime.now(request_timezone())


def change_request(values=None, **more) -> ChangeRequest:
    """A change request on behalf of the request's user."""
    return ChangeRequest(actor=request_actor(), values=dict(values or {}), **more)


def owner_ids(value: str | None) -> list[int]:
    """An owner filter of a page ("me", a user id, or all/empty for everyone) as user ids."""
    value = (value or "").strip()
    if value == "me":
        return [request_actor().id]
    return [int(value)] if value.isdigit() else []


def metric_owner_ids(value: str | None) -> list[int]:
    """The owners whose numbers a metric shows: as asked with the team-metrics permission, else
    only the user's own."""
    actor = request_actor()
    return owner_ids(value) if actor.sees_everyone else [actor.id]


def translate(messages: dict[str, list[str]]) -> dict[str, list[str]]:
    return {field: [gettext(m) for m in msgs] for field, msgs in messages.items()}


class Refused(Exception):
    """A domain refusal reaching Flask-AppBuilder's generic form handling: its text is the
    translated messages (FAB flashes str(exception))."""

    def __init__(self, exc: DomainError):
        self.domain_error = exc
        super().__init__(" ".join(m for msgs in translate(exc.messages).values() for m in msgs))


class UUIDEqual(FilterEqual):
    """"Equal to" on a UUID column; a malformed value matches nothing (FAB's text filters would
    send `uuid ILIKE …` to PostgreSQL, which refuses it: a 500)."""

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        try:
            key = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
        except ValueError:
            return query.filter(false())
        return query.filter(field == key)


class UUIDFilterConverter(SQLAFilterConverter):
    conversion_table = (("is_uuid", [UUIDEqual]),) + SQLAFilterConverter.conversion_table


class ColumnFilters(Filters):
    """FAB's rison filters take the generic class of an operator ("eq" → FilterEqual) even when
    the column has its own: use the column's own filter of that operator."""

    def add_filter(self, column_name, filter_class, value):
        own = next((type(f) for f in self._search_filters.get(column_name, [])
                    if f.arg_name == getattr(filter_class, "arg_name", None)), filter_class)
        return super().add_filter(column_name, own, value)


class CrmInterface(SQLAInterface):
    """FAB's datamodel with its writes routed through the verbs (the supported extension point
    for generated forms): a refusal becomes an exception FAB shows, nothing is committed here.
    UUID columns filter by equality only."""

    filter_converter_class = UUIDFilterConverter

    def is_uuid(self, col_name: str) -> bool:
        column = self.list_columns.get(col_name)
        return column is not None and isinstance(getattr(column, "type", None), UUIDType)

    def get_filters(self, search_columns=None, search_filters=None):
        return ColumnFilters(self.filter_converter_class, self, search_columns=search_columns,
                             search_filters=search_filters)

    def add(self, item, commit: bool = True) -> None:
        self._run(records.save_record, item)

    def edit(self, item, commit: bool = True) -> None:
        self._run(records.save_record, item)

    def delete(self, item, commit: bool = True) -> None:
        self._run(records.delete_record, item)

    def _run(self, verb, item) -> None:
        evidence = parse_evidence_text(getattr(item, "evidence", "") or "")
        try:
            verb(change_request(evidence_refs=evidence), item)
        except DomainError as exc:
            raise Refused(exc) from None
