"""Build or extend a model's index from the embeddings table: called after embedding, and by ``tracker index``.

Extending reads only the vectors stored since the published version (embedding ids are never reused
within a database), builds a small new segment of them (the large first segment is not touched, so the
cost follows the new vectors, not the corpus) and publishes it beside the others (``files.publish``).
Past ``MAX_SEGMENTS`` the later segments are rebuilt as one from the database. The index is rebuilt whole
when it is missing, unreadable, of another dimension, or of another database (the text of its last
embedding id differs). One process per machine updates a model at a time (``flock`` beside the files;
pgvector: an advisory lock); another skips.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tracker.backlog import committed_upto
from tracker.config import Config
from tracker.db import Database, file_lock
from tracker.models import Embedding
from tracker.narratives.vectors import decode, unit
from tracker.vector_index.files import (
    Manifest,
    Segment,
    index_dir,
    lock_path,
    new_index_file,
    publish,
    read_manifest,
)

log = logging.getLogger(__name__)

CHUNK = 50_000  # vectors read and added per step while building
CONNECTIVITY = 16  # HNSW edges per node (bench/vector_libs.py)
EXPANSION_ADD = 64  # candidates weighed when linking a new node (half the default: a 1M build took 619 s here)
MAX_SEGMENTS = 8  # beyond this many files the later ones are merged into one (re-read from the database)
STORED_AS = "f16"  # half precision in the index: half the memory; scores are re-computed from the database


def new_index(ndim: int, expansion_search: int) -> Any:
    from usearch.index import Index

    return Index(ndim=ndim, metric="cos", dtype=STORED_AS, connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
                 expansion_search=expansion_search)


def library() -> str:
    import usearch

    return f"usearch {usearch.__version__}"


def stored_count(session: Session, model: str) -> int:
    return int(session.scalar(select(func.count(Embedding.id)).where(Embedding.model == model)) or 0)


def text_hash_of(session: Session, embedding_id: int) -> str:
    return session.scalar(select(Embedding.text_hash).where(Embedding.id == embedding_id)) or ""


def wanted(cfg: Config, count: int) -> bool:
    """Whether this corpus should have an index: always under ``usearch`` / ``pgvector``, from
    ``exact_below`` vectors under auto."""
    return cfg.search.engine in ("usearch", "pgvector") or (cfg.search.engine == "auto"
                                                              and count >= cfg.search.exact_below)


def vectors_after(session: Session, model: str, after: int, upto: int | None = None
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(embedding ids, unit float32 vectors) of ``model`` stored after id ``after`` (up to ``upto``), in
    chunks by id."""
    last = after
    while True:
        query = select(Embedding.id, Embedding.vector, Embedding.dtype).where(Embedding.model == model,
                                                                              Embedding.id > last)
        if upto is not None:
            query = query.where(Embedding.id <= upto)
        rows = session.execute(query.order_by(Embedding.id).limit(CHUNK)).all()
        if not rows:
            return
        yield np.array([r[0] for r in rows], dtype=np.uint64), unit(decode([(r[1], r[2]) for r in rows]))
        last = int(rows[-1][0])


@contextmanager
def _updating(folder: Path, model: str) -> Iterator[bool]:
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(lock_path(folder, model)) as mine:
        yield mine


def current(session: Session, folder: Path, model: str) -> Manifest | None:
    """The published manifest if it still describes this database's vectors, else None (rebuild)."""
    found = read_manifest(folder, model)
    if found is None:
        return None
    if found.max_embedding_id and text_hash_of(session, found.max_embedding_id) != found.last_text_hash:
        log.warning("vector index of %s is of another database or lost vectors: rebuilding", model)
        return None
    return found


def update_index(db: Database, cfg: Config, model: str, *, rebuild: bool = False) -> dict[str, Any]:
    """Bring ``model``'s index up to the stored vectors; returns what was done, for the job's counts.

    The vectors are counted only while there is no index yet (under ``auto``, to decide whether the corpus
    is large enough): at 1M rows counting costs more than extending."""
    folder = index_dir(cfg)
    started = time.perf_counter()
    if cfg.search.engine == "exact" and not rebuild:
        return {"index": "exact", "reason": "search.engine = exact"}
    with db.reader() as session:
        in_db = db.dialect == "postgresql" and cfg.search.engine in ("auto", "pgvector") and (
            pgvector_offered(session) or cfg.search.engine == "pgvector")
        if not rebuild and not _published(session, cfg, folder, model, in_db):
            count = stored_count(session, model)
            if not wanted(cfg, count):
                return {"index": "exact", "vectors": count, "reason": f"engine {cfg.search.engine}, {count} vectors"}
    report = None
    upto = committed_upto(db, model) if db.dialect == "postgresql" else None  # SQLite commits in id order
    if in_db:
        try:
            report = _update_pgvector(db, cfg, model, rebuild=rebuild, upto=upto)
        except SQLAlchemyError as exc:
            if cfg.search.engine == "pgvector":
                raise
            # offered but not usable by this role (CREATE EXTENSION needs a superuser): the files serve
            log.warning("pgvector offered but not usable (%s): using the index files instead",
                        str(exc).splitlines()[0])
    if report is None:
        with _updating(folder, model) as mine:
            if not mine:
                return {"index": "skipped", "reason": "another process is updating the index"}
            with db.reader() as session:
                report = _extend(session, cfg, folder, model, None if rebuild else current(session, folder, model),
                                 upto)
    report["seconds"] = round(time.perf_counter() - started, 3)
    log.info("vector index of %s: %s", model, report)
    return report


