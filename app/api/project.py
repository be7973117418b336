from app.web import CrmInterface

from app.models import Project

from .base import CrmModelApi

FIELDS = ["account_id", "name", "status", "pm_user_id", "start_date", "end_date"]


class ProjectApi(CrmModelApi):
    resource_name = "projects"
    datamodel = CrmInterface(Project)
    class_permission_name = "Project"
    list_columns = ["id"] + FIELDS + ["created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "status", "account_id", "pm_user_id"]
    order_columns = ["name", "status", "start_date", "end_date"]
