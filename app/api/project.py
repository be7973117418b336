from app.web import CrmInterface

from app.models import Project, ProjectMember

from .base import AuditedRecordApi, CrmModelApi

FIELDS = ["account_id", "name", "status", "pm_user_id", "start_date", "end_date"]
MEMBER_FIELDS = ["project_id", "user_id", "role"]
# The same set as every view named "Project" (app/views/projects.py): note is the project page's.
PROJECT_PERMISSIONS = ["can_read", "can_write", "can_delete", "can_note"]


class ProjectApi(AuditedRecordApi):
    audit_entity = "project"
    resource_name = "projects"
    datamodel = CrmInterface(Project)
    class_permission_name = "Project"
    base_permissions = PROJECT_PERMISSIONS
    list_columns = ["id"] + FIELDS + ["created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "status", "account_id", "pm_user_id"]
    order_columns = ["name", "status", "start_date", "end_date"]


class ProjectMemberApi(CrmModelApi):
    """Who works on which project (the same rights as projects: Owner and Admin all, PM read and
    write, Sales read). A user is a member of a project once: again answers 409."""

    resource_name = "project_members"
    datamodel = CrmInterface(ProjectMember)  # project_id filters by equality (never a 500)
    class_permission_name = "Project"
    base_permissions = PROJECT_PERMISSIONS
    list_columns = ["id"] + MEMBER_FIELDS
    show_columns = list_columns
    add_columns = MEMBER_FIELDS
    edit_columns = MEMBER_FIELDS
    search_columns = ["project_id", "user_id", "role"]
    order_columns = ["role", "user_id"]
