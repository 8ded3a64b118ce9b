"""Statements that read alike: which models embedded one, and its nearest neighbours by cosine.

numpy and the vector store load inside the functions, so pages that never ask stay light.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Statement


def embedding_models(session: Session, statement_id: int) -> list[str]:
    """Models that have a vector for this statement's text."""
    from tracker.models import Embedding

    return list(session.scalars(select(Embedding.model).join(Statement, Statement.text_hash == Embedding.text_hash)
                                .where(Statement.id == statement_id).order_by(Embedding.model)))


def nearest(session: Session, vector: Any, model: str, *, limit: int = 10,
            exclude: int | None = None) -> list[tuple[int, float]]:
    """Statements closest to ``vector`` by cosine, brute force over every stored vector of ``model``."""
    import numpy as np

    from tracker.narratives.vectors import load_vectors

    ids, X = load_vectors(session, model)
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if len(ids) == 0 or X.shape[1] != v.shape[0]:
        return []
    norm = float(np.linalg.norm(v))
    scores = X @ (v / norm if norm else v)
    if exclude is not None:
        scores[ids == exclude] = -np.inf
    k = min(limit, len(ids))
    top = np.argpartition(-scores, k - 1)[:k] if len(ids) > k else np.arange(len(ids))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(ids[i]), round(float(scores[i]), 4)) for i in top if np.isfinite(scores[i])]


def statement_vector(session: Session, statement_id: int, model: str) -> Any:
    from tracker.narratives.vectors import load_vectors

    ids, X = load_vectors(session, model, [statement_id])
    return X[0] if len(ids) else None
