"""Security manager: Alembic owns the schema; roles come from FAB_ROLES and are synced explicitly."""
from __future__ import annotations

import secrets

from flask import current_app
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.security.sqla.manager import SecurityManager


class CrmSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager without create_all at start-up."""


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
