"""The source registry and the ingestion of one source, claimed so two workers never fetch it at once.

A worker claims a due source by writing its name and a lease into the row (PostgreSQL: under
``FOR UPDATE SKIP LOCKED``; SQLite: inside ``BEGIN IMMEDIATE``, which already serialises writers).
Everything one fetch produces — its statements, the source's new HTTP validators and next due time —
is committed in one transaction, so a crash (even ``kill -9``) loses nothing and duplicates nothing:
the next run fetches again and the statements' unique keys absorb what was already stored.

A lease normally ends when its worker releases it or after ``LEASE``. A worker killed with
``kill -9`` cannot release, so a lease held by a process of this host that no longer exists is taken
over at once: a re-run after a crash does not wait ten minutes for the source it was fetching.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from tracker import audit
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.store import ActorResolver, StoreStats, store_drafts
from tracker.models import SOURCE_KINDS, Source, User, utcnow
from tracker.workers import worker_dead

log = logging.getLogger(__name__)

NETWORK_KINDS = ("rss", "html", "transcript")
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(days=1)
STORE_ATTEMPTS = 3  # a unique-key race with another worker storing the same story is retried
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SourceError(ValueError):
    """A source definition that cannot be accepted; the message names the field."""


def parse_every(text: str) -> int:
    """'30m' -> 1800 seconds; accepts s, m, h, d (bare numbers are seconds); at least 60 s."""
    m = _EVERY.match(text or "")
    if not m:
        raise SourceError(f"every: {text!r} is not an interval like 30m, 2h or 1d")
    seconds = int(float(m.group(1)) * _UNIT[m.group(2)])
    if seconds < 60:
        raise SourceError(f"every: {text!r} is shorter than a minute")
    return seconds


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc + parts.path).strip("/")[:200] or url[:200]


def add_source(session: Session, cfg: Config, url: str, kind: str, *, name: str | None = None,
               actor: str | None = None, outlet: str | None = None, country: str | None = None,
               every: str | None = None, fetch_full_text: bool = False, user: User | None = None) -> Source:
    if kind not in SOURCE_KINDS or kind == "manual":
        raise SourceError(f"kind: {kind!r} is not one of rss, html, transcript, telegram, file")
    url = url.strip()
    if kind in NETWORK_KINDS:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SourceError(f"url: {url!r} is not an http(s) URL")
    elif not Path(url).exists():
        raise SourceError(f"url: file {url!r} does not exist")
    name = (name or _default_name(url)).strip()
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise SourceError(f"name: a source called {name!r} exists already")
    resolver = ActorResolver(session)
    source = Source(
        name=name, kind=kind, url=url, country=country.upper() if country else None,
        actor_id=resolver.resolve(actor, kind="official" if actor else None, country=country),
        outlet_id=resolver.resolve(outlet, country=country, is_outlet=True),
        every_seconds=parse_every(every or cfg.ingest.default_every), fetch_full_text=fetch_full_text,
        next_due_at=utcnow(),
    )
    session.add(source)
    session.flush()
    audit.record(session, user, "source.add", "source", source.id, None, source_view(source))
    return source


def source_view(s: Source) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "kind": s.kind, "url": s.url, "every_seconds": s.every_seconds,
        "enabled": s.enabled, "fetch_full_text": s.fetch_full_text, "country": s.country,
        "actor_id": s.actor_id, "outlet_id": s.outlet_id,
        "last_fetched_at": s.last_fetched_at.isoformat() if s.last_fetched_at else None,
        "next_due_at": s.next_due_at.isoformat() if s.next_due_at else None,
        "last_status": s.last_status, "last_error": s.last_error, "error_count": s.error_count,
    }


# ---------------------------------------------------------------- claiming

def claim_next(db: Database, worker: str, *, name: str | None = None, due_only: bool = True,
               now: datetime | None = None, exclude: set[int] | None = None) -> int | None:
    """Take the lease on one source (the most overdue) or return None when nothing is left."""
    now = now or utcnow()
    with db.transaction() as session:
        free = [Source.locked_until.is_(None), Source.locked_until < now]
        orphaned = _orphaned_leases(session, now)
        if orphaned:
            free.append(Source.locked_by.in_(orphaned))
        query = select(Source).where(Source.enabled.is_(True), or_(*free))
        if name is not None:
            query = query.where(Source.name == name)
        if due_only:
            query = query.where(or_(Source.next_due_at.is_(None), Source.next_due_at <= now))
        if exclude:
            query = query.where(Source.id.not_in(sorted(exclude)))
        query = query.order_by(Source.next_due_at.asc().nulls_first(), Source.id).limit(1)
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        source = session.scalar(query)
        if source is None:
            return None
        source.locked_by, source.locked_until = worker, now + LEASE
        return source.id


def _orphaned_leases(session: Session, now: datetime) -> list[str]:
    """Holders of live leases that are processes of this host which have died (e.g. ``kill -9``)."""
    prefix = f"{socket.gethostname()}:"
    holders = session.scalars(select(Source.locked_by).distinct()
                              .where(Source.locked_until >= now, Source.locked_by.startswith(prefix, autoescape=True)))
    return [h for h in holders if h and worker_dead(h)]


def release(db: Database, source_id: int, worker: str) -> None:
    with db.transaction() as session:
        source = session.get(Source, source_id)
        if source is not None and source.locked_by == worker:
            source.locked_by, source.locked_until = None, None


# ---------------------------------------------------------------- fetching one source

@dataclass
class SourceResult:
    source: str
    status: str = "ok"  # ok, not_modified, failed
    stats: StoreStats = field(default_factory=StoreStats)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, **self.stats.as_dict(), "error": self.error}


def fetch_policy(cfg: Config, *, max_bytes: int | None = None) -> Any:
    from tracker.ingest.fetch import FetchPolicy

    ing = cfg.ingest
    return FetchPolicy(connect_timeout=ing.connect_timeout, read_timeout=ing.read_timeout,
                       total_timeout=ing.total_timeout, max_redirects=ing.max_redirects,
                       max_bytes=max_bytes or ing.page_max_bytes, user_agent=ing.user_agent,
                       allow_hosts=frozenset(ing.allow_hosts), min_host_delay=ing.min_host_delay)


def _collect(source: Source, cfg: Config, names: dict[str, str | None]) -> tuple[list[StatementDraft | RowError],
                                                                                dict[str, Any]]:
    """Fetch and parse one source; returns drafts and the validators to save with them."""
    outlet_name, speaker_name = names["outlet"], names["actor"]
    if source.kind in ("file", "telegram"):
        from tracker.ingest.files import read_statements

        fmt = "telegram" if source.kind == "telegram" else None
        return list(read_statements(Path(source.url), fmt=fmt, max_bytes=cfg.ingest.max_file_mb << 20)), {}
    from tracker.ingest import fetch as net

    if source.kind == "rss":
        from tracker.ingest.feeds import needs_full_text, parse_feed

        result = net.fetch(source.url, fetch_policy(cfg, max_bytes=cfg.ingest.feed_max_bytes),
                           etag=source.etag, last_modified=source.last_modified)
        validators = {"etag": result.etag, "last_modified": result.last_modified}
        if result.not_modified:
            return [], {**validators, "not_modified": True}
        items = parse_feed(result.body, source.url, outlet=outlet_name, actor=speaker_name,
                           country=source.country, content_type=result.content_type)
        if source.fetch_full_text:
            items = [_full_text(item, cfg) if isinstance(item, StatementDraft) and needs_full_text(item) else item
                     for item in items]
        return list(items), validators
    policy = fetch_policy(cfg)
    net.check_robots(source.url, policy)
    result = net.fetch(source.url, policy, etag=source.etag, last_modified=source.last_modified)
    validators = {"etag": result.etag, "last_modified": result.last_modified}
    if result.not_modified:
        return [], {**validators, "not_modified": True}
    if source.kind == "html":
        from tracker.ingest.pages import parse_page

        page = parse_page(result.body, result.url, outlet=outlet_name, actor=speaker_name, country=source.country,
                          content_type=result.content_type)
        return [page], validators
    from tracker.ingest.transcripts import parse_transcript

    return list(parse_transcript(result.body, result.url, default_speaker=speaker_name, outlet=outlet_name,
                                 country=source.country, content_type=result.content_type)), validators


def _full_text(draft: StatementDraft, cfg: Config) -> StatementDraft | RowError:
    """Replace a feed summary by the article's text, when the page can be fetched and parsed."""
    from dataclasses import replace

    from tracker.ingest import fetch as net
    from tracker.ingest.pages import parse_page

    if not draft.url:
        return draft
    try:
        policy = fetch_policy(cfg)
        if not net.robots_allowed(draft.url, policy):
            return draft
        fetched = net.fetch(draft.url, policy)
        page = parse_page(fetched.body, fetched.url, content_type=fetched.content_type)
    except net.FetchError as exc:
        log.info("full text of %s not fetched: %s", draft.url, exc)
        return draft
    if isinstance(page, RowError) or len(page.text) <= len(draft.text):
        return draft
    return replace(draft, text=page.text)


