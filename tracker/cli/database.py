"""Commands for the database itself: create or upgrade it, describe it, back it up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tracker import __version__
from tracker.cli.group import AppContext, _masked, echo_json, main, pass_app


@main.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the database, or upgrade it to the newest schema."""
    from tracker.db import SCHEMA_HEAD, current_revision

    db = app.db
    click.echo(f"database ready at {_masked(app.config.database_url)} (schema {current_revision(db.engine)}, "
               f"head {SCHEMA_HEAD})")


@main.command()
@pass_app
def info(app: AppContext) -> None:
    """Print version, database, embedding model and counts as JSON."""
    from sqlalchemy import func, select

    from tracker.db import current_revision
    from tracker.embed import resolve_model_path
    from tracker.models import (
        CURRENT_STATES,
        LIVE_STATUSES,
        Actor,
        Assignment,
        Embedding,
        JobRun,
        Narrative,
        Source,
        Statement,
    )

    db = app.db
    with db.reader() as session:
        def count(model: Any, *where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        counts = {
            "statements": count(Statement),
            "actors": count(Actor),
            "sources": count(Source),
            "embeddings": count(Embedding, Embedding.model == app.config.embedding.model),
            "narratives": count(Narrative, Narrative.status.in_(LIVE_STATUSES)),
            "assigned": count(Assignment, Assignment.state.in_(CURRENT_STATES)),
            "suggested": count(Assignment, Assignment.state == "suggested"),
            "job_runs": count(JobRun),
        }
    echo_json({
        "version": __version__,
        "config": app.config.source or None,
        "database_url": _masked(app.config.database_url),
        "schema": current_revision(db.engine),
        "embedding_model": resolve_model_path(app.config.embedding.model),
        "embedding_model_name": app.config.embedding.model,
        "counts": counts,
    })


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup_(app: AppContext, target: Path) -> None:
    """Write an online backup (SQLite: VACUUM INTO; PostgreSQL: pg_dump custom format) to TARGET."""
    from tracker.backup import BackupError, backup

    try:
        click.echo(f"backup written to {backup(app.db, target)}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
