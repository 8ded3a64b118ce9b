"""Stored vectors as the index and its readers need them: decoded, unit length, by embedding id."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def decode_unit(rows: Sequence[tuple[bytes, str]]) -> np.ndarray:
    """(vector bytes, storage dtype) rows as one float32 matrix of unit rows (zero rows stay zero)."""
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    def kind(dtype: str) -> type[np.floating]:
        return np.float16 if dtype == "float16" else np.float32

    if all(dtype == rows[0][1] for _, dtype in rows):  # one join and one frombuffer: fast at 50k rows
        matrix = np.frombuffer(b"".join(blob for blob, _ in rows), dtype=kind(rows[0][1])).reshape(len(rows), -1)
    else:  # the storage dtype changed between runs
        matrix = np.vstack([np.frombuffer(blob, dtype=kind(dtype)) for blob, dtype in rows])
    matrix = matrix.astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = (matrix / norms).astype(np.float32)
    return unit