def ingest_source(db: Database, cfg: Config, source_id: int, *, detect: Any = None) -> SourceResult:
    """Fetch, parse and store one claimed source; its errors are recorded on the source, never raised."""
    from tracker.ingest.fetch import FetchError
    from tracker.ingest.files import FileFormatError

    with db.reader() as session:
        source = session.get(Source, source_id)
        assert source is not None
        names = _names(session, source)
    result = SourceResult(source.name)
    now = utcnow()
    try:
        items, validators = _collect(source, cfg, names)
    except (FetchError, FileFormatError, OSError, ValueError) as exc:
        return record_failure(db, source_id, result, str(exc), now, retry_after=getattr(exc, "retry_after", None))
    if items and not any(isinstance(item, StatementDraft) for item in items):
        # Nothing usable came back (an entity bomb, no feed at all, a page without an article):
        # the source failed; its validators are not kept, so the next try fetches the body again.
        reason = "; ".join(str(e) for e in items[:5])
        return record_failure(db, source_id, result, reason, now, row_errors=[e for e in items
                                                                             if isinstance(e, RowError)])
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            _store(db, source_id, items, validators, result, now, detect)
            return result
        except IntegrityError as exc:
            # Another worker stored one of these statements (same outlet, same story) between our
            # read and our insert; the retry's transaction sees its row and updates instead.
            if attempt == STORE_ATTEMPTS:
                raise
            log.info("source %s: unique-key race on attempt %d, retrying: %s", source.name, attempt, exc.orig)
    return result  # pragma: no cover - the loop returns or raises


