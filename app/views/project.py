from app.web import CrmInterface
from flask_babel import lazy_gettext as _l

from app.models import Project, ProjectMember
from app.models.choices import PROJECT_STATUSES

from .base import CrmModelView
from .fields import account_field, enum_fields
from .labels import COLUMN_LABELS
from .projects import PROJECT_PERMISSIONS


class ProjectMemberView(CrmModelView):
    record_page = ("ProjectPageView.show", "project_id")  # where a saved form lands
    datamodel = CrmInterface(ProjectMember)
    class_permission_name = "Project"
    base_permissions = PROJECT_PERMISSIONS
    list_title = _l("Project members")
    show_title = _l("Project member")
    add_title = _l("Add project member")
    edit_title = _l("Edit project member")
    label_columns = COLUMN_LABELS
    list_columns = ["user", "role"]
    add_columns = ["project", "user", "role"]
    edit_columns = add_columns


class ProjectView(CrmModelView):
    record_page = ("ProjectPageView.show", "id")  # where a saved form lands
    datamodel = CrmInterface(Project)
    class_permission_name = "Project"
    base_permissions = PROJECT_PERMISSIONS
    show_template = "crm/project_show.html"  # the generated record with a link to the project page
    list_title = _l("Projects")
    show_title = _l("Project")
    add_title = _l("Add project")
    edit_title = _l("Edit project")
    label_columns = COLUMN_LABELS
    list_columns = ["name", "account", "status", "pm", "start_date", "end_date"]
    show_columns = ["name", "account", "status", "pm", "start_date", "end_date", "created_at", "updated_at"]
    add_columns = ["account", "name", "status", "pm", "start_date", "end_date"]
    edit_columns = add_columns
    search_columns = ["name", "status", "pm"]
    order_columns = ["name", "status", "start_date", "end_date"]
    base_order = ("name", "asc")
    add_form_extra_fields = {"account": account_field(), **enum_fields(status=(_l("Status"), PROJECT_STATUSES, "planned"))}
    edit_form_extra_fields = add_form_extra_fields
    related_views = [ProjectMemberView]
