"""Similarity on the corpus's own scale, and the language bias taken out before clustering.

No cut in discovery or assignment is an absolute cosine. Another encoder (the multilingual USE gives
unrelated texts a higher baseline than MiniLM), another genre (long articles score higher than
titles) or another language mix moves every similarity, and a cut fitted on one corpus lands in
the wrong place on the next. Every threshold is therefore a *level*: how many standard deviations
the mean similarity of two sets of statements stands above the mean similarity of two random
statements of the same corpus (its *background*). Shifting or rescaling all similarities, as a
different encoder does, moves the background with them, so a level selects the same pairs.

Multilingual encoders also keep a trace of the language itself: on the propaganda-diary set (five
languages, USE), two quotes of the *same* claim in different languages average 0.308 cosine while two
quotes of *different* claims in the same language average 0.284, so clusters formed by language.
Each language's mean vector is pulled back to the corpus mean before clustering (the offset shrunk
toward zero for languages with few statements, whose mean is mostly their topic). On that set the
best B-cubed F1 rose from 0.362 to 0.424 and clusters stopped following language (ARI between
language and cluster 0.20 -> 0.00); the sample corpus (English, Russian, Chinese) was unchanged.
bench/README.md has the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import SimilarityScale, utcnow

PAIRS = 20_000  # random pairs for the background: its mean is known to about +-0.002
LANGUAGE_PRIOR = 20  # statements at which a language's offset counts half (shrinkage n / (n + prior))
UNKNOWN_LANGUAGE = "und"
_CHUNK = 65_536


@dataclass(frozen=True)
class Calibration:
    """The background of a corpus under one model, and the offsets that neutralise its languages."""

    mean: float
    sd: float
    offsets: dict[str, np.ndarray] = field(default_factory=dict)

    def similarity(self, level: float) -> float:
        """The mean similarity that stands ``level`` standard deviations above the background."""
        return self.mean + level * self.sd

    @overload
    def level(self, similarity: float) -> float: ...

    @overload
    def level(self, similarity: np.ndarray) -> np.ndarray: ...

    def level(self, similarity: np.ndarray | float) -> np.ndarray | float:
        """Similarity expressed in background standard deviations above the background mean."""
        return (similarity - self.mean) / self.sd

    def neutral(self, x: np.ndarray, languages: Sequence[str | None] | None, *, copy: bool = True) -> np.ndarray:
        """Unit rows of ``x`` with each row's language offset removed (rows of unseen languages unchanged).

        ``copy=False`` works in place on a float32 ``x`` the caller owns (1M x 512 is 2 GB)."""
        if not self.offsets or languages is None or x.shape[0] == 0:
            return x
        out = np.array(x, dtype=np.float32, copy=True) if copy or x.dtype != np.float32 else x
        names = sorted(k for k, v in self.offsets.items() if v.shape[0] == out.shape[1])
        table = np.vstack([np.zeros((1, out.shape[1]), np.float32)] + [self.offsets[k][None, :] for k in names])
        position = {k: i + 1 for i, k in enumerate(names)}  # 0: a language without an offset
        rows = np.fromiter((position.get(lang or UNKNOWN_LANGUAGE, 0) for lang in languages), np.int64,
                           count=out.shape[0])
        for start in range(0, out.shape[0], _CHUNK):  # in blocks: no n x d temporary
            block = out[start : start + _CHUNK]
            block -= table[rows[start : start + _CHUNK]]
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            block /= norms
        return out


def background(x: np.ndarray, *, pairs: int = PAIRS, random_state: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of the cosine between two distinct random rows of unit ``x``."""
    n = x.shape[0]
    if n < 2:
        return 0.0, 1.0
    rng = np.random.default_rng(random_state)
    i = rng.integers(0, n, pairs)
    j = rng.integers(0, n - 1, pairs)
    j = j + (j >= i)  # a distinct partner for every draw, uniformly
    sims = np.einsum("ij,ij->i", x[i], x[j], dtype=np.float64)
    sd = float(sims.std())
    return float(sims.mean()), sd if sd > 1e-9 else 1.0


def language_offsets(x: np.ndarray, languages: Sequence[str | None], *, prior: float = LANGUAGE_PRIOR
                     ) -> dict[str, np.ndarray]:
    """Per language, how far its mean vector sits from the corpus mean, shrunk by n / (n + prior).

    Nothing to remove from a corpus in one language. The shrinkage keeps a language with a handful of
    statements (whose mean is mostly what they talk about) close to where the encoder put it.
    """
    codes = np.asarray([lang or UNKNOWN_LANGUAGE for lang in languages], dtype=object)
    kinds = np.unique(codes)
    if kinds.size < 2 or x.shape[0] == 0:
        return {}
    overall = x.mean(axis=0, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for lang in kinds.tolist():
        rows = codes == lang
        n = int(rows.sum())
        weight = n / (n + prior)
        out[str(lang)] = (weight * (x[rows].mean(axis=0, dtype=np.float64) - overall)).astype(np.float32)
    return out


def calibrate(x: np.ndarray, languages: Sequence[str | None] | None, *, random_state: int = 0,
              prior: float = LANGUAGE_PRIOR) -> Calibration:
    """Language offsets from ``x``, then the background of the neutralised rows."""
    offsets = language_offsets(x, languages, prior=prior) if languages is not None else {}
    probe = Calibration(0.0, 1.0, offsets)
    mean, sd = background(probe.neutral(x, languages), random_state=random_state)
    return Calibration(mean, sd, offsets)


# ---------------------------------------------------------------- storage (one row per model)

def save_scale(session: Session, model: str, cal: Calibration, statements: int) -> None:
    """Keep ``cal`` as the scale of ``model`` (in the caller's transaction)."""
    languages = sorted(cal.offsets)
    blob = np.vstack([cal.offsets[k] for k in languages]).astype(np.float32).tobytes() if languages else None
    row = session.get(SimilarityScale, model)
    if row is None:
        row = SimilarityScale(model=model)
        session.add(row)
    row.mean, row.sd, row.languages, row.offsets, row.statements = cal.mean, cal.sd, languages, blob, statements
    row.updated_at = utcnow()


def load_scale(session: Session, model: str) -> Calibration | None:
    """The scale the last full discovery measured for ``model``, if any."""
    row = session.scalar(select(SimilarityScale).where(SimilarityScale.model == model))
    if row is None:
        return None
    offsets: dict[str, np.ndarray] = {}
    if row.offsets and row.languages:
        matrix = np.frombuffer(row.offsets, dtype=np.float32).reshape(len(row.languages), -1)
        offsets = {str(lang): matrix[i].copy() for i, lang in enumerate(row.languages)}
    return Calibration(float(row.mean), float(row.sd) or 1.0, offsets)
