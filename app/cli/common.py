"""What the commands share: the `crm` group, --as USER, and one-line errors."""
from __future__ import annotations

from contextlib import contextmanager

import click
from flask import current_app

from app.domain.errors import DomainError


@click.group()
def crm():
    """Studio CRM commands (demo data, opportunity changes, imports, backfill)."""


def actor_option(required: bool = True, help: str = "username of the actor"):
    """--as USER: the user a command acts for (its changes are audited with that actor)."""
    return click.option("--as", "as_user", required=required, default=None, metavar="USER", help=help)


def resolve_actor(username: str | None):
    """The Actor of an active user (with their permissions), the system when no user is given,
    or a one-line error and exit code 1."""
    from app.security import actor_for
    from app.services.context import SYSTEM

    if not username:
        return SYSTEM
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    if user is None or not user.active:
        raise click.ClickException(f"no active user '{username}'")
    return actor_for(sm, user)


def local_to_iso(text: str, username: str | None) -> str:
    """A date-time typed on the command line: without an offset it is read in the --as user's
    zone (else the studio's CRM_TIMEZONE); returned as ISO 8601 with its UTC offset."""
    from datetime import datetime

    from app import settings
    from app.domain.localtime import from_local, zone

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text  # the schema names the field and the expected form
    if value.tzinfo is not None:
        return text
    user = current_app.appbuilder.sm.find_user(username=username) if username else None
    return from_local(value, zone(getattr(user, "timezone", None), settings.current().timezone)).isoformat()


@contextmanager
def acting(username: str | None):
    """Run a command as the --as user (their permissions and read scope), or as the system."""
    from app.extensions import db
    from app import scope

    actor = resolve_actor(username)
    if actor.is_system:
        view = scope.SYSTEM
    else:
        with scope.scoped(scope.SYSTEM):
            view = scope.scope_for(db.session, actor.id, actor.all_projects, actor.all_accounts)
    with scope.scoped(view):
        yield actor


def fail(exc: DomainError):
    """One readable line on stderr and a non-zero exit."""
    raise click.ClickException(str(exc))
