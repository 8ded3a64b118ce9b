"""Shared by the narrative tests: statements with hand-made vectors in a test database, and an estimator
that returns the clustering it is given."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from tracker.config import Config, NarrativesConfig
from tracker.db import Database
from tracker.embed import to_bytes
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts, text_hash
from tracker.models import Assignment, Embedding, Statement
from tracker.narratives.calibration import Calibration, save_scale
from tracker.narratives.registry import DiscoveryReport, run_discovery

MODEL = "fake-16"
DIM = 16


def axis(*weights: tuple[int, float]) -> np.ndarray:
    """A unit vector from (dimension, weight) pairs."""
    v = np.zeros(DIM, dtype=np.float32)
    for d, w in weights:
        v[d] += w
    return v / np.linalg.norm(v)


def near(d: int, i: int, noise: float = 0.05) -> np.ndarray:
    """The i-th statement about direction d: the axis plus small noise seeded by (d, i)."""
    rng = np.random.default_rng(1000 * d + i)
    v = axis((d, 1.0)) + noise * rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def add(db: Database, vectors: list[np.ndarray], prefix: str = "s", language: str | None = None) -> list[int]:
    """Store one statement per vector (texts are unique labels) and its embedding; return ids in order."""
    start = _count(db)
    texts = [f"{prefix} statement {start + i}" for i in range(len(vectors))]
    with db.transaction() as session:
        store_drafts(session, [StatementDraft(t, external_id=t, outlet="Outlet", language=language) for t in texts])
        blobs = to_bytes(np.vstack(vectors), "float32")
        session.execute(Embedding.__table__.insert(), [
            {"text_hash": text_hash(t), "model": MODEL, "dim": DIM, "dtype": "float32", "vector": b}
            for t, b in zip(texts, blobs, strict=True)])
        by_text = dict(session.execute(select(Statement.text, Statement.id).where(Statement.text.in_(texts))).all())
    return [by_text[t] for t in texts]


def _count(db: Database) -> int:
    with db.reader() as session:
        return len(session.scalars(select(Statement.id)).all())


def group(db: Database, directions: dict[int, int]) -> dict[int, list[int]]:
    """``{direction: how many}`` -> ``{direction: statement ids}``."""
    return {d: add(db, [near(d, i) for i in range(n)]) for d, n in directions.items()}


# The narrative tests reason in similarities. On this scale a level is ten times a mean similarity (a
# background mean of 0 and a spread of 0.1, about what real encoders show), so similarity 0.62 is level
# 6.2. Calibration itself is tested in test_calibration.py; here it is fixed so the geometry is readable.
TEST_SCALE = Calibration(0.0, 0.1)
TEST_LEVELS = {"merge_level": 4.0, "join_level": 4.0, "auto_level": 6.2, "suggest_level": 4.5}


def narratives_cfg(config: Config, **overrides: Any) -> NarrativesConfig:
    return config.replace(narratives={"min_size": 3, "random_state": 0, **TEST_LEVELS, **overrides}).narratives


def use_test_scale(db: Database) -> None:
    """Store the test scale, as a full discovery would (for tests that seed before any discovery)."""
    with db.transaction() as session:
        save_scale(session, MODEL, TEST_SCALE, 0)


def discover(db: Database, cfg: NarrativesConfig, model: str = MODEL, **kwargs: Any) -> DiscoveryReport:
    """Full discovery on the test scale (it is stored, so later assignment uses it too)."""
    return run_discovery(db, cfg, model, scale=kwargs.pop("scale", TEST_SCALE), **kwargs)


def current(db: Database) -> dict[int, int]:
    with db.reader() as session:
        return dict(session.execute(select(Assignment.statement_id, Assignment.narrative_id).where(
            Assignment.state.in_(("assigned", "confirmed")))).all())


class FixedClusters:
    """An estimator that returns the clustering it is given: statement id -> label (-1: none)."""

    def __init__(self, labels: dict[int, int]) -> None:
        self.labels = labels

    def fit(self, X: np.ndarray) -> FixedClusters:
        ids = sorted(self.labels)
        assert len(ids) == X.shape[0], "give a label for every statement with a vector"
        self.labels_ = np.asarray([self.labels[s] for s in ids])
        k = int(self.labels_.max()) + 1
        sums = np.vstack([X[self.labels_ == c].sum(axis=0) for c in range(k)])
        self.means_ = sums / np.bincount(self.labels_[self.labels_ >= 0], minlength=k)[:, None]
        self.centroids_ = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        return self


def fixed(mapping: dict[int, list[int]]) -> FixedClusters:
    return FixedClusters({s: label for label, sids in mapping.items() for s in sids})


class DictEmbedder:
    """A fake embedder: known texts get known vectors."""

    name = MODEL

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.vectors[t] for t in texts])
