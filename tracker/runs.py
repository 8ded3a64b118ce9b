"""Job runs: every job (import, ingest, embed, cluster, run) leaves a ``JobRun`` row with its counts and errors.

Kept apart from ``jobs.py`` (the pipeline) because ingestion records its own runs too, and the
pipeline calls ingestion: both import this module, neither imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db import Database
from tracker.models import JobRun, utcnow
from tracker.workers import worker_dead, worker_name

MAX_RECORDED_ERRORS = 1000


@dataclass
class JobHandle:
    """What a running job reports: its row id, counts, errors, and whether it failed."""

    id: int
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: bool = False

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append(message)
        elif len(self.errors) == MAX_RECORDED_ERRORS:
            self.errors.append("... more errors not recorded")


@contextmanager
def job_run(db: Database, kind: str, source_id: int | None = None) -> Iterator[JobHandle]:
    """Record a job: a row when it starts, its counts, errors and status when it ends (even on a crash).

    Runs left "running" by a process of this host that has died (``kill -9``) are closed as failed.
    """
    with db.transaction() as session:
        for stale in session.scalars(select(JobRun).where(JobRun.status == "running")):
            if worker_dead(stale.worker):
                stale.status, stale.finished_at = "failed", utcnow()
                stale.errors = [*(stale.errors or []), "the process running this job died"]
        run = JobRun(kind=kind, status="running", worker=worker_name(), source_id=source_id)
        session.add(run)
        session.flush()
        handle = JobHandle(run.id)
    try:
        yield handle
    except BaseException as exc:
        handle.failed = True
        handle.error(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _close(db, handle)


def add_count(session: Session, job_id: int, key: str, n: int) -> None:
    """Add ``n`` to one count of a running job inside the caller's transaction, so the row says what
    was stored even if the process dies before the job ends."""
    found = session.get(JobRun, job_id)
    if found is not None:
        counts = dict(found.counts or {})
        counts[key] = int(counts.get(key, 0)) + n
        found.counts = counts


def _close(db: Database, handle: JobHandle) -> None:
    status = "failed" if handle.failed else ("partial" if handle.errors else "ok")
    with db.transaction() as session:
        found = session.get(JobRun, handle.id)
        if found is not None:
            found.status, found.finished_at = status, utcnow()
            # merged, not replaced: counts a job added as it went (add_count) survive a job that raised
            found.counts, found.errors = {**(found.counts or {}), **handle.counts}, list(handle.errors)
