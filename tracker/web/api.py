"""The JSON API under ``/api``: everything the dashboard shows or changes, for scripts too.

Reads are keyset-paginated (``limit`` and an opaque ``next`` cursor); writes take JSON bodies,
need an API token of the right role, and run in one transaction with their audit row. Input is
checked here, at the edge, so the layers below only see well-typed values; every refusal is a
JSON error naming the field (see ``errors.py``). The OpenAPI document (``openapi.py``) describes
exactly these routes and shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select

from tracker import accounts, audit, queries
from tracker.models import ACTOR_KINDS, NARRATIVE_STATUSES, ROLES, AuditEvent, Source, Statement, User
from tracker.web import read_session, state
from tracker.web.auth import access, current_user
from tracker.web.bodies import Body, make_body, send_body
from tracker.web.cache import LRU, data_version
from tracker.web.errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_ID = 2**31 - 1
ID = f"int(min=1, max={MAX_ID})"
MAX_LIMIT = 200

#: Serialised (and gzipped) timeline documents, ~1 MB at 1M statements, per (narrative, data version).
_timeline_bodies = LRU(64)
#: Other read answers that depend on the data alone (narrative listings and details), per data version.
_read_bodies = LRU(512)


def cached_json(key: Hashable, make: Callable[[], Any]) -> Response:
    """A read answer that depends on the data alone, built once per data version, sent by ``send_body``.

    Call it after checking the arguments and before any read: ``data_version`` restarts the
    request's reading snapshot. An error raised by ``make`` (e.g. 404) is raised, never cached.
    """
    version = data_version(read_session())
    body = _read_bodies.get((key, version), lambda: make_body(jsonify(make()).get_data()))
    return send_body(body, "application/json")


# ---------------------------------------------------------------- input checking

def _text(value: Any, field: str, *, max_len: int, status: int = 422) -> str:
    if not isinstance(value, str):
        raise ApiError(status, f"{field} must be a string", field=field)
    if "\x00" in value:
        raise ApiError(status, f"{field} must not contain NUL characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(status, f"{field} is not valid Unicode", field=field) from exc
    if len(value) > max_len:
        raise ApiError(status, f"{field} is longer than {max_len} characters", field=field)
    return value


def arg_str(name: str, *, max_len: int = 200) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    value = _text(value, name, max_len=max_len, status=400).strip()
    return value or None


def arg_int(name: str, *, lo: int = 1, hi: int = MAX_ID, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer", field=name) from exc
    if not lo <= value <= hi:
        raise ApiError(400, f"{name} must be between {lo} and {hi}", field=name)
    return value


def arg_choice(name: str, choices: tuple[str, ...]) -> str | None:
    value = arg_str(name)
    if value is not None and value not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def arg_bool(name: str) -> bool | None:
    value = arg_str(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ApiError(400, f"{name} must be true or false", field=name)


def parse_time(value: str, field: str, *, end_of_day: bool = False, status: int = 400) -> datetime:
    """An ISO date or date-time; no zone means UTC; a bare date until= means the end of that day."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ApiError(status, f"{field} must be an ISO date or date-time, e.g. 2021-03-02T10:00:00Z",
                       field=field) from exc
    if not 1900 <= parsed.year <= 2200:
        raise ApiError(status, f"{field} must be between the years 1900 and 2200", field=field)
    return parsed


def arg_time(name: str, *, end_of_day: bool = False) -> datetime | None:
    value = arg_str(name, max_len=40)
    return None if value is None else parse_time(value, name, end_of_day=end_of_day)


def edge_limit_arg() -> int | None:
    """``edges``: how many of a timeline's heaviest actor edges to send; ``all`` for every one."""
    from tracker.analysis.timeline import DEFAULT_EDGE_LIMIT

    if request.args.get("edges") == "all":
        return None
    return arg_int("edges", lo=0, hi=MAX_ID, default=DEFAULT_EDGE_LIMIT)


