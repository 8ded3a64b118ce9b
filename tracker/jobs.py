"""The pipeline as jobs: import, embed, cluster, run, each recorded as a ``JobRun``.

Each job writes its run row first (status "running"), works in batches that commit on their own
(a crash loses at most the batch in flight), and closes the row with its counts and errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tracker.config import Config
from tracker.db import Database
from tracker.embed import Embedder
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.language import detect_languages
from tracker.ingest.runner import ingest_due
from tracker.ingest.store import ActorResolver, StoreStats, store_drafts
from tracker.models import Assignment, JobRun, Narrative, Source, Statement
from tracker.runs import add_count, job_run
from tracker.vocabulary import LIVE_STATUSES, TAGGED_STATES

log = logging.getLogger(__name__)

def store_stream(db: Database, items: Iterator[StatementDraft | RowError], *, batch_size: int = 1000,
                 source: Source | None = None, on_batch: Callable[[StoreStats], None] | None = None) -> StoreStats:
    """Store drafts in batches, one transaction each."""
    total = StoreStats()
    resolver: ActorResolver | None = None
    while True:
        batch = list(islice(items, batch_size))
        if not batch:
            return total
        with db.transaction() as session:
            if resolver is None:
                resolver = ActorResolver(session)
            resolver.session = session
            stats = store_drafts(session, batch, source=source, detect=detect_languages, resolver=resolver)
        total.add(stats)
        if on_batch is not None:
            on_batch(stats)


def import_file(db: Database, cfg: Config, path: Path, fmt: str | None = None, preset: str | None = None,
                *, batch_size: int = 1000, on_batch: Callable[[StoreStats], None] | None = None) -> tuple[StoreStats, int]:
    """Import a CSV / JSONL / Telegram file; bad rows are reported, good rows always stored."""
    from tracker.ingest.files import read_statements

    with job_run(db, "import") as job:
        items = read_statements(path, fmt=fmt, preset=preset, max_bytes=cfg.ingest.max_file_mb * 1024 * 1024)
        stats = store_stream(db, _stop_at_broken_file(path, items), batch_size=batch_size, on_batch=on_batch)
        job.counts = {"file": str(path), **stats.as_dict()}
        for err in stats.errors:
            job.error(str(err))
    return stats, job.id


def _stop_at_broken_file(path: Path, items: Any) -> Iterator[StatementDraft | RowError]:
    """A file that breaks part-way (e.g. truncated JSON) keeps what came before and reports where."""
    from tracker.ingest.files import FileFormatError

    try:
        yield from items
    except FileFormatError as exc:
        yield RowError(str(path), None, f"file unreadable from here on: {exc.reason}")


def embed(db: Database, cfg: Config, embedder: Embedder | None = None,
          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    from tracker.embed import embed_pending, make_embedder

    embedder = embedder or make_embedder(cfg.embedding)
    with job_run(db, "embed") as job:
        job.counts = {"model": embedder.name}
        e = cfg.embedding
        stats = embed_pending(db, embedder, dtype=e.storage_dtype, chunk=e.chunk_size, progress=progress,
                              record=lambda session, n: add_count(session, job.id, "embedded", n),
                              lease_seconds=e.lease_seconds)
        job.counts = {"model": embedder.name, **stats.as_dict(),
                      "vector_index": update_vector_index(db, cfg, embedder.name)}
    return job.counts


def update_vector_index(db: Database, cfg: Config, model: str, *, rebuild: bool = False) -> dict[str, Any]:
    """Extend (or build) the model's on-disk vector index; a failure is reported, never fatal, since
    searches fall back to exact ones without it."""
    from sqlalchemy.exc import SQLAlchemyError

    from tracker.vector_index.update import update_index

    try:
        return update_index(db, cfg, model, rebuild=rebuild)
    except (OSError, RuntimeError, ValueError, SQLAlchemyError) as exc:
        log.error("vector index of %s not updated: %s", model, exc)
        return {"index": "failed", "reason": str(exc)}


def has_narratives(db: Database) -> bool:
    with db.reader() as session:
        return bool(session.scalar(select(func.count(Narrative.id)).where(Narrative.status.in_(LIVE_STATUSES))))


def unassigned_pool(db: Database) -> list[int]:
    from tracker.narratives.assign import has_no_open_assignment

    with db.reader() as session:
        return list(session.scalars(select(Statement.id).where(has_no_open_assignment()).order_by(Statement.id)))


def pool_signature(pool: list[int]) -> list[int]:
    """What identifies an unassigned pool between runs: its size and its newest statement."""
    return [len(pool), pool[-1] if pool else 0]


def _pool_grew(now: list[int], last: list[int] | None) -> bool:
    """Worth clustering again: a newer statement, or more of them (e.g. a researcher's rejections), than
    when the pool was last clustered. A pool that only shrank (some of it since assigned or suggested)
    holds nothing discovery has not weighed; re-clustering it cost a no-op second run 4 s."""
    return last is None or now[1] > last[1] or now[0] > last[0]


def _last_pool_signature(db: Database) -> list[int] | None:
    with db.reader() as session:
        counts = session.scalar(select(JobRun.counts).where(JobRun.kind == "cluster", JobRun.status == "ok")
                                .order_by(JobRun.id.desc()).limit(1))
    return (counts or {}).get("pool_signature")


def cluster(db: Database, cfg: Config, model: str, *, full: bool = False) -> dict[str, Any]:
    """Full discovery when asked or when there are no narratives yet; else incremental assignment,
    then the unassigned pool is clustered into new emerging narratives (skipped when unchanged).

    One worker clusters at a time; another that finds the lock taken skips, and whatever it brought
    is assigned by the next run."""
    with db.exclusive("cluster") as mine:
        if not mine:
            log.info("clustering skipped: another worker holds the cluster lock")
            return {"mode": "skipped", "reason": "another worker is clustering"}
        return _cluster_locked(db, cfg, model, full=full)


def refresh_tagged(db: Database, cfg: Config, model: str) -> int:
    """Recompute the centroids of narratives researchers tagged since the last clustering run, so
    their confirmations and rejections steer the assignment that follows."""
    from tracker.narratives.refresh import refresh_narratives

    with db.reader() as session:
        since = session.scalar(select(JobRun.started_at).where(JobRun.kind == "cluster", JobRun.status == "ok")
                               .order_by(JobRun.id.desc()).limit(1))
        # Researchers' tags are confirmed or rejected rows; the state filter lets the state index
        # skip the million automatic ones (a full scan took 1.2 s at 1M statements).
        query = select(Assignment.narrative_id).distinct().where(
            Assignment.state.in_(TAGGED_STATES), Assignment.method == "manual")
        if since is not None:
            query = query.where(Assignment.updated_at >= since)
        tagged = set(session.scalars(query))
    if tagged:
        refresh_narratives(db, cfg.narratives, model, tagged)
    return len(tagged)


def _cluster_locked(db: Database, cfg: Config, model: str, *, full: bool) -> dict[str, Any]:
    from tracker.narratives.assign import assign_pending
    from tracker.narratives.registry import discover_pool, run_discovery

    with job_run(db, "cluster") as job:
        if full or not has_narratives(db):
            report = run_discovery(db, cfg.narratives, model, job_run_id=job.id)
            pool = unassigned_pool(db)
            # Discovery has just weighed every unassigned statement: the next incremental run need
            # not cluster the same pool again (it did, 1.4 s of a 1.9 s no-op `tracker run`).
            job.counts = {"mode": "full", **report.as_dict(), "pool": len(pool),
                          "pool_signature": pool_signature(pool)}
        else:
            steered = refresh_tagged(db, cfg, model)
            assigned = assign_pending(db, cfg.narratives, model)
            pool = unassigned_pool(db)
            created = 0
            if _pool_grew(pool_signature(pool), _last_pool_signature(db)):
                created = discover_pool(db, cfg.narratives, model, pool, job_run_id=job.id)
                if created:
                    pool = unassigned_pool(db)
            job.counts = {"mode": "incremental", "refreshed": steered, **assigned.as_dict(),
                          "emerging_created": created,
                          "pool": len(pool), "pool_signature": pool_signature(pool)}
    return job.counts


def run_pipeline(db: Database, cfg: Config, *, embedder: Embedder | None = None, full: bool = False,
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Ingest due sources (when any exist), embed new statements, assign or discover narratives."""
    from tracker.embed import make_embedder

    embedder = embedder or make_embedder(cfg.embedding)
    with job_run(db, "run") as job:
        result: dict[str, Any] = {}
        ingest = ingest_due(db, cfg)
        if ingest is not None:
            result["ingest"] = ingest
        result["embed"] = embed(db, cfg, embedder, progress=progress)
        result["cluster"] = cluster(db, cfg, embedder.name, full=full)
        job.counts = {k: v for k, v in result.items()}
    result["job_id"] = job.id
    return result


def schedule_loop(db: Database, cfg: Config, *, embedder: Embedder | None = None, poll_seconds: float = 30.0,
                  once: bool = False, stop: Callable[[], bool] | None = None,
                  sleep: Callable[[float], None] | None = None) -> list[dict[str, Any]]:
    """Run due sources, then embed and assign what they brought, until stopped (or once).

    Several schedulers, on one machine or many, can run against one database: each source is
    claimed by one of them at a time (see ``tracker.ingest.leases.claim_next``).
    """
    import time

    from tracker.embed import make_embedder

    embedder = embedder or make_embedder(cfg.embedding)
    sleep = sleep or time.sleep
    rounds: list[dict[str, Any]] = []
    while True:
        result: dict[str, Any] = {"ingest": ingest_due(db, cfg)}
        ingest = result["ingest"] or {}
        if ingest.get("inserted") or ingest.get("updated"):
            result["embed"] = embed(db, cfg, embedder)
            result["cluster"] = cluster(db, cfg, embedder.name)
        rounds.append(result)
        if once or (stop is not None and stop()):
            return rounds
        waited = 0.0
        while waited < poll_seconds:  # short naps, so a stop request is honoured within a second
            if stop is not None and stop():
                return rounds
            sleep(min(1.0, poll_seconds - waited))
            waited += 1.0
