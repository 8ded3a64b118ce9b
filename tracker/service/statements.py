"""Statements: listings and search, one statement in full, the statements most like it, and adding one by hand.

"Similar" and "semantic search" compare vectors of one model: the current model (``Workspace.model``)
when the statement has a vector for it, else the first model that has one, so a statement embedded
before a model change still finds its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import audit
from tracker.embed import Embedder
from tracker.errors import Refused
from tracker.ingest.drafts import StatementDraft, is_web_url
from tracker.ingest.store import clean_text, store_drafts, text_hash
from tracker.models import Statement, User
from tracker.queries import (
    STATEMENT_STATES,
    StatementFilter,
    embedding_models,
    filter_choices,
    list_statements,
    statement_detail,
    statements_by_ids,
)
from tracker.service.workspace import Workspace
from tracker.similarity import Neighbours, Snapshot, VectorIndexes, Vectors, fresh_vectors
from tracker.vector_index.files import index_dir
from tracker.vocabulary import ACTOR_KINDS

__all__ = ["STATEMENT_STATES", "Neighbours", "Snapshot", "StatementFilter", "VectorIndexes", "Vectors", "add_statement",
           "copies_in", "detail_with_similar",
           "filter_choices", "fresh_vectors", "index_dir", "list_statements", "semantic_search", "similar", "statements_by_ids"]

#: How many more neighbours a filtered semantic search looks at, since the filter drops some of them.
FILTERED_OVERFETCH = 5


def detail_with_similar(session: Session, model: str, statement_id: int, *, limit: int, vectors: Vectors
                        ) -> dict[str, Any] | None:
    """One statement in full, with the ``limit`` statements most like it (``similar``, best first) and the
    model they were compared in (``similar_model``; None when the statement has no vector yet)."""
    found = statement_detail(session, statement_id)
    if found is not None:
        found["similar_model"], found["similar"] = similar(session, model, statement_id, limit=limit, vectors=vectors)
    return found


def copies_in(docs: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The syndicated copies among narratives' timeline documents: statement id -> the original it
    copies (``id`` and ``who`` published it), as the timeline judged them (tracker.analysis.syndication)."""
    marks: dict[int, dict[str, Any]] = {}
    for doc in docs:
        events = {e["statement_id"]: e for e in doc["events"]}
        for event in doc["events"]:
            original = events.get(event["syndicated_from"]) if event["syndicated_from"] is not None else None
            if original is not None:
                marks[event["statement_id"]] = {"id": original["statement_id"],
                                                "who": original["actor"] or original["outlet"]}
    return marks


def _hits(session: Session, found: list[tuple[int, float]]) -> list[dict[str, Any]]:
    rows = {r["id"]: r for r in statements_by_ids(session, [sid for sid, _ in found])}
    return [{"score": score, "statement": rows[sid]} for sid, score in found if sid in rows]


def similar(session: Session, model: str, statement_id: int, *, limit: int, vectors: Vectors
            ) -> tuple[str | None, list[dict[str, Any]]]:
    """The model compared in (see the module docstring; None: the statement has no vector) and the
    ``limit`` statements closest to this one, best first: ``{score, statement}``."""
    models = embedding_models(session, statement_id)
    chosen = model if model in models else (models[0] if models else None)
    if chosen is None or limit <= 0:
        return chosen, []
    index = vectors(chosen)
    vector = index.vector_of(statement_id)
    found = index.nearest(vector, limit, exclude=statement_id) if vector is not None else []
    return chosen, _hits(session, found)


def semantic_search(session: Session, embedder: Embedder, text: str, *, limit: int, vectors: Vectors,
                    flt: StatementFilter | None = None) -> list[dict[str, Any]]:
    """Statements closest in meaning to ``text`` (embedded with ``embedder``), best first: ``{score,
    statement}``. A filter narrows the neighbours afterwards."""
    vector = np.asarray(embedder.embed([text]), dtype=np.float32)[0]
    norm = float(np.linalg.norm(vector)) or 1.0
    active = flt is not None and flt.active()
    found = vectors(embedder.name).nearest(vector / norm, limit * (FILTERED_OVERFETCH if active else 1))
    if flt is not None and active:
        allowed = set(session.scalars(select(Statement.id).where(Statement.id.in_([i for i, _ in found]),
                                                                 *flt.clauses(with_text=False))))
        found = [(i, score) for i, score in found if i in allowed]
    return _hits(session, found[:limit])


def _check(actor_kind: str | None, url: str | None) -> None:
    if actor_kind is not None and actor_kind not in ACTOR_KINDS:
        raise Refused(f"actor_kind must be one of {', '.join(ACTOR_KINDS)}", field="actor_kind")
    if url and not is_web_url(url):
        raise Refused("url must be an http(s) URL", field="url")


def add_statement(ws: Workspace, user: User, text: str, *, external_id: str | None = None,
                  published_at: datetime | None = None, actor: str | None = None, actor_kind: str | None = None,
                  outlet: str | None = None, country: str | None = None, language: str | None = None,
                  url: str | None = None, title: str | None = None, context: str | None = None
                  ) -> tuple[dict[str, Any], bool]:
    """Store a statement a researcher typed in (or update the one it matches); returns it and whether it is
    new. It has no vector until the pipeline embeds it."""
    _check(actor_kind, url)
    draft = StatementDraft(text=text, external_id=external_id, published_at=published_at, actor=actor,
                           actor_kind=actor_kind, outlet=outlet, country=country, language=language, url=url or None,
                           title=title, context=context, origin=f"api by {user.name}")
    with ws.db.transaction() as tx:
        before = tx.scalar(select(func.max(Statement.id))) or 0
        stats = store_drafts(tx, [draft])
        if stats.errors:
            raise Refused(stats.errors[0].reason, field=stats.errors[0].field)
        sid = tx.scalar(select(Statement.id).where(Statement.text_hash == text_hash(clean_text(draft.text)))
                        .order_by(Statement.id.desc()).limit(1))
        assert sid is not None  # store_drafts stored or matched it
        created = sid > before
        if stats.inserted or stats.updated:
            audit.record(tx, user, "statement.add" if created else "statement.update", "statement", sid, None,
                         {"text": clean_text(draft.text)[:500], "actor": draft.actor, "outlet": draft.outlet})
        found = statement_detail(tx, sid)
        assert found is not None
    return found, created
