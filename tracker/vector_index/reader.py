"""Neighbours through the published index, for a long-lived process (the web app).

Per model the process maps the current index file read-only (``view``: the pages are the machine's
page cache, shared by every process, not this process's heap) and follows the manifest when an
updater publishes a new version. Vectors stored after that version (``max_embedding_id``) are searched
exactly beside it, so a new statement is found at once. Every candidate is resolved to statements and
re-scored from the database, so ids and scores are always the database's own.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Embedding, Statement
from tracker.narratives.vectors import decode, unit
from tracker.vector_index.files import Manifest, Segment, manifest_path
from tracker.vector_index.update import current, vectors_after

log = logging.getLogger(__name__)

#: How many candidates per wanted neighbour the index is asked for: re-scoring, texts no statement
#: uses any more and the excluded statement itself may each drop some.
OVERFETCH = 2
EXTRA = 10
_NEVER = object()  # no version checked yet


@dataclass(frozen=True)
class Opened:
    """One published version mapped in, plus the vectors stored after it; replaced whole, never changed."""

    manifest: Manifest
    segments: tuple[Any, ...]  # candidate sources: a mapped usearch file per segment, or the pgvector table
    stamp: tuple[int, int]
    delta_ids: np.ndarray
    delta_vectors: np.ndarray


class IndexedNeighbours:
    """What ``tracker.similarity.Neighbours`` asks, answered through an :class:`Opened` index in ``session``."""

    def __init__(self, opened: Opened, session: Session, model: str) -> None:
        self.opened = opened
        self.session = session
        self.model = model

    def _candidates(self, query: np.ndarray, fetch: int) -> list[int]:
        keys: list[int] = []
        for segment in self.opened.segments:
            keys += segment.candidates(self.session, query, fetch)
        delta = self.opened.delta_vectors
        if len(delta):
            scores = delta @ query
            take = min(fetch, len(scores))
            keys += [int(self.opened.delta_ids[i]) for i in np.argpartition(-scores, take - 1)[:take]]
        return keys

    def nearest(self, query: np.ndarray, k: int, exclude: int | None = None) -> list[tuple[int, float]]:
        """The ``k`` statements most similar to a unit ``query`` vector, best first, without ``exclude``."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if k <= 0 or query.shape[0] != self.opened.manifest.ndim:
            return []
        candidates = self._candidates(query, OVERFETCH * k + EXTRA)
        if not candidates:
            return []
        rows = self.session.execute(
            select(Statement.id, Embedding.vector, Embedding.dtype)
            .join(Embedding, (Embedding.text_hash == Statement.text_hash) & (Embedding.model == self.model))
            .where(Embedding.id.in_(candidates)).order_by(Statement.id)).all()
        rows = [r for r in rows if r[0] != exclude]
        if not rows:
            return []
        scores = unit(decode([(r[1], r[2]) for r in rows])) @ query
        order = np.argsort(-scores, kind="stable")[:k]  # ties keep statement-id order, as exact search does
        return [(int(rows[i][0]), round(float(scores[i]), 4)) for i in order]

    def vector_of(self, statement_id: int) -> np.ndarray | None:
        row = self.session.execute(
            select(Embedding.vector, Embedding.dtype)
            .join(Statement, (Embedding.text_hash == Statement.text_hash) & (Embedding.model == self.model))
            .where(Statement.id == statement_id)).first()
        return None if row is None else unit(decode([(row[0], row[1])]))[0]