def limit_arg(default: int | None = None) -> int:
    return arg_int("limit", lo=1, hi=MAX_LIMIT, default=default or state().config.web.page_size) or 1


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(kind: str) -> Any:
    """The ``cursor`` argument checked against the key shape of this listing (``time``, ``name`` or ``id``)."""
    raw = arg_str("cursor", max_len=500)
    if raw is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
        if kind == "id":
            if isinstance(key, int) and not isinstance(key, bool) and 0 < key <= MAX_ID:
                return key
        elif isinstance(key, list) and len(key) == 2 and isinstance(key[1], int) and 0 < key[1] <= MAX_ID + 1:
            if kind == "name" and isinstance(key[0], str):
                return key[0], key[1]
            if kind == "time" and (key[0] is None or (isinstance(key[0], str)
                                                      and parse_time(key[0], "cursor") is not None)):
                return key[0], key[1]
    except (binascii.Error, ValueError, UnicodeDecodeError, ApiError):
        pass
    raise ApiError(400, "cursor is not one this listing handed out", field="cursor")


def page(items: list[dict[str, Any]], limit: int, key: Any) -> dict[str, Any]:
    """The page document: at most ``limit`` items and the cursor of the next page (or null)."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": encode_cursor(key(items[-1])) if more and items else None}


def body(allowed: tuple[str, ...]) -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    for key in data:
        if key not in allowed:
            raise ApiError(422, f"unknown field {key!r} (known: {', '.join(allowed)})", field=str(key)[:100])
    return data


def field_str(data: dict[str, Any], name: str, *, required: bool = False, max_len: int = 300,
              nullable: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required or (name in data and not nullable):
            raise ApiError(422, f"{name} is required", field=name)
        return None
    value = _text(value, name, max_len=max_len).strip()
    if required and not value:
        raise ApiError(422, f"{name} must not be empty", field=name)
    return value


def field_int(data: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ApiError(422, f"{name} must be an id (a positive integer)", field=name)
    return value


def field_bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise ApiError(422, f"{name} must be true or false", field=name)
    return value


def field_list(data: dict[str, Any], name: str, kind: type, *, max_items: int = 1000) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise ApiError(422, f"{name} must be a non-empty list", field=name)
    if len(value) > max_items:
        raise ApiError(422, f"{name} has more than {max_items} items", field=name)
    if kind is int:
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ID for v in value):
            raise ApiError(422, f"{name} must list ids", field=name)
        return value
    return [_text(v, name, max_len=5000) for v in value]


def me() -> User:
    user = current_user()
    assert user is not None  # the gate let a writer through
    return user


def not_found(what: str, ident: int) -> ApiError:
    return ApiError(404, f"{what} {ident} does not exist")


def model_name() -> str:
    """The embedding model of this process, without loading it."""
    st = state()
    return st._embedder.name if st._embedder is not None else st.config.embedding.model


def time_key(field: str) -> Any:
    return lambda item: [item[field], item["id"]]


# ---------------------------------------------------------------- reads

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
    args = {"status": arg_choice("status", NARRATIVE_STATUSES), "country": arg_str("country", max_len=8),
            "actor": arg_int("actor"), "since": arg_time("since"), "until": arg_time("until", end_of_day=True),
            "q": arg_str("q"), "after": decode_cursor("time")}

    def make() -> Any:
        items = queries.search_narratives(read_session(), limit=limit + 1, **args)
        return page(items, limit, time_key("last_seen_at"))

    return cached_json(("narratives", request.query_string), make)


@bp.get(f"/narratives/<{ID}:narrative_id>")
@access("read")
def narrative(narrative_id: int) -> Any:
    def make() -> Any:
        detail = queries.narrative_detail(read_session(), narrative_id)
        if detail is None:
            raise not_found("narrative", narrative_id)
        return detail

    return cached_json(("narrative", narrative_id), make)


@bp.get(f"/narratives/<{ID}:narrative_id>/timeline")
@access("read")
def narrative_timeline(narrative_id: int) -> Any:
    from tracker.analysis.timeline import limit_edges
    from tracker.web.views.pages import cached_timeline

    edges = edge_limit_arg()
    session = read_session()
    version = data_version(session)

    def make() -> Body | None:
        doc = cached_timeline(session, narrative_id, version)
        return None if doc is None else make_body(jsonify(limit_edges(doc, edges)).get_data())

    body = _timeline_bodies.get((narrative_id, version, edges), make)
    if body is None:
        raise not_found("narrative", narrative_id)
    return send_body(body, "application/json")


@bp.get("/statements")
@access("read")
def statements() -> Any:
    limit = limit_arg()
    narrative_id = arg_int("narrative")
    state_filter = arg_choice("state", queries.STATEMENT_STATES)
    if narrative_id is not None and state_filter == "unassigned":
        raise ApiError(400, "state=unassigned cannot be combined with narrative", field="state")
    items = queries.list_statements(
        read_session(), narrative=narrative_id, actor=arg_int("actor"), country=arg_str("country", max_len=8),
        language=arg_str("language", max_len=12), since=arg_time("since"),
        until=arg_time("until", end_of_day=True), q=arg_str("q"), state=state_filter, limit=limit + 1,
        after=decode_cursor("time"))
    return jsonify(page(items, limit, time_key("published_at")))


@bp.get(f"/statements/<{ID}:statement_id>")
@access("read")
def statement(statement_id: int) -> Any:
    session = read_session()
    detail = queries.api_statement_detail(session, statement_id)
    if detail is None:
        raise not_found("statement", statement_id)
    limit = arg_int("similar", lo=0, hi=50, default=10) or 0
    models = queries.embedding_models(session, statement_id)
    chosen = model_name() if model_name() in models else (models[0] if models else None)
    similar: list[dict[str, Any]] = []
    if chosen is not None and limit:
        vector = queries.statement_vector(session, statement_id, chosen)
        hits = queries.nearest(session, vector, chosen, limit=limit, exclude=statement_id)
        rows = queries.statements_by_id(session, [sid for sid, _ in hits])
        similar = [{"score": score, "statement": rows[sid]} for sid, score in hits if sid in rows]
    detail["similar_model"] = chosen
    detail["similar"] = similar
    return jsonify(detail)


@bp.get("/search")
@access("read")
def search() -> Any:
    q = arg_str("q", max_len=2000)
    if q is None:
        raise ApiError(400, "q (the text to search for) is required", field="q")
    limit = arg_int("limit", lo=1, hi=50, default=10) or 10
    embedder = state().embedder
    vector = embedder.embed([q])[0]
    session = read_session()
    hits = queries.nearest(session, vector, embedder.name, limit=limit)
    rows = queries.statements_by_id(session, [sid for sid, _ in hits])
    return jsonify({"query": q, "model": embedder.name,
                    "items": [{"score": score, "statement": rows[sid]} for sid, score in hits if sid in rows]})


@bp.get("/actors")
@access("read")
def actors() -> Any:
    limit = limit_arg()
    items = queries.list_actors(read_session(), q=arg_str("q"), kind=arg_choice("kind", ACTOR_KINDS),
                                country=arg_str("country", max_len=8), outlet=arg_bool("outlet"),
                                limit=limit + 1, after=decode_cursor("name"))
    return jsonify(page(items, limit, lambda a: [a["name"], a["id"]]))


@bp.get(f"/actors/<{ID}:actor_id>")
@access("read")
def actor(actor_id: int) -> Any:
    detail = queries.actor_detail(read_session(), actor_id)
    if detail is None:
        raise not_found("actor", actor_id)
    return jsonify(detail)


# ---------------------------------------------------------------- researchers' writes

STATEMENT_FIELDS = ("text", "actor", "actor_kind", "outlet", "country", "language", "published_at", "url",
                    "title", "context", "external_id")


@bp.post("/statements")
@access("researcher")
def add_statement() -> Any:
    from tracker.ingest.drafts import StatementDraft
    from tracker.ingest.store import clean_text, store_drafts, text_hash

    data = body(STATEMENT_FIELDS)
    text = field_str(data, "text", required=True, max_len=100_000)
    kind = field_str(data, "actor_kind", max_len=20)
    if kind is not None and kind not in ACTOR_KINDS:
        raise ApiError(422, f"actor_kind must be one of {', '.join(ACTOR_KINDS)}", field="actor_kind")
    url = field_str(data, "url", max_len=2000)
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise ApiError(422, "url must be an http(s) URL", field="url")
    published = field_str(data, "published_at", max_len=40)
    user = me()
    draft = StatementDraft(
        text=text or "", external_id=field_str(data, "external_id", max_len=500),
        published_at=parse_time(published, "published_at", status=422) if published else None,
        actor=field_str(data, "actor"), actor_kind=kind, outlet=field_str(data, "outlet"),
        country=field_str(data, "country", max_len=8), language=field_str(data, "language", max_len=12),
        url=url or None, title=field_str(data, "title", max_len=2000),
        context=field_str(data, "context", max_len=20_000), origin=f"api by {user.name}",
    )
    with state().db.transaction() as tx:
        before = tx.scalar(select(func.max(Statement.id))) or 0
        stats = store_drafts(tx, [draft])
        if stats.errors:
            err = stats.errors[0]
            raise ApiError(422, err.reason, field=err.field)
        sid = tx.scalar(select(Statement.id).where(Statement.text_hash == text_hash(clean_text(draft.text)))
                        .order_by(Statement.id.desc()).limit(1))
        created = sid is not None and sid > before
        if stats.inserted or stats.updated:
            audit.record(tx, user, "statement.add" if created else "statement.update", "statement", sid, None,
                         {"text": clean_text(draft.text)[:500], "actor": draft.actor, "outlet": draft.outlet})
        detail = queries.api_statement_detail(tx, sid) if sid is not None else None
    if detail is None:  # pragma: no cover - store_drafts stored or matched it
        raise ApiError(500, "the statement was not stored")
    detail.update(created=created, similar=[], similar_model=None)  # no vector until the pipeline embeds it
    return jsonify(detail), 201 if created else 200


def _tag_error(exc: Exception) -> ApiError:
    message = str(exc)
    field = "narrative_id" if "narrative" in message else ("action" if "action" in message else None)
    return ApiError(422, message, field=field)


@bp.post(f"/statements/<{ID}:statement_id>/assignment")
@access("researcher")
def tag(statement_id: int) -> Any:
    from tracker.narratives.assign import TAG_ACTIONS, TagError, tag_statement

    data = body(("action", "narrative_id"))
    action = field_str(data, "action", required=True, max_len=20)
    if action not in TAG_ACTIONS:
        raise ApiError(422, f"action must be one of {', '.join(TAG_ACTIONS)}", field="action")
    narrative_id = field_int(data, "narrative_id")
    if action == "reassign" and narrative_id is None:
        raise ApiError(422, "reassign needs narrative_id", field="narrative_id")
    with state().db.transaction() as tx:
        if tx.get(Statement, statement_id) is None:
            raise not_found("statement", statement_id)
        try:
            result = tag_statement(tx, statement_id, action, narrative_id, user=me())
        except TagError as exc:
            raise _tag_error(exc) from exc
    return jsonify(result)


def _pairs(rows: list[dict[str, Any]]) -> set[tuple[Any, Any]]:
    return {(r.get("narrative_id"), r.get("state")) for r in rows}


@bp.post(f"/statements/<{ID}:statement_id>/assignment/undo")
@access("researcher")
def untag(statement_id: int) -> Any:
    from tracker.narratives.assign import restore, snapshot

    data = body(("audit_id",))
    audit_id = field_int(data, "audit_id", required=True)
    with state().db.transaction() as tx:
        if tx.get(Statement, statement_id) is None:
            raise not_found("statement", statement_id)
        event = tx.get(AuditEvent, audit_id)
        if (event is None or event.object_type != "statement" or event.object_id != str(statement_id)
                or not isinstance(event.old, dict) or not isinstance(event.new, dict)
                or "assignments" not in event.old):
            raise ApiError(422, f"audit event {audit_id} is not a tag of statement {statement_id}", field="audit_id")
        if _pairs(snapshot(tx, statement_id)) != _pairs(event.new.get("assignments") or []):
            raise ApiError(409, "the statement's tags changed after that event; reload and decide again")
        result = restore(tx, statement_id, list(event.old["assignments"]), user=me())
    return jsonify(result)


@bp.post("/narratives")
@access("researcher")
def seed_narrative() -> Any:
    from tracker.narratives.assign import TagError, add_seeded_narrative

    data = body(("label", "description", "examples"))
    label = field_str(data, "label", required=True)
    description = field_str(data, "description", max_len=5000)
    examples = field_list(data, "examples", str, max_items=200)
    if not any(e.strip() for e in examples):
        raise ApiError(422, "examples must hold at least one non-empty statement", field="examples")
    st = state()
    try:
        nid, report = add_seeded_narrative(st.db, st.config.narratives, st.embedder, label or "", description,
                                           examples, user=me())
    except TagError as exc:
        raise ApiError(422, str(exc), field="label" if "label" in str(exc) else "examples") from exc
    with st.db.reader() as session:
        detail = queries.narrative_detail(session, nid)
    return jsonify({**(detail or {"id": nid}), "assigned": report.assigned, "suggested": report.suggested}), 201


def _manage_error(exc: Any) -> ApiError:
    status = {"not_found": 404, "conflict": 409}.get(exc.kind, 422)
    return ApiError(status, str(exc), field=exc.field if status != 404 else None)


def _refresh(ids: set[int]) -> None:
    """Keywords, representatives and centroids after a merge or split (outside the edit's transaction)."""
    from tracker.narratives.registry import refresh_narratives

    st = state()
    with st.db.reader() as session:
        from tracker.models import Narrative

        models = {m for m in session.scalars(select(Narrative.model).where(Narrative.id.in_(ids))) if m}
    for model in models or {model_name()}:
        refresh_narratives(st.db, st.config.narratives, model, ids)


@bp.patch(f"/narratives/<{ID}:narrative_id>")
@access("researcher")
def edit_narrative(narrative_id: int) -> Any:
    from tracker.narratives.manage import EDITABLE_STATUSES, ManageError, update_narrative

    data = body(("label", "description", "status"))
    label = field_str(data, "label", nullable=False)
    description = field_str(data, "description", max_len=5000)
    status = field_str(data, "status", max_len=20, nullable=False)
    if status is not None and status not in EDITABLE_STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(EDITABLE_STATUSES)}", field="status")
    with state().db.transaction() as tx:
        try:
            update_narrative(tx, narrative_id, label=label,
                             description="" if "description" in data and description is None else description,
                             status=status, user=me())
        except ManageError as exc:
            raise _manage_error(exc) from exc
        detail = queries.narrative_detail(tx, narrative_id)
    return jsonify(detail)