def _published(session: Session, cfg: Config, folder: Path, model: str, in_db: bool) -> bool:
    if in_db:
        from tracker.vector_index import pgvector

        return bool(pgvector.extension_state(session)["installed"]) and pgvector.table_exists(session, model)
    return read_manifest(folder, model) is not None


def pgvector_offered(session: Session) -> bool:
    from tracker.vector_index import pgvector

    return bool(pgvector.extension_state(session)["available"])


def _update_pgvector(db: Database, cfg: Config, model: str, *, rebuild: bool, upto: int | None) -> dict[str, Any]:
    """Copy the vectors stored since the table's last embedding id into the model's pgvector table, one
    committed chunk at a time; the table and, after its first fill, its HNSW index are made on first use."""
    from tracker.vector_index import pgvector

    with db.exclusive(f"vector-index {model}") as mine:
        if not mine:
            return {"index": "skipped", "reason": "another process is updating the index"}
        with db.reader() as session:
            first = session.scalar(select(Embedding.dim).where(Embedding.model == model).limit(1))
        if first is None:
            return {"index": "pgvector", "mode": "current", "vectors": 0, "added": 0}
        with db.transaction() as session:
            pgvector.ensure_table(session, model, int(first))
            if rebuild:
                session.execute(text(f"TRUNCATE {pgvector.table_name(model)}"))
        with db.reader() as session:
            last = pgvector.last_id(session, model)
            added = 0
            for ids, vectors in vectors_after(session, model, last, upto):
                with db.transaction() as tx:
                    pgvector.insert(tx, model, ids, vectors)
                added += len(ids)
        with db.transaction() as tx:
            pgvector.ensure_index(tx, model)
        with db.reader() as session:
            rows, _, _ = pgvector.covered(session, model)
    mode = ("built" if not last else "extended") if added else "current"
    return {"index": "pgvector", "mode": mode, "vectors": rows, "added": added}


def _build(session: Session, cfg: Config, model: str, after: int, ndim: int | None, upto: int | None
           ) -> tuple[Any, int, int]:
    """A new index of the vectors stored after embedding id ``after``: (index or None, count, last id)."""
    index: Any = None
    added, last = 0, after
    for ids, vectors in vectors_after(session, model, after, upto):
        if ndim is not None and vectors.shape[1] != ndim:
            raise ValueError(f"model {model}: a vector of {vectors.shape[1]} dimensions beside an index of {ndim}")
        if index is None:
            index = new_index(vectors.shape[1], cfg.search.expansion_search)
        index.add(ids, vectors, threads=cfg.search.threads)
        added += len(ids)
        last = int(ids[-1])
    return index, added, last


def _readable(folder: Path, manifest: Manifest) -> bool:
    from usearch.index import Index

    for segment in manifest.segments:
        try:
            meta = Index.metadata(str(folder / segment.file))
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("vector index segment %s unreadable (%s): rebuilding", segment.file, exc)
            return False
        if not meta or int(meta.get("dimensions", manifest.ndim)) != manifest.ndim:
            return False
    return True


def _extend(session: Session, cfg: Config, folder: Path, model: str, manifest: Manifest | None,
            upto: int | None = None) -> dict[str, Any]:
    """Add the vectors stored since ``manifest`` as a new segment (merging the later segments into one when
    there are more than ``MAX_SEGMENTS``), or build the whole index when there is no usable manifest."""
    if manifest is not None and not _readable(folder, manifest):
        manifest = None
    if manifest is not None and (upto is not None and upto <= manifest.max_embedding_id or session.scalar(
            select(Embedding.id).where(Embedding.model == model, Embedding.id > manifest.max_embedding_id)
            .limit(1)) is None):
        return {"index": "usearch", "mode": "current", "vectors": manifest.count, "added": 0,
                "segments": len(manifest.segments)}
    generation = (manifest.generation + 1) if manifest is not None else time.time_ns()
    kept: list[Segment] = list(manifest.segments) if manifest is not None else []
    mode = "extended" if manifest is not None else "built"
    if len(kept) >= MAX_SEGMENTS:  # the later segments and the new vectors become one segment
        kept, mode = kept[:1], "merged"
    after = kept[-1].last_id if kept else 0
    index, _, last = _build(session, cfg, model, after, manifest.ndim if manifest else None, upto)
    if index is None:
        return {"index": "usearch", "mode": "current", "vectors": 0, "added": 0, "segments": 0}
    target = new_index_file(folder, model, generation, len(kept))
    index.save(str(target))
    segments = (*kept, Segment(file=target.name, count=len(index), last_id=last))
    total = sum(s.count for s in segments)
    publish(folder, Manifest(model=model, segments=segments, ndim=int(index.ndim),
                             last_text_hash=text_hash_of(session, last), library=library(),
                             built_at=datetime.now(UTC).isoformat(timespec="seconds"), generation=generation))
    return {"index": "usearch", "mode": mode, "vectors": total, "added": total - (manifest.count if manifest else 0),
            "segments": len(segments)}
