"""`flask crm telegram-import` / `import-telegram` and `flask crm chatwoot-backfill`.

Both are idempotent: running them again, or over what webhooks already delivered, adds nothing.
`--as USER` is optional (ingestion changes no deal); when given, the user must exist and is
recorded as the actor of the threads the run attaches automatically.
"""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


def _actor(as_user):
    from app.cli import resolve_actor

    return resolve_actor(as_user) if as_user else None


_as_option = click.option("--as", "as_user", metavar="USER", default=None,
                          help="username recorded as the actor of automatic attachments (optional)")


@click.command("telegram-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_as_option
@with_appcontext
def telegram_import(path, as_user):
    """Import a Telegram Desktop chat export (result.json); importing again adds nothing."""
    from app.extensions import db
    from app.inbound.records import UnusablePayload
    from app.inbound.telegram import parse_export
    from app.services.context import change_context
    from app.services.inbound import BATCH, IngestResult, ingest
    from app.services.transaction import transaction

    actor = _actor(as_user)
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
            with change_context(actor_id=actor), transaction(db.session):
                total.add(ingest(records[start:start + BATCH]))
    click.echo(f"new: {total.new}, already known: {total.known}, skipped: {total.skipped}")


@click.command("chatwoot-backfill")
@click.option("--url", required=True, help="Chatwoot base URL, e.g. https://chat.example.com")
@click.option("--account-id", required=True, type=int, help="Chatwoot account id")
@click.option("--token", required=True, envvar="CHATWOOT_API_TOKEN", help="api_access_token (or CHATWOOT_API_TOKEN)")
@click.option("--max-pages", default=1000, show_default=True, help="stop after this many conversation pages")
@_as_option
@with_appcontext
def chatwoot_backfill(url, account_id, token, max_pages, as_user):
    """Fill what webhooks missed from Chatwoot's REST API (idempotent)."""
    from app.services.backfill import BackfillError, backfill_chatwoot
    from app.services.context import change_context

    actor = _actor(as_user)
    try:
        with change_context(actor_id=actor):
            result = backfill_chatwoot(url, account_id, token, max_pages=max_pages, echo=click.echo)
    except BackfillError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new: {result.new}, already known: {result.known}, skipped: {result.skipped}")


def register(group: click.Group) -> None:
    """Add the inbound commands to `flask crm` (the issue's name import-telegram is an alias)."""
    group.add_command(telegram_import)
    group.add_command(telegram_import, name="import-telegram")
    group.add_command(chatwoot_backfill)
