"""Statement vectors held in memory, for "similar statements" and semantic search.

Why: cosine against every stored vector is one matrix product (1M x 384 float32 takes tens of
milliseconds), but reading the vectors out of the database takes seconds at that size. A long-lived
process (the web app) keeps one ``VectorIndex`` per model: its snapshot is checked against what is
stored once per data version, which is cheap, and reloaded only when statements or vectors changed.
It is replaced whole, so a caller never pairs the ids of one load with the vectors of another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.models import Embedding, Statement
from tracker.narratives.vectors import load_vectors, unit

log = logging.getLogger(__name__)


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
    """The current snapshot of one model's vectors in this process."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._signature: tuple[Any, ...] | None = None
        self._checked: Any = None  # the data version the snapshot was last found current at
        self.loads = 0

    def current(self, session: Session, version: Any) -> Snapshot:
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


#: Where a use case gets a model's vectors: a fresh load, or a long-lived process's current snapshot.
Vectors = Callable[[str], Snapshot]


class VectorIndexes:
    """One :class:`VectorIndex` per model, made on first use; the process that keeps it owns it (the
    web app keeps one per app, since one process may serve several)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, VectorIndex] = {}

    def __getitem__(self, model: str) -> VectorIndex:
        with self._lock:
            found = self._by_model.get(model)
            if found is None:
                found = self._by_model[model] = VectorIndex(model)
            return found


def fresh_vectors(session: Session) -> Vectors:
    """Vectors read from the database on each call: for one-off callers with no index to keep."""
    return lambda model: Snapshot.load(session, model)
