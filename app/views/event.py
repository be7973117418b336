"""The audit trails as generated, read-only lists: each row says what changed in words — the
fields by their labels, old → new, values as a person reads them (app.views.base.readable) — and
its evidence as links, quoted notes and client messages (the same partial as the timelines)."""
from __future__ import annotations

import uuid

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from app.domain.fields import TRACKED_FIELDS
from app.models import Account, AuditEvent, Contact, Offer, OpportunityEvent, Project, ProjectMember
from app.web import CrmInterface

from .base import CrmModelView, ReadableColumns
from .helpers import MONEY_FIELDS, readable
from .labels import CHOICE_LABELS, COLUMN_LABELS

# the order a form shows the fields in (stored JSON keeps none)
FIELD_ORDER = {name: i for i, name in enumerate(dict.fromkeys(
    TRACKED_FIELDS + tuple(f for model in (Account, Contact, Project, ProjectMember, Offer) for f in model.audit_fields)))}
ACTION_LABELS = {"created": _l("Creation"), "changed": _l("Change"), "deleted": _l("Deletion")}
# an audited record's page: (model, endpoint, the attribute with the page's key)
RECORD_PAGES = {"account": ("Account", "AccountPageView.show", "id"), "contact": ("Contact", "ContactView.show", "id"),
                "project": ("Project", "ProjectPageView.show", "id"), "offer": ("Offer", "OfferView.show", "id"),
                "project_member": ("ProjectMember", "ProjectPageView.show", "project_id")}


class EventInterface(CrmInterface):
    """The rows of an audit trail, plus the columns a person reads: `changes` (old → new per
    field) and `record` (the audited record by name) are made from the whole row."""

    def _get_attr_value(self, item, col):
        if col in ("changes", "record"):
            return item  # the row's formatter reads what it needs
        return super()._get_attr_value(item, col)


def _field(name: str, value, currency) -> Markup:
    return escape(readable(name, value, currency if name in MONEY_FIELDS else None))


def change_list(old: dict | None, new: dict | None, currency: str | None = None) -> Markup:
    """Field: old → new, one per changed field; only the values when there is no "before"
    (a record created) or no "after" (deleted); "—" when nothing differs."""
    old, new = old or {}, new or {}
    old_currency = old.get("currency") or new.get("currency") or currency  # each amount in its own
    new_currency = new.get("currency") or old.get("currency") or currency
    parts = []
    for name in sorted(set(new) | set(old), key=lambda n: (FIELD_ORDER.get(n, len(FIELD_ORDER)), n)):
        label = escape(str(COLUMN_LABELS.get(name, name)))
        if not old or not new:
            value = new.get(name, old.get(name))
            amount_shown = name == "currency" and any((new or old).get(f) is not None for f in MONEY_FIELDS)
            if value not in (None, "", []) and not amount_shown:  # the amount carries its currency
                parts.append(Markup("{}: {}").format(label, _field(name, value, new_currency)))
            continue
        before, after = _field(name, old.get(name), old_currency), _field(name, new.get(name), new_currency)
        if before != after:  # "0.800" and 0.8 are the same probability
            parts.append(Markup('{}: <del class="text-muted">{}</del> → <ins>{}</ins>').format(label, before, after))
    return Markup("; ").join(parts) if parts else Markup("—")


def _opportunity_changes(event) -> Markup:
    if event.event_type == "note_added":
        return Markup("<q>{}</q>").format((event.new_value or {}).get("text") or "")
    currency = getattr(event.opportunity, "currency", None)
    if event.event_type == "created":
        return change_list(None, event.new_value, currency)
    return change_list(event.old_value, event.new_value, currency)


def _audit_changes(event) -> Markup:
    if event.action == "created":
        return change_list(None, event.new_value)
    if event.action == "deleted":
        return change_list(event.old_value, None)
    return change_list(event.old_value, event.new_value)


def evidence(refs) -> Markup:
    """A row's evidence: links, quoted notes, client messages quoted with sender and time (the
    timelines' partial, so it reads the same everywhere)."""
    from app.queries.inbox import messages_by_id

    from .helpers import can, when

    if not refs:
        return Markup("—")
    messages = messages_by_id(ref.get("id") for ref in refs if ref.get("type") == "message")
    return Markup('<ul class="list-unstyled evidence">{}</ul>').format(Markup("").join(
        Markup("<li>{}</li>").format(Markup(render_template("pages/_evidence_ref.html", ref=ref, evidence_messages=messages,
                                                            when=when, can=can)))
        for ref in refs))


def _opportunity_link(opportunity) -> Markup | str:
    if opportunity is None:
        return "—"
    return Markup('<a href="{}">{}</a>').format(url_for("OpportunityPageView.show", pk=opportunity.id), str(opportunity))


def _record_link(event) -> Markup | str:
    """The audited record by its name, linking to its page (a deleted one by its last name)."""
    from app import models
    from app.extensions import db

    model_name, endpoint, attribute = RECORD_PAGES.get(event.entity_type, (None, None, None))
    record = db.session.get(getattr(models, model_name), uuid.UUID(str(event.entity_id))) if model_name else None
    if record is None:
        last = (event.old_value or {}) | (event.new_value or {})
        return str(last.get("name") or last.get("title") or "—")
    name = getattr(record, "name", None) or str(record) or "—"
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, pk=getattr(record, attribute)), name)


class OpportunityEventView(CrmModelView):
    """Read-only audit trail: events are written by the rules, never by hand."""

    datamodel = EventInterface(OpportunityEvent)
    class_permission_name = "OpportunityEvent"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_permissions = ["can_read"]
    list_title = _l("Opportunity events")
    show_title = _l("Opportunity event")
    label_columns = COLUMN_LABELS
    list_columns = ["created_at", "opportunity", "event_type", "actor", "changes"]
    show_columns = ["created_at", "opportunity", "event_type", "actor", "changes", "evidence_refs"]
    search_columns = ["event_type", "actor", "created_at"]
    order_columns = ["created_at", "event_type"]
    base_order = ("created_at", "desc")
    formatters_columns = ReadableColumns(CrmModelView.formatters_columns, changes=_opportunity_changes,
                                         opportunity=_opportunity_link, evidence_refs=evidence)


class AuditEventView(CrmModelView):
    """Read-only audit trail of accounts, contacts, projects, members and offers."""

    datamodel = EventInterface(AuditEvent)
    class_permission_name = "AuditEvent"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_permissions = ["can_read"]
    list_title = _l("Record changes")
    show_title = _l("Record change")
    label_columns = {**COLUMN_LABELS, "entity_type": _l("Record"), "entity_id": _l("Record id"), "action": _l("Action"),
                     "record": _l("Name")}
    list_columns = ["created_at", "entity_type", "record", "action", "actor", "changes"]
    show_columns = ["created_at", "entity_type", "record", "account_id", "project_id", "action", "actor", "changes",
                    "evidence_refs"]
    search_columns = ["entity_type", "action", "actor", "created_at"]
    order_columns = ["created_at", "entity_type", "action"]
    base_order = ("created_at", "desc")
    formatters_columns = ReadableColumns(
        CrmModelView.formatters_columns, changes=_audit_changes, record=_record_link, evidence_refs=evidence,
        entity_type=lambda v: str(CHOICE_LABELS.get(f"entity_{v}", v)),
        action=lambda v: str(ACTION_LABELS.get(v, v)))
