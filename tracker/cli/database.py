"""Commands for the database itself: create or upgrade it, describe it, back it up."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.group import AppContext, echo_json, main, pass_app, refusals_as_errors


@main.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the database, or upgrade it to the newest schema."""
    from tracker.service import search, system

    state = system.schema(app.ws)
    click.echo(f"database ready at {state['database_url']} (schema {state['schema']}, head {state['head']})")
    found = search.status(app.ws)
    pg = f"; pgvector: {found['pgvector']}" if "pgvector" in found else ""
    click.echo(f"vector search: {found['in_use']} ({found['vectors']} vectors; search.engine = "
               f"{found['engine_setting']}{pg})")


@main.command()
@pass_app
def info(app: AppContext) -> None:
    """Print version, database, embedding model and counts as JSON."""
    from tracker.service import system

    echo_json(system.info(app.ws))


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup_(app: AppContext, target: Path) -> None:
    """Write an online backup (SQLite: VACUUM INTO; PostgreSQL: pg_dump custom format) to TARGET."""
    from tracker.service import system

    written = refusals_as_errors(lambda: system.backup_to(app.ws, target))
    click.echo(f"backup written to {written}")
