"""Ingest sources as a job: claim one due source at a time, fetch it, record what came of it.

One source's failure (a dead feed, a hostile file, a bug in a parser) is recorded on that source
and the run goes on; only a database in trouble stops it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.language import detect_languages
from tracker.ingest.leases import claim_next, release
from tracker.ingest.outcome import SourceResult, record_failure, record_success
from tracker.ingest.sources import SourceError
from tracker.ingest.store import LanguageDetector
from tracker.models import Actor, Source, utcnow
from tracker.runs import JobHandle, job_run
from tracker.workers import worker_name

if TYPE_CHECKING:
    from tracker.ingest.collect import SourceNames

log = logging.getLogger(__name__)

STORE_ATTEMPTS = 3  # a unique-key race with another worker storing the same story is retried


def ingest_source(db: Database, cfg: Config, source_id: int, *, detect: LanguageDetector | None = None
                  ) -> SourceResult:
    """Fetch, parse and store one claimed source; its errors are recorded on the source, never raised."""
    from tracker.ingest.collect import collect  # the HTTP stack: loaded only when a source is fetched
    from tracker.ingest.fetch import FetchError
    from tracker.ingest.files import FileFormatError

    with db.reader() as session:
        source = session.get(Source, source_id)
        assert source is not None
        names = _names(session, source)
    result = SourceResult(source.name)
    now = utcnow()
    try:
        items, validators = collect(source, cfg, names)
    except (FetchError, FileFormatError, OSError, ValueError) as exc:
        return record_failure(db, source_id, result, str(exc), now, retry_after=getattr(exc, "retry_after", None))
    if items and not any(isinstance(item, StatementDraft) for item in items):
        # Nothing usable came back (an entity bomb, no feed at all, a page without an article):
        # the source failed; its validators are not kept, so the next try fetches the body again.
        reason = "; ".join(str(e) for e in items[:5])
        return record_failure(db, source_id, result, reason, now,
                              row_errors=[e for e in items if isinstance(e, RowError)])
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            record_success(db, source_id, items, validators, result, now, detect)
            return result
        except IntegrityError as exc:
            # Another worker stored one of these statements (same outlet, same story) between our
            # read and our insert; the retry's transaction sees its row and updates instead.
            if attempt == STORE_ATTEMPTS:
                raise
            log.info("source %s: unique-key race on attempt %d, retrying: %s", source.name, attempt, exc.orig)
    return result  # pragma: no cover - the loop returns or raises


def _names(session: Session, source: Source) -> SourceNames:
    from tracker.ingest.collect import SourceNames

    def name(actor_id: int | None) -> str | None:
        return session.scalar(select(Actor.name).where(Actor.id == actor_id)) if actor_id else None

    return SourceNames(actor=name(source.actor_id), outlet=name(source.outlet_id))


def _source_name(db: Database, source_id: int) -> str:
    with db.reader() as session:
        return session.scalar(select(Source.name).where(Source.id == source_id)) or f"source {source_id}"


def ingest_due(db: Database, cfg: Config, *, name: str | None = None, due_only: bool = True,
               worker: str | None = None, include_paused: bool = False) -> dict[str, Any] | None:
    """Ingest every due source (or the one named; a paused one too with ``include_paused``), one claimed
    source at a time; None when there are none."""
    worker = worker or worker_name()
    with db.reader() as session:
        if session.scalar(select(Source.id).limit(1)) is None:
            if name is not None:
                raise SourceError(f"no source called {name!r}", kind="not_found", field="name")
            return None
    results: list[dict[str, Any]] = []
    with job_run(db, "ingest") as job:
        done: set[int] = set()
        while (source_id := claim_next(db, worker, name=name, due_only=due_only and name is None,
                                       exclude=done, include_paused=include_paused)) is not None:
            done.add(source_id)
            outcome = _ingest_claimed(db, cfg, source_id, worker)
            results.append(outcome.as_dict())
            _report(job, outcome)
            if name is not None:
                break
        job.counts = {
            "sources": len(results),
            "failed": sum(1 for r in results if r["status"] == "failed"),
            "not_modified": sum(1 for r in results if r["status"] == "not_modified"),
            "inserted": sum(r["inserted"] for r in results),
            "updated": sum(r["updated"] for r in results),
        }
    return {**job.counts, "results": results}


def _ingest_claimed(db: Database, cfg: Config, source_id: int, worker: str) -> SourceResult:
    """One claimed source, released whatever happens; any error of its own fails it, never the run.

    Only a database that no longer answers stops the run (every other source would fail too): an
    operational error is the source's own when a trivial query still works right after it.
    """
    try:
        return ingest_source(db, cfg, source_id, detect=detect_languages)
    except Exception as exc:  # noqa: BLE001 - one source's bug never stops the run (RELIABILITY 8)
        if isinstance(exc, OperationalError | InterfaceError) and not _database_answers(db):
            raise
        log.exception("source %d failed unexpectedly", source_id)
        return _failed(db, source_id, f"unexpected error: {type(exc).__name__}: {exc}")
    finally:
        _release(db, source_id, worker)


def _database_answers(db: Database) -> bool:
    try:
        with db.reader() as session:
            session.execute(select(1))
    except Exception:  # noqa: BLE001 - any failure here means it does not
        return False
    return True


def _failed(db: Database, source_id: int, reason: str) -> SourceResult:
    """Record the failure on the source; if even that fails, the run still learns of it."""
    result = SourceResult(f"source {source_id}")
    try:
        result.source = _source_name(db, source_id)
        return record_failure(db, source_id, result, reason, utcnow())
    except Exception as exc:  # noqa: BLE001 - the run goes on; the job's errors say what happened
        log.exception("source %d: its failure could not be recorded", source_id)
        result.status, result.error = "failed", f"{reason} (not recorded on the source: {type(exc).__name__}: {exc})"
        return result


def _release(db: Database, source_id: int, worker: str) -> None:
    try:
        release(db, source_id, worker)
    except Exception:  # noqa: BLE001 - the lease expires by itself (leases.LEASE)
        log.exception("source %d: its lease could not be released", source_id)


def _report(job: JobHandle, outcome: SourceResult) -> None:
    """A source's failure and its bad rows as the job's errors (a row error already in the reason once)."""
    if outcome.error:
        job.error(f"{outcome.source}: {outcome.error}")
    for err in outcome.stats.errors:
        if outcome.error is None or str(err) not in outcome.error:
            job.error(f"{outcome.source}: {err}")
