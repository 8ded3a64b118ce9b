"""What one fetch leaves behind on its source: the statements with the new validators and due time,
or the failure with its reason and a backoff.

Everything one fetch produces is committed in one transaction, so a crash (even ``kill -9``) loses
nothing and duplicates nothing: the next run fetches again and the statements' unique keys absorb
what was already stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tracker.db import Database
from tracker.ingest.collect import Item, Validators
from tracker.ingest.drafts import RowError
from tracker.ingest.store import LanguageDetector, StoreStats, store_drafts
from tracker.models import Source, SourceFetch

MAX_BACKOFF = timedelta(days=1)
FETCH_LOG = 200  # fetches kept per source
#: No source waits longer than this, whatever its row says (rows written before intervals were bounded
#: may hold any number; a timedelta of it would overflow and fail the run).
MAX_WAIT = timedelta(days=366)


def _after(now: datetime, seconds: float) -> datetime:
    """``now`` plus ``seconds``, at most ``MAX_WAIT`` later."""
    return now + timedelta(seconds=min(max(seconds, 0), MAX_WAIT.total_seconds()))


@dataclass
class SourceResult:
    source: str
    status: str = "ok"  # ok, not_modified, failed
    stats: StoreStats = field(default_factory=StoreStats)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, **self.stats.as_dict(), "error": self.error}


def record_success(db: Database, source_id: int, items: list[Item], validators: Validators, result: SourceResult,
                   now: datetime, detect: LanguageDetector | None) -> None:
    """The statements and the source's new validators and due time, in one transaction."""
    with db.transaction() as session:
        row = session.get(Source, source_id)
        assert row is not None
        if validators.not_modified:
            result.status = "not_modified"
        else:
            result.stats = store_drafts(session, items, source=row, detect=detect)
        row.etag = validators.etag or row.etag
        row.last_modified = validators.last_modified or row.last_modified
        row.last_fetched_at, row.last_status = now, result.status
        row.last_error = "; ".join(str(e) for e in result.stats.errors[:5])[:2000] or None
        row.error_count = 0
        row.next_due_at = _after(now, row.every_seconds)
        _log(session, source_id, result, now)


def record_failure(db: Database, source_id: int, result: SourceResult, reason: str, now: datetime, *,
                   retry_after: float | None = None, row_errors: list[RowError] | None = None) -> SourceResult:
    """Mark the source failed with ``reason`` and back off (doubling per consecutive failure, up to a day)."""
    result.status, result.error = "failed", reason
    if row_errors:
        result.stats.errors.extend(row_errors)
    with db.transaction() as session:
        row = session.get(Source, source_id)
        if row is not None:
            row.error_count += 1
            row.last_error, row.last_status, row.last_fetched_at = reason[:2000], "failed", now
            backoff = min(row.every_seconds * min(2 ** (row.error_count - 1), 64), MAX_BACKOFF.total_seconds())
            row.next_due_at = _after(now, min(max(backoff, retry_after or 0), MAX_BACKOFF.total_seconds()))
            _log(session, source_id, result, now)
    return result


def _log(session: Session, source_id: int, result: SourceResult, now: datetime) -> None:
    """One row of the source's fetch log, in the fetch's own transaction; the oldest beyond
    ``FETCH_LOG`` go."""
    stats = result.stats
    session.add(SourceFetch(source_id=source_id, at=now, status=result.status, inserted=stats.inserted,
                            updated=stats.updated, unchanged=stats.unchanged, row_errors=len(stats.errors),
                            error=(result.error or "; ".join(str(e) for e in stats.errors[:5]))[:2000] or None))
    session.flush()
    kept = select(SourceFetch.id).where(SourceFetch.source_id == source_id).order_by(SourceFetch.id.desc()
                                                                                     ).limit(FETCH_LOG)
    session.execute(delete(SourceFetch).where(SourceFetch.source_id == source_id, SourceFetch.id.not_in(kept)))
