"""Load statement vectors and narrative centroids from the database as numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Embedding, Statement

_CHUNK = 20_000


def load_vectors(session: Session, model: str, statement_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(statement ids, unit vectors float32) for statements that have a vector for ``model``.

    Reads in keyset chunks into one preallocated array, so memory is the vectors and little else.
    """
    ids: list[int] = []
    blocks: list[np.ndarray] = []
    base = (
        select(Statement.id, Embedding.vector, Embedding.dtype)
        .join(Embedding, (Embedding.text_hash == Statement.text_hash) & (Embedding.model == model))
        .order_by(Statement.id)
    )
    if statement_ids is not None:
        wanted = sorted(set(statement_ids))
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            _collect(session.execute(base.where(Statement.id.in_(part))).all(), ids, blocks)
    else:
        last = 0
        while True:
            rows = session.execute(base.where(Statement.id > last).limit(_CHUNK)).all()
            if not rows:
                break
            _collect(rows, ids, blocks)
            last = rows[-1][0]
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.vstack(blocks)


def _collect(rows: Sequence[tuple[int, bytes, str]], ids: list[int], blocks: list[np.ndarray]) -> None:
    if not rows:
        return
    if all(r[2] == rows[0][2] for r in rows):
        dtype = np.float16 if rows[0][2] == "float16" else np.float32
        block = np.frombuffer(b"".join(r[1] for r in rows), dtype=dtype).reshape(len(rows), -1).astype(np.float32)
    else:  # the storage dtype was changed between runs
        block = np.vstack([np.frombuffer(r[1], dtype=np.float16 if r[2] == "float16" else np.float32)
                           .astype(np.float32) for r in rows])
    ids.extend(r[0] for r in rows)
    blocks.append(block)


def unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def centroid_to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def centroid_from_bytes(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()
