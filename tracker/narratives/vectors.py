"""Load statement vectors and narrative centroids from the database as numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.config import NarrativesConfig
from tracker.models import Embedding, Narrative, Statement
from tracker.narratives.calibration import Calibration, calibrate, load_scale

SCALE_SAMPLE = 20_000  # statements a scale is measured on when no discovery has stored one

_CHUNK = 20_000


def load_vectors(session: Session, model: str, statement_ids: Sequence[int] | None = None, *,
                 scale: Calibration | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(statement ids, unit vectors float32) for statements that have a vector for ``model``.

    With ``scale``, each vector has its language's offset removed (the space discovery and assignment
    work in). Counts first and reads keyset chunks straight into one preallocated float32 array, so
    peak memory stays close to the vectors themselves: 1M x 384 is 1.5 GB, not twice that.
    """
    ids, vectors, languages = load_vectors_and_languages(session, model, statement_ids)
    if scale is not None and scale.offsets:
        vectors = scale.neutral(vectors, languages, copy=False)
    return ids, vectors


def load_vectors_and_languages(session: Session, model: str, statement_ids: Sequence[int] | None = None, *,
                               topical: bool = False) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Like :func:`load_vectors` without neutralising, plus each statement's language. ``topical`` leaves
    out statements a researcher dismissed as about no narrative (what discovery clusters)."""
    base = (
        select(Statement.id, Embedding.vector, Embedding.dtype, Statement.language)
        .join(Embedding, (Embedding.text_hash == Statement.text_hash) & (Embedding.model == model))
        .order_by(Statement.id)
    )
    if topical:
        base = base.where(Statement.off_topic.is_(False))
    if statement_ids is not None:
        wanted = sorted(set(statement_ids))
        out = _Growing(len(wanted))
        for start in range(0, len(wanted), 900):
            out.extend(session.execute(base.where(Statement.id.in_(wanted[start : start + 900]))).all())
    else:
        out = _Growing(int(session.scalar(select(func.count()).select_from(base.subquery())) or 0))
        last = 0
        while True:
            rows = session.execute(base.where(Statement.id > last).limit(_CHUNK)).all()
            if not rows:
                break
            out.extend(rows)
            last = rows[-1][0]
    ids, vectors = out.result()
    return ids, vectors, out.languages


class _Growing:
    """An (ids, vectors) pair of arrays that grows by doubling."""

    def __init__(self, expected: int = 0) -> None:
        self.expected = expected
        self.ids = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.n = 0
        self.languages: list[str | None] = []

    def extend(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        block = decode([(r[1], r[2]) for r in rows])
        need = self.n + len(rows)
        if self.vectors.shape[1] != block.shape[1] and self.n == 0:
            self.vectors = np.zeros((0, block.shape[1]), dtype=np.float32)
        if need > len(self.ids):
            size = max(need, self.expected, 2 * len(self.ids), 1024)
            ids = np.zeros(size, dtype=np.int64)
            ids[: self.n] = self.ids[: self.n]
            vectors = np.zeros((size, block.shape[1]), dtype=np.float32)
            vectors[: self.n] = self.vectors[: self.n]
            self.ids, self.vectors = ids, vectors
        self.ids[self.n : need] = [r[0] for r in rows]
        self.languages.extend(r[3] for r in rows)
        self.vectors[self.n : need] = block
        self.n = need

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return self.ids[: self.n], self.vectors[: self.n]  # views: no second copy


def decode(rows: Sequence[tuple[bytes, str]]) -> np.ndarray:
    """(vector bytes, storage dtype) rows as one float32 matrix: one join and one frombuffer when the rows
    share a dtype (fast at 50k rows); row by row when the storage dtype was changed between runs."""
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    if all(dtype == rows[0][1] for _, dtype in rows):
        kind = np.float16 if rows[0][1] == "float16" else np.float32
        return np.frombuffer(b"".join(blob for blob, _ in rows), dtype=kind).reshape(len(rows), -1).astype(np.float32)
    return np.vstack([np.frombuffer(blob, dtype=np.float16 if dtype == "float16" else np.float32).astype(np.float32)
                      for blob, dtype in rows])


def unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: np.ndarray = (matrix / norms).astype(np.float32)
    return scaled


def centroid_to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def centroid_from_bytes(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def narrative_mean(nar: Narrative) -> np.ndarray | None:
    """The narrative's mean statement vector: its unit centroid times its cohesion.

    Its dot product with a statement is the statement's mean similarity to the narrative's statements.
    A narrative without a cohesion yet (seeded from one example, or from before cohesion was kept)
    counts as fully cohesive."""
    vec = centroid_from_bytes(nar.centroid)
    if vec is None:
        return None
    mean: np.ndarray = unit(vec[None, :])[0] * np.float32(nar.cohesion if nar.cohesion else 1.0)
    return mean


def current_scale(session: Session, model: str, cfg: NarrativesConfig) -> Calibration:
    """The scale the last full discovery stored for ``model``, else one measured now on up to
    ``SCALE_SAMPLE`` statements spread evenly over the corpus."""
    stored = load_scale(session, model)
    if stored is not None:
        return stored
    have = (select(Statement.id).join(Embedding, (Embedding.text_hash == Statement.text_hash)
                                      & (Embedding.model == model)).order_by(Statement.id))
    ids = list(session.scalars(have))
    step = max(1, len(ids) // SCALE_SAMPLE)
    _, X, languages = load_vectors_and_languages(session, model, ids[::step])
    return calibrate(X, languages, random_state=cfg.random_state, prior=cfg.language_prior)
