from app.web import CrmInterface
from flask_babel import lazy_gettext as _l

from app.models import AuditEvent, OpportunityEvent

from .base import CrmModelView
from .labels import COLUMN_LABELS


class OpportunityEventView(CrmModelView):
    """Read-only audit trail: events are written by the rules, never by hand."""

    datamodel = CrmInterface(OpportunityEvent)
    class_permission_name = "OpportunityEvent"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_permissions = ["can_read"]
    list_title = _l("Opportunity events")
    show_title = _l("Opportunity event")
    label_columns = COLUMN_LABELS
    list_columns = ["created_at", "opportunity", "event_type", "actor", "old_value", "new_value"]
    show_columns = ["created_at", "opportunity", "event_type", "actor", "old_value", "new_value", "evidence_refs"]
    search_columns = ["event_type", "actor", "created_at"]
    base_order = ("created_at", "desc")


class AuditEventView(CrmModelView):
    """Read-only audit trail of accounts, contacts, projects, members and offers."""

    datamodel = CrmInterface(AuditEvent)
    class_permission_name = "AuditEvent"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_permissions = ["can_read"]
    list_title = _l("Record changes")
    show_title = _l("Record change")
    label_columns = {**COLUMN_LABELS, "entity_type": _l("Record"), "entity_id": _l("Record id"), "action": _l("Action")}
    list_columns = ["created_at", "entity_type", "action", "actor", "old_value", "new_value"]
    show_columns = ["created_at", "entity_type", "entity_id", "account_id", "project_id", "action", "actor",
                    "old_value", "new_value", "evidence_refs"]
    search_columns = ["entity_type", "action", "actor", "created_at"]
    base_order = ("created_at", "desc")
