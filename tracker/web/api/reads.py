"""Reading routes: narratives and their timelines, statements, semantic search, actors, who am I.

Listings are keyset-paginated (``limit`` and an opaque ``next`` cursor); answers that depend on the
data alone are cached per data version (``cached.py``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from tracker.errors import Refused
from tracker.service import accounts
from tracker.service import actors as actor_cases
from tracker.service import narratives as narrative_cases
from tracker.service import statements as statement_cases
from tracker.vocabulary import ACTOR_KINDS, NARRATIVE_STATUSES
from tracker.web.api.args import (
    arg_bool,
    arg_choice,
    arg_int,
    arg_str,
    arg_time,
    decode_cursor,
    edge_limit_arg,
    limit_arg,
    page,
    time_key,
)
from tracker.web.api.blueprint import ID, MAX_ID, bp, not_found
from tracker.web.api.cached import cached_json
from tracker.web.auth import access, current_user
from tracker.web.bodies import send_body
from tracker.web.context import read_session, state
from tracker.web.errors import ApiError
from tracker.web.similarity import vectors
from tracker.web.timelines import timeline_body


@bp.get("/openapi.json")
@access("public")
def openapi() -> Any:
    from tracker.web.openapi import document

    return jsonify(document())


@bp.get("/me")
@access("read")
def whoami() -> Any:
    user = current_user()
    return jsonify({"user": None if user is None else accounts.user_view(user),
                    "public_read": state().config.auth.public_read})


@bp.get("/narratives")
@access("read")
def narratives() -> Any:
    limit = limit_arg()
    status = arg_choice("status", NARRATIVE_STATUSES)
    flt = narrative_cases.StatementFilter(country=arg_str("country", max_len=8), actor_id=arg_int("actor"),
                                     since=arg_time("since"), until=arg_time("until", end_of_day=True), q=arg_str("q"))
    after = decode_cursor("time")
    try:
        triage = narrative_cases.triage_filter(arg_str("triage", max_len=60))
    except Refused as exc:
        raise ApiError(400, str(exc), field="triage") from None

    def make() -> Any:
        items = narrative_cases.list_narratives(read_session(), flt, status=status, triage=triage, limit=limit + 1,
                                                after=after)
        return page(items, limit, time_key("last_seen_at"))

    return cached_json(("narratives", request.query_string), make)


@bp.get(f"/narratives/<{ID}:narrative_id>")
@access("read")
def narrative(narrative_id: int) -> Any:
    def make() -> Any:
        detail = narrative_cases.detail(read_session(), narrative_id)
        if detail is None:
            raise not_found("narrative", narrative_id)
        return detail

    return cached_json(("narrative", narrative_id), make)


@bp.get(f"/narratives/<{ID}:narrative_id>/timeline")
@access("read")
def narrative_timeline(narrative_id: int) -> Any:
    edges = edge_limit_arg()
    wave = arg_int("wave", lo=1, hi=MAX_ID)

    def serialise(doc: dict[str, Any]) -> bytes:
        view = narrative_cases.wave_view(doc, wave)
        if view is None:
            raise ApiError(404, f"narrative {narrative_id} has no wave {wave}", field="wave")
        return jsonify(narrative_cases.limit_edges(view, edges)).get_data()

    body = timeline_body(state().caches.timeline_bodies, narrative_id, (edges, wave), serialise)
    if body is None:
        raise not_found("narrative", narrative_id)
    return send_body(body, "application/json")


@bp.get("/statements")
@access("read")
def statements() -> Any:
    limit = limit_arg()
    narrative_id = arg_int("narrative")
    state_filter = arg_choice("state", statement_cases.STATEMENT_STATES)
    if narrative_id is not None and state_filter == "unassigned":
        raise ApiError(400, "state=unassigned cannot be combined with narrative", field="state")
    flt = statement_cases.StatementFilter(
        narrative_id=narrative_id, actor_id=arg_int("actor"), country=arg_str("country", max_len=8),
        language=arg_str("language", max_len=12), since=arg_time("since"), until=arg_time("until", end_of_day=True),
        q=arg_str("q"))
    items = statement_cases.list_statements(read_session(), flt, state=state_filter, limit=limit + 1,
                                       after=decode_cursor("time"))
    return jsonify(page(items, limit, time_key("published_at")))


@bp.get(f"/statements/<{ID}:statement_id>")
@access("read")
def statement(statement_id: int) -> Any:
    session = read_session()
    limit = arg_int("similar", lo=0, hi=50, default=10) or 0
    detail = statement_cases.detail_with_similar(session, state().workspace.model, statement_id, limit=limit,
                                                 vectors=vectors(session))
    if detail is None:
        raise not_found("statement", statement_id)
    return jsonify(detail)


@bp.get("/search")
@access("read")
def search() -> Any:
    q = arg_str("q", max_len=2000)
    if q is None:
        raise ApiError(400, "q (the text to search for) is required", field="q")
    limit = arg_int("limit", lo=1, hi=50, default=10) or 10
    session = read_session()
    embedder = state().embedder
    hits = statement_cases.semantic_search(session, embedder, q, limit=limit, vectors=vectors(session))
    return jsonify({"query": q, "model": embedder.name, "items": hits})


@bp.get("/actors")
@access("read")
def actors() -> Any:
    limit = limit_arg()
    items = actor_cases.list_actors(read_session(), q=arg_str("q"), kind=arg_choice("kind", ACTOR_KINDS),
                               country=arg_str("country", max_len=8), outlet=arg_bool("outlet"),
                               limit=limit + 1, after=decode_cursor("name"))
    return jsonify(page(items, limit, lambda a: [a["name"], a["id"]]))


@bp.get(f"/actors/<{ID}:actor_id>")
@access("read")
def actor(actor_id: int) -> Any:
    detail = actor_cases.actor_detail(read_session(), actor_id)
    if detail is None:
        raise not_found("actor", actor_id)
    return jsonify(detail)
