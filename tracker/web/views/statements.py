"""Dashboard: statement search (keyword and semantic) and one statement with its similar statements.

Semantic search embeds the query with ``state().embedder``, which loads the model on the first
semantic query only. Similarity is brute-force cosine over the stored vectors, held in memory per
process by ``tracker.web.similarity`` (shared with the API) and reloaded only when they change.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from tracker import queries
from tracker.models import Embedding, Statement
from tracker.web import read_session, state
from tracker.web.auth import access
from tracker.web.similarity import snapshot
from tracker.web.views.pages import decode_cursor, encode_cursor, filter_from_request, next_page_url

log = logging.getLogger(__name__)

bp = Blueprint("statements", __name__)

PAGE_SIZE = 50
SEMANTIC_RESULTS = 50
SIMILAR = 10
MAX_QUERY = 500


def stored_model(session: Any) -> str:
    """The model whose vectors to compare: the configured one, else whatever was stored last."""
    model = state().config.embedding.model
    if session.scalar(select(Embedding.id).where(Embedding.model == model).limit(1)) is not None:
        return model
    return session.scalar(select(Embedding.model).order_by(Embedding.id.desc()).limit(1)) or model


def semantic_hits(session: Any, text: str, flt: queries.StatementFilter) -> list[dict[str, Any]]:
    """Nearest statements to a query text, with scores; filters narrow the hits afterwards."""
    embedder = state().embedder  # loads the model on first use in this process
    vector = np.asarray(embedder.embed([text[:MAX_QUERY]]), dtype=np.float32)[0]
    norm = float(np.linalg.norm(vector)) or 1.0
    index = snapshot(session, stored_model(session))
    wanted = SEMANTIC_RESULTS * (5 if flt.active() else 1)
    hits = index.nearest(vector / norm, wanted)
    rows = queries.statements_by_ids(session, [i for i, _ in hits])
    if flt.active():
        allowed = _matching_ids(session, flt, [r["id"] for r in rows])
        rows = [r for r in rows if r["id"] in allowed]
    score = dict(hits)
    for r in rows:
        r["score"] = score[r["id"]]
    return rows[:SEMANTIC_RESULTS]


def _matching_ids(session: Any, flt: queries.StatementFilter, ids: list[int]) -> set[int]:
    from tracker.models import Assignment

    query = select(Statement.id).where(Statement.id.in_(ids), *flt.clauses(with_text=False))
    if flt.narrative_id is not None:
        query = query.where(select(Assignment.id).where(
            Assignment.statement_id == Statement.id, Assignment.narrative_id == flt.narrative_id,
            Assignment.state.in_(queries.CURRENT)).exists())
    return set(session.scalars(query))


@bp.get("/statements")
@access("read")
def search() -> str:
    session = read_session()
    mode = "semantic" if request.args.get("mode") == "semantic" else "keyword"
    text = (request.args.get("q") or "").strip()
    next_url = None
    if mode == "semantic":
        flt = filter_from_request(with_text=False)
        rows = semantic_hits(session, text, flt) if text else []
    else:
        flt = filter_from_request()
        rows = queries.statements_by_ids(session, [r["id"] for r in queries.search_statements(
            session, flt, limit=PAGE_SIZE + 1, after=decode_cursor(request.args.get("after")))])
        if len(rows) > PAGE_SIZE:
            rows = rows[:PAGE_SIZE]
            next_url = next_page_url("statements.search", encode_cursor(rows[-1]["published_at"], rows[-1]["id"]))
    narrative = None
    if flt.narrative_id is not None:
        narrative = queries.narrative_detail(session, flt.narrative_id)
    return render_template("statements.html", rows=rows, mode=mode, q=text, args=request.args,
                           choices=queries.filter_choices(session), next_url=next_url, narrative=narrative,
                           paged=request.args.get("after") is not None)


@bp.get("/statements/<int:statement_id>")
@access("read")
def statement(statement_id: int) -> str:
    session = read_session()
    detail = queries.statement_detail(session, statement_id)
    if detail is None:
        abort(404)
    index = snapshot(session, stored_model(session))
    vector = index.vector_of(statement_id)
    similar: list[dict[str, Any]] = []
    if vector is not None:
        hits = index.nearest(vector, SIMILAR, exclude=statement_id)
        score = dict(hits)
        similar = queries.statements_by_ids(session, [i for i, _ in hits])
        for r in similar:
            r["score"] = score[r["id"]]
    return render_template("statement.html", s=detail, similar=similar, has_vector=vector is not None)
