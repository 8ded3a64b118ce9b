"""Commands for narratives: list them, define a seeded one, and print one's timeline (who said it
first, who followed, how fast)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tracker.cli.group import AppContext, echo_json, main, output, pass_app, refusals_as_errors


@main.group()
def narratives() -> None:
    """List, show and define narratives."""


TRIAGE_HELP = ("shown: tracked narratives and candidates (the default); all; or tracked, candidate, "
               "not_narrative (several joined with commas)")


@narratives.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include merged, retired and archived narratives.")
@click.option("--triage", default="shown", show_default=True, help=TRIAGE_HELP)
@pass_app
def narratives_list(app: AppContext, show_all: bool, triage: str) -> None:
    """List narratives: id, status, triage, size and label, most recently active first (as the dashboard
    and API)."""
    from tracker.service import narratives as service

    states = refusals_as_errors(lambda: service.triage_filter(triage))
    with app.ws.reader() as session:
        rows = service.list_narratives(session, every_status=show_all, triage=states, limit=None)
    for n in rows:
        click.echo(f"{n['id']:>5} {n['status']:<9} {n['triage']:<13} {n['size']:>6}  {n['label']}")


@narratives.command("triage")
@click.argument("narrative_id", type=int)
@click.argument("state", type=click.Choice(["tracked", "candidate", "not_narrative"]))
@pass_app
def narratives_triage(app: AppContext, narrative_id: int, state: str) -> None:
    """Mark a narrative tracked, a candidate, or not a narrative (routine news, sport, weather: its
    statements then stay out of the tagging queue)."""
    from tracker.service import narratives as service

    found = refusals_as_errors(lambda: service.edit(app.ws, None, narrative_id, triage=state))
    click.echo(f"{found['id']} {found['triage']}: {found['label']}")


@narratives.command("add")
@click.option("--label", required=True, help="Short name, e.g. 'US bio-labs'.")
@click.option("--description", default=None, help="What the narrative claims.")
@click.option("--example", "examples", multiple=True, help="An example statement (repeat for several).")
@click.option("--examples-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file with one example statement per line.")
@pass_app
def narratives_add(app: AppContext, label: str, description: str | None, examples: tuple[str, ...],
                   examples_file: Path | None) -> None:
    """Define a seeded narrative from a label, a description and example statements."""
    from tracker.service import narratives as service

    texts = list(examples)
    if examples_file:
        texts += [line for line in examples_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    seeded = refusals_as_errors(lambda: service.seed(app.ws, None, label, description, texts))
    echo_json({"narrative_id": seeded.narrative_id, **seeded.report.as_dict()})


def _waves(n: int) -> str:
    return "1 wave" if n == 1 else f"{n} waves"


@narratives.command("waves")
@click.argument("narrative_id", type=int)
@pass_app
def narratives_waves(app: AppContext, narrative_id: int) -> None:
    """A narrative's waves: when each ran, how many statements and actors, its first mover (and how sure
    that is), and earlier possible mentions. The rule that cuts waves is in config [timeline]."""
    from tracker.service import narratives as service

    with app.ws.reader() as session:
        doc = service.timeline(session, app.config, narrative_id)
    if doc is None:
        raise click.ClickException(f"no narrative with id {narrative_id}")
    click.echo(f"{narrative_id}: {doc['narrative'].get('label') or ''} ({_waves(len(doc['waves']))})")
    for w in doc["waves"]:
        first = w["first_mover"]
        click.echo(f"wave {w['wave']}  {w['start'][:10]} – {w['end'][:10]}  {_count(w['statements'], 'statement')} by "
                   f"{_count(w['actor_count'], 'actor')}, opened by {w['opened_by']}")
        click.echo(f"  first mover: {first['actor'] or first['outlet'] or 'unknown'} ({first['country'] or '?'}) "
                   f"{first['published_at'][:16].replace('T', ' ')} UTC, {first['confidence']}")
        for m in w["earlier_mentions"]:
            why = "weak match" if m["reason"] == "weak" else "nobody followed it"
            click.echo(f"  earlier possible mention: {m['actor'] or m['outlet'] or 'unknown'} "
                       f"{m['published_at'][:10]} ({why})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _edge_limit(value: str) -> str:
    if value != "all" and not value.isdigit():
        raise click.BadParameter(f"must be a whole number or 'all', got {value!r}")
    return value


@main.command()
@click.argument("narrative_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: the whole timeline document (as the API returns it); csv: its events.")
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: stdout).")
@click.option("--edges", default="500", show_default=True, callback=lambda _c, _p, v: _edge_limit(v),
              help="Heaviest actor edges to include, or 'all' (edges_total counts them all); as the API's ?edges=.")
@click.option("--wave", type=click.IntRange(min=1), default=None,
              help="Only this wave (1, 2...; see `tracker narratives waves ID`): its first mover, followers, lags, "
                   "flows, edges and events. Default: the whole narrative.")
@pass_app
def timeline(app: AppContext, narrative_id: int, fmt: str, target: Path | None, edges: str, wave: int | None) -> None:
    """Who said a narrative first, who followed, how fast and across which countries."""
    from tracker.service import exports
    from tracker.service import narratives as service

    with app.ws.reader() as session:
        whole = service.timeline(session, app.config, narrative_id)
        if whole is None:
            raise click.ClickException(f"no narrative with id {narrative_id}")
        view = service.wave_view(whole, wave)
        if view is None:
            raise click.ClickException(f"narrative {narrative_id} has {_waves(len(whole['waves']))}; no wave {wave}")
        doc = service.limit_edges(view, None if edges == "all" else int(edges))
        with output(target) as out:
            if fmt == "json":
                out.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
            else:
                exports.timeline_csv(session, doc, out)
