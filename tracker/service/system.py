"""The installation itself: its schema, a description of it, backups, and the fingerprint caches key on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import __version__, backup
from tracker.config import mask_url
from tracker.db import SCHEMA_HEAD, current_revision
from tracker.embed import resolve_model_path
from tracker.errors import Refused
from tracker.models import Actor, Assignment, Embedding, JobRun, Narrative, Source, Statement
from tracker.queries import data_version
from tracker.service.workspace import Workspace
from tracker.vector_index.status import search_status
from tracker.vocabulary import CURRENT_STATES, LIVE_STATUSES

__all__ = ["backup_to", "data_version", "info", "schema"]


def schema(ws: Workspace) -> dict[str, Any]:
    """Where the database is (password masked) and its schema revision against the newest."""
    return {"database_url": mask_url(ws.config.database_url), "schema": current_revision(ws.db.engine),
            "head": SCHEMA_HEAD}


def _counts(session: Session, model: str) -> dict[str, int]:
    def count(table: Any, *where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)

    return {
        "statements": count(Statement),
        "actors": count(Actor),
        "sources": count(Source),
        "embeddings": count(Embedding, Embedding.model == model),
        "narratives": count(Narrative, Narrative.status.in_(LIVE_STATUSES)),
        "assigned": count(Assignment, Assignment.state.in_(CURRENT_STATES)),
        "suggested": count(Assignment, Assignment.state == "suggested"),
        "job_runs": count(JobRun),
    }


def info(ws: Workspace) -> dict[str, Any]:
    """Version, settings file, database, schema, the current embedding model and counts."""
    model = ws.model
    with ws.db.reader() as session:
        counts = _counts(session, model)
        search = search_status(session, ws.config, model)
    return {
        "version": __version__,
        "config": ws.config.source or None,
        "database_url": mask_url(ws.config.database_url),
        "schema": current_revision(ws.db.engine),
        "embedding_model": resolve_model_path(model),
        "embedding_model_name": model,
        "counts": counts,
        "vector_search": search,
    }


def backup_to(ws: Workspace, target: Path) -> Path:
    """An online copy of the database at ``target`` (SQLite: VACUUM INTO; PostgreSQL: pg_dump)."""
    try:
        return backup.backup(ws.db, target)
    except backup.BackupError as exc:
        raise Refused(str(exc)) from exc
