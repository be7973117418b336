"""`flask crm rebuild-aggregates [--check]`: recompute the maintained aggregates (the board's and
the accounts list's totals) from the rows, or only compare them and exit 1 when they differ."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from .common import crm


@crm.command("rebuild-aggregates")
@click.option("--check", is_flag=True, help="only compare with a recomputation; exit 1 when any row differs")
@click.option("--only", "names", multiple=True, metavar="NAME", help="one aggregate (repeatable); default: all")
@with_appcontext
def rebuild_aggregates(check: bool, names: tuple[str, ...]):
    """Recompute the maintained aggregates from scratch (or --check them)."""
    from app.services import aggregates

    chosen = list(names) or None
    try:
        if check:
            found = aggregates.differences(chosen)
            for row in found:
                click.echo(f"{row['aggregate']} {row['key']}: stored {row['stored']}, expected {row['expected']}")
            if found:
                raise click.ClickException(f"{len(found)} aggregate row(s) differ from a recomputation; "
                                           "run `flask crm rebuild-aggregates` to repair them")
            click.echo("aggregates equal a recomputation")
            return
        written = aggregates.rebuild(chosen)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    click.echo(f"aggregates rebuilt: {written} rows")
