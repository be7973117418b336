"""Inbound threads, their messages and their triage history in the admin: generated, read-only.

A thread changes only through the triage actions (the Triage page or POST /api/v1/inbound_threads/<id>/…),
messages only through ingestion, and the history only by those actions: none of these views has an
add, edit or delete form. All three share the "Triage" permission (Owner and Sales; Admin)."""
from __future__ import annotations

import uuid

from flask import url_for
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape

from app.models import InboundMessage, InboundThread, InboundThreadEvent
from app.web import CrmInterface

from .base import CrmModelView, ReadableColumns
from .helpers import readable
from .labels import COLUMN_LABELS

# One permission vocabulary per name: the same set as TriageView (FAB removes a name's
# permissions that a view sharing it does not declare).
TRIAGE_PERMISSIONS = ["can_read", "can_write"]
READ_ONLY_ROUTES = {"add", "edit", "delete", "download", "action", "action_post", "api_create", "api_update",
                    "api_delete", "api_column_add", "api_column_edit"}

LABELS = {
    **COLUMN_LABELS,
    "external_key": _l("External key"), "message_count": _l("Messages"), "first_message_at": _l("First message"),
    "last_message_at": _l("Last message"), "assigned_by": _l("Assigned by"), "assigned_at": _l("Assigned at"),
    "contact": _l("Contact"), "thread": _l("Thread"), "thread_id": _l("Thread"), "direction": _l("Direction"),
    "private": _l("Private note"), "sender_name": _l("Sender"), "sender_handle": _l("Sender handle"),
    "sender_email": _l("Sender e-mail"), "sender_phone": _l("Sender phone"), "text": _l("Text"),
    "sent_at": _l("Sent"), "edited_at": _l("Edited"), "action": _l("Action"), "details": _l("Details"),
    "id": _l("Triage history"), "account_id": _l("Account id"),
}

ACTION_LABELS = {
    "assigned": _l("Assigned to an account"), "account_created": _l("Account created from the sender"),
    "opportunity_proposed": _l("Opportunity proposed"), "ignored": _l("Ignored"), "undone": _l("Undone"),
    "auto_attached": _l("Attached automatically"),
}
# what a triage action's details name, besides the thread's state before it
DETAIL_LABELS = {"before": _l("Before"), "reason": _l("Matched by"), "undid": _l("Undid")}
MATCH_REASONS = {"contact": _l("the sender is a contact"), "domain": _l("the e-mail domain of an account")}
PREVIEW = 140


def _thread_link(thread):
    if thread is None:
        return "—"
    url = url_for("InboundThreadView.show", pk=str(thread.id))
    return Markup('<a href="{}">{}</a>').format(url, str(thread) or "—")


def _thread_id_link(thread_id):
    if not thread_id:
        return "—"
    url = url_for("InboundThreadView.show", pk=str(thread_id))
    return Markup('<a href="{}">{}</a>').format(url, gettext("Open thread"))


def _history_link(thread_id):
    """On a thread's page: its triage actions (the history list filtered by this thread)."""
    url = url_for("InboundThreadEventView.list") + f"?_flt_0_thread_id={escape(str(thread_id))}"
    return Markup('<a href="{}">{}</a>').format(Markup(url), gettext("Actions taken on this thread"))


def _contact_name(contact_id) -> str:
    from app.extensions import db
    from app.models import Contact

    try:
        contact = db.session.get(Contact, uuid.UUID(str(contact_id)))
    except ValueError:
        contact = None
    return contact.name if contact is not None else "—"


def _detail(name, value) -> str:
    if name == "contact_id" and value:
        return _contact_name(value)
    if name == "reason":
        return str(MATCH_REASONS.get(value, value))
    if name == "undid":
        return _undone_action(value)
    if isinstance(value, dict):
        return "; ".join(f"{_detail_label(k)}: {_detail(k, v)}" for k, v in value.items()) or "—"
    return readable(name, value)


def _detail_label(name) -> str:
    return str(DETAIL_LABELS.get(name) or COLUMN_LABELS.get(name) or LABELS.get(name, name))


