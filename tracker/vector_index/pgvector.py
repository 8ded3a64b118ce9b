"""PostgreSQL with the pgvector extension: the index lives in the database itself (HNSW over ``halfvec``).

Why: on a server with pgvector every web process on every machine shares one index that the database
keeps current and crash-safe; no files to copy or rebuild per machine. Vectors are kept as ``halfvec``
(half precision: half the space of ``vector``), enough for the candidate search since every candidate is
re-scored from the stored vectors (``reader.py``). One table per model (dimensions differ by model),
created on first use, filled from the embeddings table by the same update that extends the file index.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from tracker.vector_index.files import model_slug

log = logging.getLogger(__name__)

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def table_name(model: str) -> str:
    """The model's table: a fixed prefix and a hash, so any model name or path gives a safe identifier."""
    return "vector_index_" + model_slug(model).rsplit("-", 1)[-1]


def extension_state(session: Session) -> dict[str, Any]:
    """Whether the server offers pgvector and whether this database has it installed (and which version)."""
    if session.get_bind().dialect.name != "postgresql":
        return {"available": False, "installed": None}
    available = session.execute(text("SELECT default_version FROM pg_available_extensions "
                                     "WHERE name = 'vector'")).scalar()
    installed = session.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    return {"available": available is not None, "installed": installed}


def table_exists(session: Session, model: str) -> bool:
    return bool(session.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table_name(model)}).scalar())


def ensure_table(session: Session, model: str, ndim: int) -> None:
    """The extension and the model's table, created when missing (the HNSW index: :func:`ensure_index`)."""
    session.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    session.execute(text(f"CREATE TABLE IF NOT EXISTS {table_name(model)} (embedding_id bigint PRIMARY KEY "
                         f"REFERENCES embeddings (id) ON DELETE CASCADE, v halfvec({int(ndim)}) NOT NULL)"))


def ensure_index(session: Session, model: str) -> None:
    """The HNSW index (cosine on halfvec), created when missing: after the first fill, since building it
    over the rows at once is much faster than growing it row by row."""
    name = table_name(model)
    session.execute(text(f"CREATE INDEX IF NOT EXISTS {name}_hnsw ON {name} USING hnsw (v halfvec_cosine_ops) "
                         f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"))


def last_id(session: Session, model: str) -> int:
    """The highest embedding id in the model's table (its primary key: cheap, unlike a count)."""
    return int(session.execute(text(f"SELECT coalesce(max(embedding_id), 0) FROM {table_name(model)}")).scalar_one())


def covered(session: Session, model: str) -> tuple[int, int, int | None]:
    """(rows, highest embedding id, dimensions) of the model's table."""
    name = table_name(model)
    rows, last = session.execute(text(f"SELECT count(*), coalesce(max(embedding_id), 0) FROM {name}")).one()
    ndim = session.execute(text(f"SELECT vector_dims(v::vector) FROM {name} LIMIT 1")).scalar()
    return int(rows), int(last), None if ndim is None else int(ndim)


def literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in vector.tolist()) + "]"


def insert(session: Session, model: str, ids: np.ndarray, vectors: np.ndarray) -> None:
    session.execute(text(f"INSERT INTO {table_name(model)} (embedding_id, v) VALUES (:id, CAST(:v AS halfvec)) "
                         "ON CONFLICT (embedding_id) DO NOTHING"),
                    [{"id": int(i), "v": literal(v)} for i, v in zip(ids, vectors, strict=True)])


class PgvectorSegment:
    """The model's table as a candidate source for ``reader.IndexedNeighbours``."""

    def __init__(self, model: str, ef_search: int) -> None:
        self.model = model
        self.ef_search = ef_search

    def candidates(self, session: Session, query: np.ndarray, fetch: int) -> list[int]:
        session.execute(text(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), fetch)}"))
        rows = session.execute(text(f"SELECT embedding_id FROM {table_name(self.model)} "
                                    "ORDER BY v <=> CAST(:q AS halfvec) LIMIT :n"),
                               {"q": literal(query), "n": fetch}).scalars()
        return [int(r) for r in rows]
