"""The pipeline as a person or a scheduler runs it: import a file, embed, cluster, run, schedule, and the
job runs they leave behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import jobs
from tracker.errors import Refused
from tracker.ingest.files import FileFormatError
from tracker.ingest.store import StoreStats
from tracker.models import JobRun
from tracker.sample import corpus_path
from tracker.service.workspace import Workspace

__all__ = ["cluster", "embed", "import_statements", "job_kinds", "job_runs", "run", "schedule"]


def import_statements(ws: Workspace, path: Path | None, *, sample: bool = False, fmt: str | None = None,
                      preset: str | None = None, batch_size: int = 1000) -> tuple[Path, StoreStats, int]:
    """Import a CSV, JSONL or Telegram file (or the bundled sample corpus); bad rows are reported, good
    rows always stored. Returns the file, what was stored and the job run's id."""
    if sample:
        path = corpus_path()
    if path is None:
        raise Refused("give a file or ask for the sample", field="file")
    try:
        stats, job_id = jobs.import_file(ws.db, ws.config, path, fmt=fmt, preset=preset, batch_size=batch_size)
    except FileFormatError as exc:
        raise Refused(str(exc), field="file") from exc
    return path, stats, job_id


def embed(ws: Workspace) -> dict[str, Any]:
    """Embed the statements that have no vector for the current model."""
    return jobs.embed(ws.db, ws.config, ws.embedder)


def cluster(ws: Workspace, *, full: bool = False) -> dict[str, Any]:
    """Assign new statements to narratives, or re-discover them all (``full``), in the current model."""
    return jobs.cluster(ws.db, ws.config, ws.model, full=full)


def run(ws: Workspace, *, full: bool = False) -> dict[str, Any]:
    """Ingest due sources, embed, and cluster, as one recorded job."""
    return jobs.run_pipeline(ws.db, ws.config, embedder=ws.embedder, full=full)


def schedule(ws: Workspace, *, poll_seconds: float, once: bool, stop: Callable[[], bool] | None = None
             ) -> list[dict[str, Any]]:
    """Fetch due sources, then embed and assign what they brought, until stopped (or once)."""
    return jobs.schedule_loop(ws.db, ws.config, embedder=ws.embedder, poll_seconds=poll_seconds, once=once, stop=stop)


def job_runs(session: Session, *, limit: int, kind: str | None = None, job_id: int | None = None) -> list[JobRun]:
    """Job runs, newest first (of one ``kind``, or the one ``job_id``)."""
    if job_id is not None:
        return list(session.scalars(select(JobRun).where(JobRun.id == job_id)))
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if kind:
        query = query.where(JobRun.kind == kind)
    return list(session.scalars(query))


def job_kinds(session: Session) -> list[str]:
    """The kinds of job that have run, for the admin page's filter."""
    return list(session.scalars(select(JobRun.kind).distinct().order_by(JobRun.kind)))
