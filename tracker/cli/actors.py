"""Commands for actors: list speakers and outlets, merge spellings of one, review alias suggestions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tracker.cli.group import AppContext, echo_json, main, pass_app


@main.group()
def actors() -> None:
    """List actors, merge spellings of one actor, and review alias suggestions."""


@actors.command("list")
@click.option("--outlets", is_flag=True, help="List outlets instead of speakers.")
@pass_app
def actors_list(app: AppContext, outlets: bool) -> None:
    """List speakers (or outlets) with their kind, country and other spellings."""
    from sqlalchemy import select

    from tracker.models import Actor

    with app.db.reader() as session:
        for a in session.scalars(select(Actor).where(Actor.is_outlet.is_(outlets)).order_by(Actor.name)):
            others = sorted(x.alias for x in a.aliases if x.alias != a.name)
            aka = f"  (also: {', '.join(others)})" if others else ""
            click.echo(f"{a.id:>5} {a.kind:<12} {a.country or '--':<3} {a.name}{aka}")


@actors.command("suggest")
@click.option("--limit", default=50, show_default=True)
@pass_app
def actors_suggest(app: AppContext, limit: int) -> None:
    """Pairs of actors that are probably one person or outlet under two spellings."""
    from tracker.actors import suggestions

    with app.db.reader() as session:
        echo_json(suggestions(session, limit=limit))


@actors.command("merge")
@click.argument("keep_id", type=int)
@click.argument("merge_id", type=int)
@pass_app
def actors_merge(app: AppContext, keep_id: int, merge_id: int) -> None:
    """Fold actor MERGE_ID into KEEP_ID (statements, sources and spellings move over)."""
    from tracker.actors import merge_actors

    _change_actor(app, lambda session: merge_actors(session, keep_id, merge_id))


@actors.command("alias")
@click.argument("actor_id", type=int)
@click.argument("alias")
@pass_app
def actors_alias(app: AppContext, actor_id: int, alias: str) -> None:
    """Add another spelling of an actor (an actor already known by it is merged in)."""
    from tracker.actors import add_alias

    _change_actor(app, lambda session: add_alias(session, actor_id, alias))


def _change_actor(app: AppContext, change: Callable[[Any], Any]) -> None:
    """Run one actor change in a transaction and print the actor it leaves; refusals become CLI errors."""
    from tracker.actors import ActorError, actor_view

    try:
        with app.db.transaction() as session:
            echo_json(actor_view(session, change(session)))
    except ActorError as exc:
        raise click.ClickException(str(exc)) from exc


@actors.command("load-rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def actors_load_rules(app: AppContext, file: Path) -> None:
    """Apply alias rules from a TOML file: an [aliases] table of canonical name = [spellings]."""
    import tomllib

    from tracker.actors import ActorError, apply_alias_rules

    try:
        rules = tomllib.loads(file.read_text(encoding="utf-8")).get("aliases", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not valid TOML: {exc}") from exc
    if not isinstance(rules, dict) or not all(isinstance(v, list) for v in rules.values()):
        raise click.ClickException(f"{file}: [aliases] must map a canonical name to a list of spellings")
    try:
        with app.db.transaction() as session:
            echo_json(apply_alias_rules(session, rules))
    except ActorError as exc:
        raise click.ClickException(str(exc)) from exc
