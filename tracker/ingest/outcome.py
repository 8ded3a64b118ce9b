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

from tracker.db import Database
from tracker.ingest.collect import Item, Validators
from tracker.ingest.drafts import RowError
from tracker.ingest.store import LanguageDetector, StoreStats, store_drafts
from tracker.models import Source

MAX_BACKOFF = timedelta(days=1)


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
        row.next_due_at = now + timedelta(seconds=row.every_seconds)


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
            backoff = timedelta(seconds=row.every_seconds * min(2 ** (row.error_count - 1), 64))
            row.next_due_at = now + min(max(backoff, timedelta(seconds=retry_after or 0)), MAX_BACKOFF)
    return result
