"""`flask crm telegram-import` / `import-telegram` and `flask crm chatwoot-backfill`.

Both are idempotent: running them again, or over what webhooks already delivered, adds nothing.
`--as USER` is optional (ingestion changes no deal); when given, the user must exist and is
recorded as the actor of the threads the run attaches automatically.
"""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from .common import actor_option, crm, resolve_actor

_as_option = actor_option(required=False, help="username recorded as the actor of automatic attachments (optional)")


@crm.command("telegram-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_as_option
@with_appcontext
def telegram_import(path, as_user):
    """Import a Telegram Desktop chat export (result.json); importing again adds nothing."""
    from app.inbound.records import UnusablePayload
    from app.inbound.telegram import parse_export
    from app.services.context import ChangeRequest
    from app.services.inbound import BATCH, IngestResult, ingest

    request = ChangeRequest(resolve_actor(as_user))
    try:
        with open(path, encoding="utf-8") as fh:
            records, skipped = parse_export(json.load(fh))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path} is not JSON: {exc}") from None
    except UnusablePayload as exc:
        raise click.ClickException(str(exc)) from None
    total = IngestResult(skipped=skipped)
    with click.progressbar(range(0, len(records), BATCH), label="Importing", show_pos=True) as batches:
        for start in batches:
            total.add(ingest(request, records[start:start + BATCH]))  # --as signs; ingest sees all
    click.echo(f"new: {total.new}, already known: {total.known}, skipped: {total.skipped}")


@crm.command("chatwoot-backfill")
@click.option("--url", required=True, help="Chatwoot base URL, e.g. https://chat.example.com")
@click.option("--account-id", required=True, type=int, help="Chatwoot account id")
@click.option("--token", required=True, envvar="CHATWOOT_API_TOKEN", help="api_access_token (or CHATWOOT_API_TOKEN)")
@click.option("--max-pages", default=1000, show_default=True, help="stop after this many conversation pages")
@_as_option
@with_appcontext
def chatwoot_backfill(url, account_id, token, max_pages, as_user):
    """Fill what webhooks missed from Chatwoot's REST API (idempotent)."""
    from app.services.backfill import BackfillError, backfill_chatwoot
    from app.services.context import ChangeRequest

    request = ChangeRequest(resolve_actor(as_user))
    try:
        result = backfill_chatwoot(request, url, account_id, token, max_pages=max_pages, echo=click.echo)
    except BackfillError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new: {result.new}, already known: {result.known}, skipped: {result.skipped}")


crm.add_command(telegram_import, name="import-telegram")  # the name, an alias
