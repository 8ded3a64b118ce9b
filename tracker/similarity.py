"""Nearest statements for "similar statements" and semantic search: exactly, or through the vector index.

Why: cosine against every stored vector is one matrix product (1M x 384 float32 takes tens of
milliseconds), but reading the vectors out of the database takes seconds at that size. A long-lived
process (the web app) keeps one ``VectorIndex`` per model: its snapshot is checked against what is
stored once per data version, which is cheap, and reloaded only when statements or vectors changed.
It is replaced whole, so a caller never pairs the ids of one load with the vectors of another.

That exact path is the reference and the small-corpus default. Past ``search.exact_below`` vectors (or
with ``search.engine = "usearch"``) the process instead maps the on-disk index of ``tracker.vector_index``
and holds no vectors of its own; without a usable index it falls back to the exact path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.config import SearchConfig
from tracker.models import Embedding, Statement
from tracker.narratives.vectors import load_vectors, unit
from tracker.vector_index.reader import IndexReader

log = logging.getLogger(__name__)


class Neighbours(Protocol):
    """What a use case asks of one model's vectors, exact or indexed."""

    def nearest(self, query: np.ndarray, k: int, exclude: int | None = None) -> list[tuple[int, float]]: ...

    def vector_of(self, statement_id: int) -> np.ndarray | None: ...


@dataclass(frozen=True)
class Snapshot:
    """Unit vectors of one model's statements as they were at one load; never changed afterwards."""

    ids: np.ndarray
    vectors: np.ndarray
    rows: dict[int, int] = field(repr=False)

    @classmethod
    def load(cls, session: Session, model: str) -> Snapshot:
        ids, vectors = load_vectors(session, model)
        log.info("loaded %d statement vectors of %s for similarity", len(ids), model)
        return cls(ids, unit(vectors) if len(ids) else vectors, {int(i): n for n, i in enumerate(ids.tolist())})

    def nearest(self, query: np.ndarray, k: int, exclude: int | None = None) -> list[tuple[int, float]]:
        """The ``k`` statements most similar to a unit ``query`` vector, best first, without ``exclude``."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if not len(self.ids) or self.vectors.shape[1] != query.shape[0] or k <= 0:
            return []
        scores = self.vectors @ query
        take = min(k + (exclude is not None), len(scores))
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), round(float(scores[i]), 4)) for i in top if int(self.ids[i]) != exclude][:k]

    def vector_of(self, statement_id: int) -> np.ndarray | None:
        row = self.rows.get(statement_id)
        return None if row is None else self.vectors[row]


def stored_signature(session: Session, model: str) -> tuple[Any, ...]:
    """What changes when the statement-vector pairs of ``model`` may have: statements added or
    removed (also a new statement reusing a text already embedded) and vectors added or removed."""
    return tuple(session.execute(select(
        select(func.count(Statement.id)).scalar_subquery(),
        select(func.max(Statement.id)).scalar_subquery(),
        select(func.count(Embedding.id)).where(Embedding.model == model).scalar_subquery(),
        select(func.max(Embedding.id)).where(Embedding.model == model).scalar_subquery(),
    )).one())


class VectorIndex:
    """One model's neighbours in this process: through the on-disk index when there is a usable one
    (``reader``), else the current exact snapshot."""

    def __init__(self, model: str, reader: IndexReader | None = None) -> None:
        self.model = model
        self.reader = reader
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._signature: tuple[Any, ...] | None = None
        self._checked: Any = None  # the data version the snapshot was last found current at
        self.loads = 0

    def current(self, session: Session, version: Any) -> Neighbours:
        """The index's neighbours when usable, else the exact snapshot (see :meth:`exact`)."""
        if self.reader is not None:
            indexed = self.reader.current(session, version)
            if indexed is not None:
                self._snapshot = self._signature = None  # the index took over: hold no vectors
                return indexed
        return self.exact(session, version)

    def exact(self, session: Session, version: Any) -> Snapshot:
        """The snapshot, reloaded first when the stored vectors changed since ``version`` was checked."""
        snapshot = self._snapshot
        if snapshot is not None and self._checked == version:
            return snapshot
        with self._lock:  # one request loads; the others wait for its snapshot instead of loading too
            if self._snapshot is None or self._checked != version:
                signature = stored_signature(session, self.model)
                if self._snapshot is None or signature != self._signature:
                    self._snapshot = Snapshot.load(session, self.model)
                    self._signature = signature
                    self.loads += 1
                self._checked = version
            return self._snapshot


#: Where a use case gets a model's neighbours: a fresh load, or a long-lived process's current index.
Vectors = Callable[[str], Neighbours]


class VectorIndexes:
    """One :class:`VectorIndex` per model, made on first use; the process that keeps it owns it (the
    web app keeps one per app, since one process may serve several). With ``search`` settings and the
    index folder, each may read the on-disk index; without, it is always exact."""

    def __init__(self, search: SearchConfig | None = None, folder: Path | None = None) -> None:
        self.search = search
        self.folder = folder
        self._lock = threading.Lock()
        self._by_model: dict[str, VectorIndex] = {}

    def __getitem__(self, model: str) -> VectorIndex:
        with self._lock:
            found = self._by_model.get(model)
            if found is None:
                reader = None
                if self.search is not None and self.folder is not None and self.search.engine != "exact":
                    reader = IndexReader(self.folder, model, self.search.expansion_search, self.search.engine)
                found = self._by_model[model] = VectorIndex(model, reader)
            return found


def fresh_vectors(session: Session) -> Vectors:
    """Vectors read from the database on each call: for one-off callers with no index to keep."""
    return lambda model: Snapshot.load(session, model)
