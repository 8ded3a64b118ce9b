"""Commands for the processing steps and their record: embed, cluster, run and the job runs they leave."""

from __future__ import annotations

import json

import click

from tracker.cli.group import AppContext, echo_json, main, pass_app


@main.command()
@pass_app
def embed(app: AppContext) -> None:
    """Embed statements that have no vector for the configured model yet."""
    from tracker.service import pipeline

    echo_json(pipeline.embed(app.ws))


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Build the index anew instead of extending it.")
@pass_app
def index_(app: AppContext, rebuild: bool) -> None:
    """Bring the vector index of similar statements and search up to the stored vectors (see `tracker info`)."""
    from tracker.service import search

    echo_json(search.update_index(app.ws, rebuild=rebuild))


@main.command()
@click.option("--full", is_flag=True, help="Re-discover narratives from all statements (ids are kept stable).")
@pass_app
def cluster(app: AppContext, full: bool) -> None:
    """Assign new statements to narratives (or discover narratives with --full / on first use)."""
    from tracker.service import pipeline

    echo_json(pipeline.cluster(app.ws, full=full))


@main.command()
@click.option("--full", is_flag=True, help="Full narrative discovery instead of incremental assignment.")
@pass_app
def run(app: AppContext, full: bool) -> None:
    """Ingest due sources, embed new statements and assign them to narratives, in one job."""
    from tracker.service import pipeline

    echo_json(pipeline.run(app.ws, full=full))


@main.command()
@click.option("--limit", default=20, show_default=True)
@click.option("--id", "job_id", type=int, help="Show one run in full, with its errors.")
@pass_app
def jobs(app: AppContext, limit: int, job_id: int | None) -> None:
    """List recent job runs (started, finished, status, counts, errors)."""
    from tracker.service import pipeline

    with app.ws.reader() as session:
        runs = pipeline.job_runs(session, limit=limit, job_id=job_id)
    if job_id is not None and not runs:
        raise click.ClickException(f"no job run with id {job_id}")
    for r in runs:
        took = f"{(r.finished_at - r.started_at).total_seconds():.1f}s" if r.finished_at else "-"
        click.echo(f"#{r.id} {r.kind:<8} {r.status:<8} {r.started_at:%Y-%m-%d %H:%M:%S} {took:>8} "
                   f"errors={len(r.errors or [])} {json.dumps(r.counts, default=str)}")
        if job_id is not None:
            for e in r.errors or []:
                click.echo(f"  {e}")
