"""Dashboard: statement search (keyword and semantic) and one statement with its similar statements.

Semantic search embeds the query with the app's embedder, whose model loads on the first semantic
query only. Similarity is brute-force cosine over the stored vectors, held in memory by the app
(``tracker.web.similarity``, shared with the API) and reloaded only when they change.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, render_template, request

from tracker.service import narratives, statements
from tracker.web.auth import access
from tracker.web.context import data_version, read_session, state
from tracker.web.requests import (
    ID,
    arg_text,
    decode_cursor,
    encode_cursor,
    filter_from_request,
    next_page_url,
)
from tracker.web.similarity import vectors
from tracker.web.timelines import mark_copies

log = logging.getLogger(__name__)

bp = Blueprint("statements", __name__)

PAGE_SIZE = 50
SEMANTIC_RESULTS = 50
SIMILAR = 10


def _scored(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search hits as table rows: the statement with its score beside it."""
    return [{**hit["statement"], "score": hit["score"]} for hit in hits]


@bp.get("/statements")
@access("read")
def search() -> str:
    session = read_session()
    version = data_version(session)
    mode = "semantic" if request.args.get("mode") == "semantic" else "keyword"
    text = (arg_text("q") or "").strip()
    next_url = None
    if mode == "semantic":
        flt = filter_from_request(with_text=False)
        rows = _scored(statements.semantic_search(session, state().embedder, text, limit=SEMANTIC_RESULTS,
                                                  vectors=vectors(session), flt=flt)) if text else []
    else:
        flt = filter_from_request()
        rows = statements.list_statements(session, flt, limit=PAGE_SIZE + 1,
                                          after=decode_cursor(request.args.get("after")))
        if len(rows) > PAGE_SIZE:
            rows = rows[:PAGE_SIZE]
            next_url = next_page_url("statements.search", encode_cursor(rows[-1]["published_at"], rows[-1]["id"]))
    narrative = narratives.detail(session, flt.narrative_id) if flt.narrative_id is not None else None
    return render_template("statements.html", rows=mark_copies(session, version, rows), mode=mode, q=text,
                           args=request.args,
                           choices=statements.filter_choices(session), next_url=next_url, narrative=narrative,
                           paged=request.args.get("after") is not None)


@bp.get(f"/statements/<{ID}:statement_id>")
@access("read")
def statement(statement_id: int) -> str:
    session = read_session()
    version = data_version(session)
    detail = statements.detail_with_similar(session, state().workspace.model, statement_id, limit=SIMILAR,
                                            vectors=vectors(session))
    if detail is None:
        abort(404)
    marked = mark_copies(session, version, [detail, *_scored(detail["similar"])])  # one pass over the timelines
    return render_template("statement.html", s=marked[0], similar=marked[1:],
                           has_vector=detail["similar_model"] is not None)
