"""`flask crm ...` commands."""
import click


@click.group()
def crm():
    """Studio CRM commands (demo data, imports, backfill)."""