@bp.post(f"/narratives/<{ID}:narrative_id>/merge")
@access("researcher")
def merge(narrative_id: int) -> Any:
    from tracker.narratives.manage import ManageError, merge_narratives

    data = body(("into",))
    into = field_int(data, "into", required=True)
    assert into is not None
    with state().db.transaction() as tx:
        try:
            merge_narratives(tx, narrative_id, into, user=me())
        except ManageError as exc:
            raise _manage_error(exc) from exc
    _refresh({into})
    with state().db.reader() as session:
        return jsonify(queries.narrative_detail(session, into))


@bp.post(f"/narratives/<{ID}:narrative_id>/split")
@access("researcher")
def split(narrative_id: int) -> Any:
    from tracker.narratives.manage import ManageError, split_narrative

    data = body(("statement_ids", "label"))
    label = field_str(data, "label", required=True)
    ids = field_list(data, "statement_ids", int, max_items=10_000)
    with state().db.transaction() as tx:
        try:
            new = split_narrative(tx, narrative_id, ids, label or "", user=me())
        except ManageError as exc:
            raise _manage_error(exc) from exc
        new_id = new.id
    _refresh({narrative_id, new_id})
    with state().db.reader() as session:
        return jsonify(queries.narrative_detail(session, new_id)), 201


