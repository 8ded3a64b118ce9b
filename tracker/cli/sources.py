"""Commands for sources and scheduled ingestion: register and pause sources, fetch them once or forever."""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.group import AppContext, echo_json, main, pass_app, refusals_as_errors
from tracker.vocabulary import FILE_SOURCE_KINDS, NETWORK_SOURCE_KINDS


@main.group()
def sources() -> None:
    """Add, list, pause, resume and remove the feeds, pages and transcripts that `tracker ingest` fetches."""


@sources.command("add")
@click.argument("url")
@click.option("--kind", required=True, type=click.Choice([*NETWORK_SOURCE_KINDS, *FILE_SOURCE_KINDS]),
              help="rss: RSS/Atom feed; html: an article page; transcript: a press-briefing page; "
                   "telegram/file: a local export or CSV/JSONL path.")
@click.option("--name", help="Unique name (default: host and path of the URL).")
@click.option("--actor", help="Default speaker of its statements, e.g. 'Maria Zakharova'.")
@click.option("--outlet", help="Outlet its statements appear in, e.g. 'TASS'.")
@click.option("--country", help="ISO country code of the speaker / outlet, e.g. RU.")
@click.option("--every", help="Fetch interval such as 30m, 2h, 1d (default: ingest.default_every).")
@click.option("--full-text", is_flag=True, help="Fetch the full article when a feed entry only has a summary.")
@pass_app
def sources_add(app: AppContext, url: str, kind: str, name: str | None, actor: str | None, outlet: str | None,
                country: str | None, every: str | None, full_text: bool) -> None:
    """Register a source (a feed, page, briefing transcript or local export) to fetch on a schedule."""
    from tracker.service import sources as service

    echo_json(refusals_as_errors(lambda: service.add(
        app.ws, None, url, kind, name=name, actor=actor, outlet=outlet, country=country, every=every,
        fetch_full_text=full_text)))


@sources.command("list")
@pass_app
def sources_list(app: AppContext) -> None:
    """List sources with their schedule, last fetch and last error."""
    from datetime import datetime

    from tracker.service import sources as service

    with app.ws.reader() as session:
        rows = service.list_sources(session)
    for s in rows:
        state = "on " if s["enabled"] else "off"
        last = f"{datetime.fromisoformat(s['last_fetched_at']):%Y-%m-%d %H:%M}" if s["last_fetched_at"] else "never"
        err = f"  error: {s['last_error']}" if s["last_status"] == "failed" and s["last_error"] else ""
        click.echo(f"{s['id']:>4} {state} {s['kind']:<10} every {s['every_seconds'] // 60:>5}m  last {last}  "
                   f"{s['name']}  {s['url']}{err}")


@sources.command("remove")
@click.argument("name")
@pass_app
def sources_remove(app: AppContext, name: str) -> None:
    """Delete the source called NAME; the statements it brought stay."""
    from tracker.service import sources as service

    with app.ws.reader() as session:
        found = [s for s in service.list_sources(session) if s["name"] == name]
    if not found:
        raise click.ClickException(f"no source called {name!r}")
    refusals_as_errors(lambda: service.delete(app.ws, None, found[0]["id"]))
    click.echo(f"removed {name}; its statements stay")


def _set_enabled(app: AppContext, name: str, enabled: bool) -> None:
    from tracker.service import sources as service

    refusals_as_errors(lambda: service.set_enabled(app.ws, None, name, enabled))
    click.echo(f"{name}: {'enabled' if enabled else 'paused'}")


@sources.command("pause")
@click.argument("name")
@pass_app
def sources_pause(app: AppContext, name: str) -> None:
    """Stop fetching a source (it keeps its statements)."""
    _set_enabled(app, name, False)


@sources.command("resume")
@click.argument("name")
@pass_app
def sources_resume(app: AppContext, name: str) -> None:
    """Fetch a paused source again."""
    _set_enabled(app, name, True)


@main.command()
@click.option("--source", "name", help="Only this source (fetched even when not due).")
@click.option("--due", is_flag=True, help="Only sources whose interval has passed (default without --source).")
@pass_app
def ingest(app: AppContext, name: str | None, due: bool) -> None:
    """Fetch sources once and store what they bring (embedding and clustering are `tracker run`'s job)."""
    from tracker.service import sources as service

    result = refusals_as_errors(lambda: service.fetch_now(app.ws, name=name, due_only=due or name is None))
    echo_json(result or {"sources": 0, "note": "no sources; add one with `tracker sources add`"})


@main.command()
@click.option("--poll", default=30.0, show_default=True, help="Seconds between looks for due sources.")
@click.option("--once", is_flag=True, help="One round, then exit (for cron).")
@pass_app
def schedule(app: AppContext, poll: float, once: bool) -> None:
    """Run forever: fetch due sources, then embed and assign their new statements."""
    import signal

    from tracker.service import pipeline

    stopping = {"now": False}

    def stop(*_: Any) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rounds = pipeline.schedule(app.ws, poll_seconds=poll, once=once, stop=lambda: stopping["now"])
    if once:
        echo_json(rounds[-1])
