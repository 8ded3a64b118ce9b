"""Commands for actors: list speakers and outlets, merge spellings of one, review alias suggestions."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.group import AppContext, echo_json, main, pass_app, refusals_as_errors


@main.group()
def actors() -> None:
    """List actors, merge spellings of one actor, and review alias suggestions."""


@actors.command("list")
@click.option("--outlets", is_flag=True, help="List outlets instead of speakers.")
@pass_app
def actors_list(app: AppContext, outlets: bool) -> None:
    """List speakers (or outlets) with their kind, country and other spellings."""
    from tracker.service import actors as service

    with app.ws.reader() as session:
        rows = service.list_actors(session, outlet=outlets, limit=None)
    for a in rows:
        aka = f"  (also: {', '.join(a['aliases'])})" if a["aliases"] else ""
        click.echo(f"{a['id']:>5} {a['kind']:<12} {a['country'] or '--':<3} {a['name']}{aka}")


@actors.command("suggest")
@click.option("--limit", default=50, show_default=True)
@pass_app
def actors_suggest(app: AppContext, limit: int) -> None:
    """Pairs of actors that are probably one person or outlet under two spellings."""
    from tracker.service import actors as service

    with app.ws.reader() as session:
        echo_json(service.suggestions(session, limit=limit))


@actors.command("merge")
@click.argument("keep_id", type=int)
@click.argument("merge_id", type=int)
@pass_app
def actors_merge(app: AppContext, keep_id: int, merge_id: int) -> None:
    """Fold actor MERGE_ID into KEEP_ID (statements, sources and spellings move over)."""
    from tracker.service import actors as service

    echo_json(refusals_as_errors(lambda: service.merge(app.ws, None, keep_id, merge_id)))


@actors.command("alias")
@click.argument("actor_id", type=int)
@click.argument("alias")
@pass_app
def actors_alias(app: AppContext, actor_id: int, alias: str) -> None:
    """Add another spelling of an actor (an actor already known by it is merged in)."""
    from tracker.service import actors as service

    echo_json(refusals_as_errors(lambda: service.add_alias(app.ws, None, actor_id, alias)))


@actors.command("load-rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def actors_load_rules(app: AppContext, file: Path) -> None:
    """Apply alias rules from a TOML file: an [aliases] table of canonical name = [spellings]."""
    from tracker.service import actors as service

    echo_json(refusals_as_errors(lambda: service.apply_alias_file(app.ws, None, file)))
