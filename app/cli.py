"""`flask crm ...` commands: every change runs as a named user (--as) through the same rules."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.domain.errors import DomainError


@click.group()
def crm():
    """Studio CRM commands (demo data, opportunity changes, imports, backfill)."""


def actor_option(f):
    """--as USER: the user a command acts for (its changes are audited with that actor)."""
    return click.option("--as", "as_user", required=True, metavar="USER", help="username of the actor")(f)


def resolve_actor(username: str) -> int:
    """The id of an active user, or a one-line error and exit code 2."""
    user = current_app.appbuilder.sm.find_user(username=username)
    if user is None or not user.active:
        raise click.ClickException(f"no active user '{username}'")
    return user.id


def fail(exc: DomainError) -> None:
    """One readable line on stderr and a non-zero exit."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


@crm.command("demo")
@with_appcontext
def demo():
    """Load the demo studio data (idempotent)."""
    from app.demo import load_demo

    click.echo(load_demo())


@crm.command("opportunity-update")
@click.argument("opportunity_id")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="a field to change, e.g. --set stage=qualified --set next_step_due_at=2030-01-10T10:00Z")
@click.option("--evidence-url", multiple=True, help="a link that backs the change")
@click.option("--evidence-note", multiple=True, help="a note that backs the change")
@click.option("--version", type=int, help="the version you read (refused if it changed since)")
@actor_option
@with_appcontext
def opportunity_update(opportunity_id, assignments, evidence_url, evidence_note, version, as_user):
    """Change an opportunity with evidence, through the same rules and audit as the web and API."""
    from marshmallow import ValidationError

    from app.api.schemas import OpportunityPatchSchema
    from app.extensions import db
    from app.services.context import change_context
    from app.services.opportunities import update_opportunity
    from app.services.transaction import transaction

    actor = resolve_actor(as_user)
    raw = {}
    for item in assignments:
        if "=" not in item:
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--set")
        key, value = item.split("=", 1)
        raw[key.strip()] = None if value == "" else value
    try:
        changes = OpportunityPatchSchema().load(raw)
    except ValidationError as err:
        raise click.ClickException(json.dumps(err.messages, ensure_ascii=False)) from None
    evidence = [{"type": "url", "url": u} for u in evidence_url] + [{"type": "note", "text": n} for n in evidence_note]
    if "owner" in changes:
        from app.services.opportunities import resolve_user_id

        changes["owner_user_id"] = resolve_user_id(changes.pop("owner"))
    try:
        with change_context(actor_id=actor), transaction(db.session):
            opp, events = update_opportunity(opportunity_id, changes, evidence_refs=evidence, expected_version=version)
    except DomainError as exc:
        fail(exc)
    click.echo(f"{opp.name}: {opp.stage} (version {opp.version}); events: "
               + (", ".join(e.event_type for e in events) or "none"))


from app.cli_inbound import register as _register_inbound  # noqa: E402

_register_inbound(crm)