# ---------------------------------------------------------------- admin: sources, users, audit

@bp.get("/sources")
@access("admin")
def sources() -> Any:
    from tracker.ingest.sources import source_view

    limit = limit_arg()
    after = decode_cursor("id")
    query = select(Source).order_by(Source.id).limit(limit + 1)
    if after is not None:
        query = query.where(Source.id > after)
    items = [source_view(s) for s in read_session().scalars(query)]
    return jsonify(page(items, limit, lambda s: s["id"]))


API_SOURCE_KINDS = ("rss", "html", "transcript")  # local files only from the CLI: no server paths via the web


def _source_error(exc: Exception) -> ApiError:
    message = str(exc)
    head = message.split(":", 1)[0]
    return ApiError(422, message, field=head if head.isidentifier() else None)


@bp.post("/sources")
@access("admin")
def add_source() -> Any:
    from tracker.ingest.sources import SourceError, add_source, source_view

    data = body(("url", "kind", "name", "actor", "outlet", "country", "every", "fetch_full_text"))
    url = field_str(data, "url", required=True, max_len=2000)
    kind = field_str(data, "kind", required=True, max_len=20)
    if kind not in API_SOURCE_KINDS:
        raise ApiError(422, f"kind must be one of {', '.join(API_SOURCE_KINDS)}", field="kind")
    with state().db.transaction() as tx:
        try:
            src = add_source(tx, state().config, url or "", kind, name=field_str(data, "name", max_len=200),
                             actor=field_str(data, "actor"), outlet=field_str(data, "outlet"),
                             country=field_str(data, "country", max_len=8), every=field_str(data, "every", max_len=20),
                             fetch_full_text=bool(field_bool(data, "fetch_full_text")), user=me())
        except SourceError as exc:
            raise _source_error(exc) from exc
        view = source_view(src)
    return jsonify(view), 201


