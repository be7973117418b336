"""Security manager: Alembic owns the schema; roles come from FAB_ROLES and are synced explicitly."""
from __future__ import annotations

import secrets

from flask import current_app, g, has_request_context
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.forms import UserInfoEdit
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView, UserInfoEditView
from flask_babel import lazy_gettext
from sqlalchemy.orm import joinedload
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
    # Logins, sessions and tokens (app/sessions.py): failures counted and locked per user in the
    # database, sessions and JWTs revoked by logout and by a password change.
    from app.sessions import CrmSecurityApi as security_api  # FAB's login/refresh + POST /logout

    def create_login_manager(self, app):
        login_manager = super().create_login_manager(app)
        login_manager.user_loader(self.load_session_user)
        return login_manager

    def create_jwt_manager(self, app):
        from app import sessions

        jwt_manager = super().create_jwt_manager(app)
        sessions.configure_jwt(jwt_manager)
        return jwt_manager

    def get_public_role(self):
        """The Public role, read once per request: FAB asks for it (a query each time) for every
        menu entry and view an anonymous visitor's page checks, e.g. ~10 times on the login page."""
        if not has_request_context():
            return super().get_public_role()
        if "_crm_public_role" not in g:
            g._crm_public_role = super().get_public_role()
        return g._crm_public_role

    def get_user_by_id(self, pk):
        """The user with their roles and groups in one statement (every request loads its user,
        then FAB reads both for each permission check: two more round trips otherwise)."""
        model = self.user_model
        return self.session.get(model, pk, options=[joinedload(model.roles), joinedload(model.groups)])

    def load_session_user(self, pk):
        """The user of the session cookie, unless that session was logged out or began before the
        user's sessions_valid_after (JWT users are loaded by FAB's load_user_jwt)."""
        from app import sessions

        user = self.load_user(pk)
        return user if user is not None and sessions.session_is_valid(user) else None

    def auth_user_db(self, username, password):
        """FAB's password check, not even tried while the address or the user is locked; a
        failure counts against the address too."""
        from app import sessions

        if sessions.login_retry_after(self, username) is not None:
            sessions.count_address_failure()
            return None
        user = super().auth_user_db(username, password)
        if user is None:
            sessions.count_address_failure()
        return user

    def update_user_auth_stat(self, user, success=True):
        """A success resets the failures and the lock; a failure is counted in the database (and
        locks the user after CRM_LOGIN_MAX_FAILURES in a row)."""
        from app import sessions

        if success:
            user.locked_until = None
            return super().update_user_auth_stat(user, True)
        sessions.count_user_failure(self, user)
        self.on_user_login_failed(user)
        return None

    def reset_password(self, userid, password):
        """A new password kills every session, JWT and refresh token of the user issued before
        it (the session that changed its own password stays logged in)."""
        from app import sessions

        valid_after = sessions.revoke_all(self.get_user_by_id(userid))
        super().reset_password(userid, password)
        sessions.keep_current_session(self.get_user_by_id(userid), valid_after)


def sync_roles_and_permissions(appbuilder) -> None:
    """Bring the stored roles and permissions in line with the app (idempotent and quiet).

    FAB_ROLES roles, Admin and Public exist; every permission a view or API declares and
    menu_access on every menu entry (the user menu's too) exist and are Admin's; a permission that
    is stored on one of those names but no longer declared is taken from every role and deleted.
    Views and APIs that share a permission name (a ModelView and its REST API, the inbound views
    under "Triage", a page and its menu entry) declare the union of their permissions.

    Not FAB's create_db + add_permissions(update_perms=True): that compares each view alone, so
    views sharing a name remove each other's permissions on every run and, as it cannot take a
    permission from a role (it passes the Permission, not the PermissionView), logs "Refused to
    delete permission view" instead; and create_db warns "No user yet created" although run.py
    creates the admin right after this.
    """
    sm = appbuilder.sm
    session = sm.session
    for name, rules in sm.builtin_roles.items():
        sm.add_role(name, [sm.add_permission_view_menu(permission, view) for view, permission in rules])
    admin = None if sm.auth_role_admin in sm.builtin_roles else sm.add_role(sm.auth_role_admin)
    sm.add_role(sm.auth_role_public)

    declared: dict[str, set[str]] = {}
    for view in appbuilder.baseviews:
        declared.setdefault(view.class_permission_name, set()).update(view.base_permissions or ())
    stack = list(appbuilder.menu.menu)  # every entry, also those shown in the user menu
    while stack:
        item = stack.pop()
        if item.name != "-":
            declared.setdefault(item.name, set()).add("menu_access")
        stack.extend(item.childs)

    stored = {(pv.view_menu.name, pv.permission.name): pv for pv in session.query(sm.permissionview_model)
              if pv.view_menu is not None and pv.permission is not None}
    wanted = []
    for view, permissions in declared.items():
        for permission in sorted(permissions):
            wanted.append(stored.get((view, permission)) or sm.add_permission_view_menu(permission, view))
    if admin is not None:
        held = {pv.id for pv in admin.permissions}
        admin.permissions.extend(pv for pv in wanted if pv is not None and pv.id not in held)
    stale = {pv.id: pv for (view, permission), pv in stored.items()
             if view in declared and permission not in declared[view]}
    if stale:
        for role in sm.get_all_roles():
            if any(pv.id in stale for pv in role.permissions):
                role.permissions = [pv for pv in role.permissions if pv.id not in stale]
        for pv in stale.values():
            session.delete(pv)
    session.commit()


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
MERGE = ("can_merge", "Account")  # merges duplicate accounts and contacts (declared by AccountApi)


def may(sm, user, permission: tuple[str, str]) -> bool:
    """Whether a user (any user, not only the request's) holds a permission through their roles."""
    return bool(user) and user.is_active and sm._has_view_access(user, *permission)


def actor_for(sm, user):
    """The Actor of a change made by this user, with the permissions the verbs ask about."""
    from app.services.context import Actor

    return Actor(user.id, may_reopen=may(sm, user, REOPEN), sees_everyone=may(sm, user, TEAM_METRICS),
                 all_projects=may(sm, user, ALL_PROJECTS), all_accounts=may(sm, user, ALL_ACCOUNTS),
                 writes_all=may(sm, user, WRITES_ALL), may_merge=may(sm, user, MERGE))