def _undone_action(event_id) -> str:
    """The action an undo took back: what it was and when."""
    from app.extensions import db

    from .helpers import when

    try:
        event = db.session.get(InboundThreadEvent, uuid.UUID(str(event_id)))
    except ValueError:
        event = None
    if event is None:
        return "—"
    return f"{ACTION_LABELS.get(event.action, event.action)}, {when(event.created_at)}"


def _details(value):
    """What a triage action recorded, in words: the records it attached, and how the thread was before."""
    if not value:
        return "—"
    items = sorted(value.items(), key=lambda kv: kv[0] == "before")  # what it did first, "before" last
    return Markup("<br>").join(f"{_detail_label(k)}: {_detail(k, v)}" for k, v in items)


def _preview(text):
    text = text or ""
    if not text.strip():
        return "—"
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"


class MessageListWidget(ListWidget):
    """The message list shows a preview of each text; the show page shows it whole."""

    def __init__(self, **kwargs):
        kwargs["formatters_columns"] = ReadableColumns(kwargs.get("formatters_columns") or {}, text=_preview)
        super().__init__(**kwargs)


class InboundMessageView(CrmModelView):
    """Messages as stored by ingestion (webhooks, imports, backfill): read-only."""

    datamodel = CrmInterface(InboundMessage)
    class_permission_name = "Triage"
    base_permissions = TRIAGE_PERMISSIONS
    exclude_route_methods = READ_ONLY_ROUTES
    list_title = _l("Inbound messages")
    show_title = _l("Inbound message")
    label_columns = LABELS
    list_widget = MessageListWidget
    list_columns = ["sent_at", "thread", "direction", "sender_name", "text", "private"]
    show_columns = ["sent_at", "thread", "source", "direction", "private", "sender_name", "sender_email",
                    "sender_phone", "sender_handle", "text", "edited_at", "external_key", "created_at"]
    search_columns = ["text", "sender_name", "sender_email", "sender_handle", "direction", "source", "private",
                      "sent_at", "thread_id"]
    order_columns = ["sent_at", "sender_name"]
    base_order = ("sent_at", "desc")
    formatters_columns = ReadableColumns(CrmModelView.formatters_columns, thread=_thread_link)


class InboundThreadEventView(CrmModelView):
    """Triage actions on threads (who, when, what it was before): read-only."""

    datamodel = CrmInterface(InboundThreadEvent)
    class_permission_name = "Triage"
    base_permissions = TRIAGE_PERMISSIONS
    exclude_route_methods = READ_ONLY_ROUTES
    list_title = _l("Inbound thread events")
    show_title = _l("Inbound thread event")
    label_columns = LABELS
    list_columns = ["created_at", "thread_id", "action", "actor"]
    show_columns = ["created_at", "thread_id", "action", "actor", "details"]
    search_columns = ["action", "created_at", "thread_id"]
    order_columns = ["created_at", "action"]
    base_order = ("created_at", "desc")
    formatters_columns = ReadableColumns(CrmModelView.formatters_columns, thread_id=_thread_id_link,
                                         action=lambda v: str(ACTION_LABELS.get(v, v)), details=_details)


class InboundThreadView(CrmModelView):
    """Threads with their messages (newest first, paged) on the show page: read-only — the triage
    actions are the way to change a thread."""

    datamodel = CrmInterface(InboundThread)
    class_permission_name = "Triage"
    base_permissions = TRIAGE_PERMISSIONS
    exclude_route_methods = READ_ONLY_ROUTES
    list_title = _l("Inbound threads")
    show_title = _l("Inbound thread")
    label_columns = LABELS
    list_columns = ["last_message_at", "title", "source", "status", "account", "contact", "opportunity",
                    "message_count"]
    show_columns = ["title", "source", "status", "account", "contact", "opportunity", "message_count",
                    "first_message_at", "last_message_at", "assigned_by", "assigned_at", "external_key",
                    "created_at", "updated_at", "id"]
    # Plain columns only: a relation here would load the whole related table into a select.
    search_columns = ["title", "status", "source", "external_key", "message_count", "last_message_at",
                      "account_id"]
    order_columns = ["last_message_at", "title", "status", "source", "message_count"]
    base_order = ("last_message_at", "desc")
    formatters_columns = ReadableColumns(CrmModelView.formatters_columns, id=_history_link)
    related_views = [InboundMessageView]