class MappedSegment:
    """One segment file, memory-mapped read-only."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def candidates(self, session: Session, query: np.ndarray, fetch: int) -> list[int]:
        return [int(k) for k in np.asarray(self.index.search(query, fetch).keys).reshape(-1).tolist()]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class IndexReader:
    """This process's view of one model's index; ``current`` gives None when there is no usable index."""

    def __init__(self, folder: Path, model: str, expansion_search: int, engine: str = "auto") -> None:
        self.folder = folder
        self.engine = engine
        self.model = model
        self.expansion_search = expansion_search
        self._lock = threading.Lock()
        self._opened: Opened | None = None
        self._checked: Any = _NEVER
        self._refused: tuple[int, int] | None = None  # a manifest found unusable: not retried until it changes
        self.opens = 0

    def current(self, session: Session, version: Any) -> IndexedNeighbours | None:
        """The index as of ``version`` (checked once per version, also when there is none to use)."""
        if self._checked is _NEVER or self._checked != version:
            with self._lock:
                if self._checked is _NEVER or self._checked != version:
                    self._opened = self._refresh(session, self._opened)
                    self._checked = version
        opened = self._opened
        return None if opened is None else IndexedNeighbours(opened, session, self.model)

    def _refresh(self, session: Session, opened: Opened | None) -> Opened | None:
        if session.get_bind().dialect.name == "postgresql" and self.engine in ("auto", "pgvector"):
            found = self._pgvector(session, opened)
            if found is not None or self.engine == "pgvector":
                return found
        stamp = _stamp(manifest_path(self.folder, self.model))
        if stamp is None:
            return None
        if opened is None or opened.stamp != stamp:
            if stamp == self._refused:
                return None
            opened = self._open(session, stamp)
            if opened is None:
                self._refused = stamp
                return None
        return self._with_delta(session, opened)

    def _open(self, session: Session, stamp: tuple[int, int]) -> Opened | None:
        from usearch.index import Index

        manifest = current(session, self.folder, self.model)  # None: missing, or of another database
        if manifest is None:
            return None
        segments = []
        for segment in manifest.segments:
            try:
                index = Index.restore(str(self.folder / segment.file), view=True)
            except (OSError, RuntimeError, ValueError) as exc:  # replaced between the manifest read and here
                log.warning("vector index %s unreadable (%s): exact search", segment.file, exc)
                return None
            if index is None or index.ndim != manifest.ndim:
                return None
            setattr(index, "expansion_search", self.expansion_search)  # noqa: B010 (typed read-only, settable)
            segments.append(MappedSegment(index))
        self.opens += 1
        log.info("mapped vector index of %s (%d vectors, %d segments)", self.model, manifest.count, len(segments))
        empty = np.zeros((0, manifest.ndim), dtype=np.float32)
        return Opened(manifest, tuple(segments), stamp, np.zeros(0, dtype=np.int64), empty)

    def _pgvector(self, session: Session, opened: Opened | None) -> Opened | None:
        """The model's pgvector table as an index, when the database has one."""
        from tracker.vector_index import pgvector

        if not pgvector.extension_state(session)["installed"] or not pgvector.table_exists(session, self.model):
            return None
        if (opened is not None and opened.manifest.library.startswith("pgvector")
                and opened.stamp[1] == pgvector.last_id(session, self.model)):  # the table grew not: no count
            return self._with_delta(session, opened)
        rows, last, ndim = pgvector.covered(session, self.model)
        if ndim is None:
            return None
        manifest = Manifest(model=self.model, segments=(Segment(pgvector.table_name(self.model), rows, last),),
                            ndim=ndim, last_text_hash="", library="pgvector", built_at="", generation=0)
        empty = np.zeros((0, ndim), dtype=np.float32)
        found = Opened(manifest, (pgvector.PgvectorSegment(self.model, self.expansion_search),), (rows, last),
                       np.zeros(0, dtype=np.int64), empty)
        return self._with_delta(session, found)

    def _with_delta(self, session: Session, opened: Opened) -> Opened:
        """``opened`` plus the vectors stored since what it last saw (read incrementally by id)."""
        seen = int(opened.delta_ids[-1]) if len(opened.delta_ids) else opened.manifest.max_embedding_id
        parts = list(vectors_after(session, self.model, seen))
        if not parts:
            return opened
        ids = np.concatenate([opened.delta_ids, *(p[0].astype(np.int64) for p in parts)])
        vectors = np.vstack([opened.delta_vectors, *(p[1] for p in parts)])
        if len(ids) > 100_000:
            log.warning("%d vectors of %s are not in the index yet: run `tracker index`", len(ids), self.model)
        return Opened(opened.manifest, opened.segments, opened.stamp, ids, vectors)
