"""Researchers' writes: add statements, tag and untag them, seed, edit, merge and split narratives.

Each write runs in one transaction with its audit row; merges and splits then refresh the
narratives' keywords and centroids outside it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import jsonify
from sqlalchemy import func, select

from tracker import audit, queries
from tracker.models import ACTOR_KINDS, AuditEvent, Statement
from tracker.web import state
from tracker.web.api.args import parse_time
from tracker.web.api.blueprint import ID, bp, me, model_name, not_found
from tracker.web.api.fields import body, field_int, field_list, field_str
from tracker.web.auth import access
from tracker.web.errors import ApiError

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
    from tracker.narratives.tags import TAG_ACTIONS, TagError, tag_statement

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
    from tracker.narratives.tags import restore, snapshot

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
    from tracker.narratives.seeds import SeedError as TagError
    from tracker.narratives.seeds import add_seeded_narrative

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
    from tracker.narratives.refresh import refresh_narratives

    st = state()
    with st.db.reader() as session:
        from tracker.models import Narrative

        models = {m for m in session.scalars(select(Narrative.model).where(Narrative.id.in_(ids))) if m}
    for model in models or {model_name()}:
        refresh_narratives(st.db, st.config.narratives, model, ids)


@bp.patch(f"/narratives/<{ID}:narrative_id>")
@access("researcher")
def edit_narrative(narrative_id: int) -> Any:
    from tracker.models import EDITABLE_STATUSES
    from tracker.narratives.manage import ManageError, update_narrative

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

