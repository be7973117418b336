"""`flask crm demo` and `flask crm opportunity-update`."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.domain.errors import DomainError

from .common import acting, actor_option, crm, fail, local_to_iso


@crm.command("demo")
@with_appcontext
def demo():
    """Load the demo studio data (idempotent)."""
    from app.services.context import ChangeRequest
    from app.services.demo import load_demo

    with acting(None) as system:
        click.echo(load_demo(ChangeRequest(system)))


@crm.command("opportunity-update")
@click.argument("opportunity_id")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="a field to change, e.g. --set stage=qualified --set next_step_due_at=2030-01-10T10:00Z")
@click.option("--evidence-url", multiple=True, help="a link that backs the change")
@click.option("--evidence-note", multiple=True, help="a note that backs the change")
@click.option("--version", type=int, help="the version you read (refused if it changed since)")
@actor_option()
@with_appcontext
def opportunity_update(opportunity_id, assignments, evidence_url, evidence_note, version, as_user):
    """Change an opportunity with evidence, through the same rules and audit as the web and API."""
    from marshmallow import ValidationError

    from app.schemas import OpportunityPatchSchema
    from app.services.context import ChangeRequest
    from app.services.opportunities import resolve_user_id, update_opportunity

    raw = {}
    for item in assignments:
        if "=" not in item:
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--set")
        key, value = item.split("=", 1)
        raw[key.strip()] = None if value == "" else value
    if raw.get("next_step_due_at"):  # a time without an offset is the --as user's local time
        raw["next_step_due_at"] = local_to_iso(raw["next_step_due_at"], as_user)
    try:
        changes = OpportunityPatchSchema().load(raw)
    except ValidationError as err:
        raise click.ClickException(json.dumps(err.messages, ensure_ascii=False)) from None
    evidence = [{"type": "url", "url": u} for u in evidence_url] + [{"type": "note", "text": n} for n in evidence_note]
    with acting(as_user) as actor:
        try:
            if "owner" in changes:
                owner = changes.pop("owner")
                changes["owner_user_id"] = None if owner is None else resolve_user_id(owner, actor.id)
            opp, events = update_opportunity(ChangeRequest(actor, changes, evidence_refs=evidence,
                                                           expected_version=version), opportunity_id)
        except DomainError as exc:
            fail(exc)
        summary = f"{opp.name}: {opp.stage} (version {opp.version}); events: " + (
            ", ".join(e.event_type for e in events) or "none")
    click.echo(summary)
