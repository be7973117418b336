from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import Opportunity

from .base import CrmModelApi

FIELDS = ["account_id", "name", "stage", "amount_estimate", "currency", "probability", "forecast_category",
          "close_date_target", "source", "primary_competitor", "owner_user_id", "next_step_text",
          "next_step_due_at", "status", "lost_reason", "discount_percent"]


class OpportunityApi(CrmModelApi):
    resource_name = "opportunities"
    datamodel = SQLAInterface(Opportunity)
    class_permission_name = "Opportunity"
    exclude_route_methods = {"delete"}
    base_permissions = ["can_read", "can_write", "can_note"]
    list_columns = ["id"] + FIELDS + ["stage_entered_at", "closed_at", "proposed", "version", "created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "stage", "status", "owner_user_id", "account_id", "forecast_category", "proposed"]
    order_columns = ["name", "stage", "amount_estimate", "next_step_due_at", "created_at", "updated_at"]