def _store(db: Database, source_id: int, items: list[StatementDraft | RowError], validators: dict[str, Any],
           result: SourceResult, now: datetime, detect: Any) -> None:
    """The statements and the source's new validators and due time, in one transaction."""
    with db.transaction() as session:
        row = session.get(Source, source_id)
        assert row is not None
        if validators.get("not_modified"):
            result.status = "not_modified"
        else:
            result.stats = store_drafts(session, items, source=row, detect=detect)
        row.etag = validators.get("etag") or row.etag
        row.last_modified = validators.get("last_modified") or row.last_modified
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


def _names(session: Session, source: Source) -> dict[str, str | None]:
    """The source's default speaker and outlet names, which parsers stamp on their drafts."""
    from tracker.models import Actor

    def name(actor_id: int | None) -> str | None:
        return session.scalar(select(Actor.name).where(Actor.id == actor_id)) if actor_id else None

    return {"actor": name(source.actor_id), "outlet": name(source.outlet_id)}


def _source_name(db: Database, source_id: int) -> str:
    with db.reader() as session:
        return session.scalar(select(Source.name).where(Source.id == source_id)) or f"source {source_id}"


def ingest_due(db: Database, cfg: Config, *, name: str | None = None, due_only: bool = True,
               worker: str | None = None) -> dict[str, Any] | None:
    """Ingest every due source (or the one named), one claimed source at a time; None when there are none."""
    from tracker.jobs import job_run, language_detector, worker_name

    worker = worker or worker_name()
    with db.reader() as session:
        if session.scalar(select(Source.id).limit(1)) is None:
            if name is not None:
                raise SourceError(f"no source called {name!r}")
            return None
    detect = language_detector()
    results: list[dict[str, Any]] = []
    done: set[int] = set()
    with job_run(db, "ingest") as job:
        while True:
            source_id = claim_next(db, worker, name=name, due_only=due_only and name is None, exclude=done)
            if source_id is None:
                break
            done.add(source_id)
            try:
                outcome = ingest_source(db, cfg, source_id, detect=detect)
            except (OperationalError, InterfaceError):
                raise  # the database itself is in trouble: every other source would fail too
            except Exception as exc:  # noqa: BLE001 - one source's bug never stops the run (RELIABILITY 8)
                log.exception("source %d failed unexpectedly", source_id)
                outcome = record_failure(db, source_id, SourceResult(_source_name(db, source_id)),
                                         f"unexpected error: {type(exc).__name__}: {exc}", utcnow())
            finally:
                release(db, source_id, worker)
            results.append(outcome.as_dict())
            if outcome.error:
                job.error(f"{outcome.source}: {outcome.error}")
            for err in outcome.stats.errors:
                if outcome.error is None or str(err) not in outcome.error:
                    job.error(f"{outcome.source}: {err}")
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