@bp.patch(f"/sources/<{ID}:source_id>")
@access("admin")
def edit_source(source_id: int) -> Any:
    from tracker.ingest.sources import SourceError, parse_every, source_view

    data = body(("enabled", "every", "fetch_full_text", "country"))
    enabled, full = field_bool(data, "enabled"), field_bool(data, "fetch_full_text")
    every = field_str(data, "every", max_len=20)
    country = field_str(data, "country", max_len=8)
    with state().db.transaction() as tx:
        src = tx.get(Source, source_id)
        if src is None:
            raise not_found("source", source_id)
        old, new = {}, {}
        changes: dict[str, Any] = {"enabled": enabled, "fetch_full_text": full,
                                   "country": country.upper() if country else None}
        if every is not None:
            try:
                changes["every_seconds"] = parse_every(every)
            except SourceError as exc:
                raise _source_error(exc) from exc
        for key, value in changes.items():
            if value is not None and getattr(src, key) != value:
                old[key], new[key] = getattr(src, key), value
                setattr(src, key, value)
        if new:
            audit.record(tx, me(), "source.update", "source", src.id, old, new)
        tx.flush()
        view = source_view(src)
    return jsonify(view)


@bp.get("/users")
@access("admin")
def users() -> Any:
    limit = limit_arg()
    after = decode_cursor("id")
    query = select(User).order_by(User.id).limit(limit + 1)
    if after is not None:
        query = query.where(User.id > after)
    items = [accounts.user_view(u) for u in read_session().scalars(query)]
    return jsonify(page(items, limit, lambda u: u["id"]))


