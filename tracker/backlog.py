"""The embedding backlog on PostgreSQL: distinct texts waiting for a vector, claimed by one worker each.

Several ``tracker embed`` / ``tracker run`` processes, on one machine or many, share the backlog through
PostgreSQL's own row locks, as source leases do (tracker.ingest.leases), without a task queue:

- ``fill`` writes one ``embedding_backlog`` row per distinct text hash with no vector in the model;
- ``claim`` locks up to a chunk of those rows ``FOR UPDATE SKIP LOCKED`` in a transaction the worker
  keeps open while it embeds, stores the vectors and deletes the rows; the commit releases them.

A text is keyed by its hash, so a text several statements share (the same words from many outlets) is one
row and one embedding. A worker killed with ``kill -9`` closes its connection: PostgreSQL rolls its
transaction back at once and the chunk is free for the next claim, on any host. A worker whose machine
vanishes cannot close it; ``lease_seconds`` (``idle_in_transaction_session_timeout`` of the claim) ends
its session and frees the chunk then. SQLite has one worker and does not use this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import exists, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from tracker.db import Database
from tracker.models import Embedding, EmbeddingBacklog, Statement

_FILL_LOCK = int.from_bytes(hashlib.blake2b(b"embedding-backlog-fill", digest_size=4).digest(), "big")
# Held shared by every transaction that stores vectors, from its INSERT to its commit: ids come from a
# sequence at INSERT time, so two workers' chunks can commit out of id order. An index update takes it
# exclusively to read a watermark below which every id is committed (``committed_upto``).
_STORE_LOCK = int.from_bytes(hashlib.blake2b(b"embedding-store", digest_size=4).digest(), "big")


@dataclass
class Claim:
    """Texts this worker now holds (hash, text), and rows it found already embedded and cleared."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    cleared: int = 0


def fill(db: Database, model: str) -> None:
    """Add a row for every distinct statement text with no vector in ``model`` (one filler at a time:
    two concurrent ``INSERT ... ON CONFLICT`` over the same keys could deadlock)."""
    missing = ~exists().where(Embedding.model == model, Embedding.text_hash == Statement.text_hash)
    rows = select(Statement.text_hash, literal(model)).where(missing).distinct()
    with db.transaction() as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FILL_LOCK})
        session.execute(pg_insert(EmbeddingBacklog).from_select(["text_hash", "model"], rows)
                        .on_conflict_do_nothing())


def claim(session: Session, model: str, limit: int, lease_seconds: int) -> Claim:
    """Lock up to ``limit`` waiting texts no other worker holds, inside the caller's transaction.

    Rows already embedded (a fill that raced another worker's commit) are deleted and not returned.
    """
    session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {int(lease_seconds) * 1000}"))
    hashes = list(session.scalars(select(EmbeddingBacklog.text_hash).where(EmbeddingBacklog.model == model)
                                  .limit(limit).with_for_update(skip_locked=True)))
    if not hashes:
        return Claim()
    texts: dict[str, str] = {}
    for h, t in session.execute(select(Statement.text_hash, Statement.text).where(Statement.text_hash.in_(hashes))):
        texts.setdefault(h, t)
    done = set(session.scalars(select(Embedding.text_hash).where(Embedding.model == model,
                                                                 Embedding.text_hash.in_(hashes))))
    gone = [h for h in hashes if h in done or h not in texts]
    if gone:
        release(session, model, gone)
    return Claim([(h, texts[h]) for h in hashes if h not in done and h in texts], len(gone))


def storing(session: Session) -> None:
    """Call in a transaction before it inserts vectors (see ``_STORE_LOCK``)."""
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _STORE_LOCK})


def committed_upto(db: Database, model: str) -> int:
    """The highest embedding id of ``model`` below which no vector is still being stored: waits for the
    transactions storing vectors now to commit, so an index extended up to it never skips an id."""
    with db.transaction() as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STORE_LOCK})
        return int(session.scalar(select(func.max(Embedding.id)).where(Embedding.model == model)) or 0)


def release(session: Session, model: str, hashes: list[str]) -> None:
    """Delete the rows of texts that now have their vector (in the transaction that stored it)."""
    session.execute(EmbeddingBacklog.__table__.delete().where(EmbeddingBacklog.model == model,
                                                             EmbeddingBacklog.text_hash.in_(hashes)))


def wait_for_others(db: Database, model: str, lease_seconds: int) -> None:
    """Block until a chunk another worker holds is released (stored, or its worker died), rather than
    polling: a worker that found nothing to claim then looks again the moment there may be something."""
    from sqlalchemy.exc import OperationalError

    try:
        with db.transaction() as session:
            session.execute(text(f"SET LOCAL lock_timeout = {int(lease_seconds) * 1000}"))
            session.execute(select(EmbeddingBacklog.text_hash).where(EmbeddingBacklog.model == model)
                            .limit(1).with_for_update())
    except OperationalError:  # the holder outlived its lease: look again, as after a release
        return


def waiting(db: Database, model: str) -> bool:
    """Are texts still waiting, free or held by another worker?"""
    with db.reader() as session:
        return session.scalar(select(exists().where(EmbeddingBacklog.model == model))) is True
