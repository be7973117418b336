from app.web import CrmInterface

from app.models import AuditEvent, OpportunityEvent

from .base import CrmModelApi


class OpportunityEventApi(CrmModelApi):
    """Read-only audit trail."""

    resource_name = "opportunity_events"
    datamodel = CrmInterface(OpportunityEvent)
    class_permission_name = "OpportunityEvent"
    exclude_route_methods = {"post", "put", "delete"}
    base_permissions = ["can_read"]
    list_columns = ["id", "opportunity_id", "event_type", "old_value", "new_value", "actor_user_id",
                    "evidence_refs", "created_at"]
    show_columns = list_columns
    search_columns = ["opportunity_id", "event_type", "actor_user_id", "created_at"]
    order_columns = ["created_at", "event_type"]
    base_order = ("created_at", "desc")


class AuditEventApi(CrmModelApi):
    """Read-only audit trail of the records (accounts, contacts, projects, members, offers)."""

    resource_name = "audit_events"
    datamodel = CrmInterface(AuditEvent)
    class_permission_name = "AuditEvent"
    exclude_route_methods = {"post", "put", "delete"}
    base_permissions = ["can_read"]
    list_columns = ["id", "entity_type", "entity_id", "account_id", "project_id", "action", "old_value",
                    "new_value", "actor_user_id", "evidence_refs", "created_at"]
    show_columns = list_columns
    search_columns = ["entity_type", "entity_id", "account_id", "project_id", "action", "actor_user_id", "created_at"]
    order_columns = ["created_at", "entity_type", "action"]
    base_order = ("created_at", "desc")