def _account_error(exc: accounts.AccountError) -> ApiError:
    return ApiError(409 if "exists already" in str(exc) or "last active admin" in str(exc) else 422, str(exc),
                    field=exc.field)


@bp.post("/users")
@access("admin")
def add_user() -> Any:
    data = body(("name", "role", "password"))
    name = field_str(data, "name", required=True, max_len=100)
    role = field_str(data, "role", required=True, max_len=20)
    password = data.get("password")
    if password is not None:
        password = _text(password, "password", max_len=1024)
    with state().db.transaction() as tx:
        try:
            user = accounts.create_user(tx, name or "", role or "", password, state().config.auth, by=me())
        except accounts.AccountError as exc:
            raise _account_error(exc) from exc
        view = accounts.user_view(user)
    return jsonify(view), 201


@bp.patch(f"/users/<{ID}:user_id>")
@access("admin")
def edit_user(user_id: int) -> Any:
    data = body(("role", "disabled", "password"))
    role = field_str(data, "role", max_len=20, nullable=False)
    if role is not None and role not in ROLES:
        raise ApiError(422, f"role must be one of {', '.join(ROLES)}", field="role")
    disabled = field_bool(data, "disabled")
    password = data.get("password")
    if password is not None:
        password = _text(password, "password", max_len=1024)
    with state().db.transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise not_found("user", user_id)
        try:
            accounts.update_user(tx, user, state().config.auth, role=role, disabled=disabled, password=password,
                                 by=me())
        except accounts.AccountError as exc:
            raise _account_error(exc) from exc
        view = accounts.user_view(user)
    return jsonify(view)


@bp.get("/audit")
@access("admin")
def audit_log() -> Any:
    limit = limit_arg()
    items = queries.list_audit(read_session(), object_type=arg_str("object_type", max_len=40),
                               object_id=arg_str("object_id", max_len=60), user=arg_str("user", max_len=100),
                               action=arg_str("action", max_len=60), limit=limit + 1,
                               before_id=decode_cursor("id"))
    return jsonify(page(items, limit, lambda e: e["id"]))
