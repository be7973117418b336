"""Security manager: Alembic owns the schema; roles come from FAB_ROLES and are synced explicitly."""
from __future__ import annotations

import secrets

from flask import current_app
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.forms import UserInfoEdit
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView, UserInfoEditView
from flask_babel import lazy_gettext
from wtforms import SelectField


def _zone_choices() -> list[tuple[str, str]]:
    from app import settings
    from app.domain.localtime import zone_names

    studio = lazy_gettext("The studio's zone (%(zone)s)", zone=settings.current().timezone)
    return [("", studio)] + [(name, name.replace("_", " ")) for name in zone_names()]


def _zone_field() -> SelectField:
    return SelectField(lazy_gettext("Time zone"), choices=_zone_choices, widget=Select2Widget(), validate_choice=True,
                       description=lazy_gettext("Dates and times are shown and typed in this zone; "
                                                "\"today\" and \"overdue\" follow it."))


class CrmUserInfoEdit(UserInfoEdit):
    """The profile form: FAB's name fields plus the user's own time zone."""

    timezone = _zone_field()


class CrmUserInfoEditView(UserInfoEditView):
    """Profile editing with the time zone (the same permission name as FAB's own view)."""

    class_permission_name = "UserInfoEditView"
    route_base = "/userinfoeditview"
    form = CrmUserInfoEdit

    def form_get(self, form) -> None:
        super().form_get(form)
        form.timezone.data = form.timezone.data or ""


class CrmUserDBModelView(UserDBModelView):
    """FAB's user views; the profile page shows the user's time zone too."""

    class_permission_name = "UserDBModelView"
    label_columns = {**UserDBModelView.label_columns, "timezone": lazy_gettext("Time zone")}
    user_show_fieldsets = UserDBModelView.user_show_fieldsets + [
        (lazy_gettext("Time zone"), {"fields": ["timezone"], "expanded": True})]
    show_fieldsets = UserDBModelView.show_fieldsets + [
        (lazy_gettext("Time zone"), {"fields": ["timezone"], "expanded": True})]
    add_columns = UserDBModelView.add_columns + ["timezone"]
    edit_columns = UserDBModelView.edit_columns + ["timezone"]
    add_form_extra_fields = {**UserDBModelView.add_form_extra_fields, "timezone": _zone_field()}
    edit_form_extra_fields = {**(UserDBModelView.edit_form_extra_fields or {}), "timezone": _zone_field()}


class CrmSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager without create_all at start-up, with the CRM's profile."""

    userinfoeditview = CrmUserInfoEditView
    userdbmodelview = CrmUserDBModelView


def sync_roles_and_permissions(appbuilder) -> None:
    """Create FAB_ROLES roles, Admin and Public, and every view's permissions (idempotent)."""
    BaseSecurityManager.create_db(appbuilder.sm)
    appbuilder.add_permissions(update_perms=True)


def ensure_admin(appbuilder) -> str | None:
    """Create the first admin if no user exists; returns a generated password to print once."""
    sm = appbuilder.sm
    if sm.count_users() > 0:
        return None
    config = current_app.config
    password = config.get("CRM_ADMIN_PASSWORD")
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = sm.add_user(
        username=config["CRM_ADMIN_USER"], first_name="Studio", last_name="Admin",
        email=config["CRM_ADMIN_EMAIL"], role=sm.find_role(sm.auth_role_admin), password=password,
    )
    if not user:
        raise RuntimeError("could not create the admin user")
    return generated


# CRM permissions beyond read/write: given to roles in FAB_ROLES (config.py), grantable to any
# role in the admin UI, and checked only here.
REOPEN = ("can_reopen", "Opportunity")  # may move a won or lost deal back to an open stage
TEAM_METRICS = ("can_read", "TeamMetrics")  # sees everyone's numbers, not only their own
ALL_PROJECTS = ("can_read", "AllProjects")  # sees every project's data, member or not
ALL_ACCOUNTS = ("can_read", "AllAccounts")  # sees every account, not only those of their projects
WRITES_ALL = ("can_write", "AllOwners")  # writes every owner's deals and accounts, not only their own


def may(sm, user, permission: tuple[str, str]) -> bool:
    """Whether a user (any user, not only the request's) holds a permission through their roles."""
    return bool(user) and user.is_active and sm._has_view_access(user, *permission)


def actor_for(sm, user):
    """The Actor of a change made by this user, with the permissions the verbs ask about."""
    from app.services.context import Actor

    return Actor(user.id, may_reopen=may(sm, user, REOPEN), sees_everyone=may(sm, user, TEAM_METRICS),
                 all_projects=may(sm, user, ALL_PROJECTS), all_accounts=may(sm, user, ALL_ACCOUNTS),
                 writes_all=may(sm, user, WRITES_ALL))
