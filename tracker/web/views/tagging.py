"""Dashboard: the researchers' tagging queue (``/tag``) and the JSON calls its script makes.

The page is a shell; ``tagging.js`` loads queue items from ``/tag/api/queue`` and sends each
decision to ``/tag/api/decide`` (session cookie plus the CSRF token in ``X-CSRFToken``). Every
decision goes through :func:`tracker.narratives.assign.tag_statement` in one transaction, which
writes the audit row; undo puts the audit event's ``old`` snapshot back through ``restore``. A bulk
"apply to similar" is one transaction and one undo step.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select

from tracker import queue
from tracker.errors import Refused as TagError
from tracker.models import AuditEvent, Narrative, Statement
from tracker.narratives.seeds import add_seeded_narrative
from tracker.narratives.tags import TAG_ACTIONS, restore, snapshot, tag_statement
from tracker.web import read_session, state
from tracker.web.auth import access, current_user

log = logging.getLogger(__name__)

bp = Blueprint("tagging", __name__)

PAGE = 25
MAX_BULK = 200


def _model() -> str:
    st = state()
    return st._embedder.name if st._embedder is not None else st.config.embedding.model


class Refused(Exception):
    """Raised inside a transaction to roll it back and answer with a JSON error."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@bp.errorhandler(Refused)
def refused(exc: Refused) -> tuple[Response, int]:
    return _fail(exc.status, exc.message, exc.field)


def _fail(status: int, message: str, field: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"message": message}
    if field:
        body["field"] = field
    return jsonify({"error": body}), status


def _json_body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 11:
        return _int(int(value))
    return None


def _default_similarity() -> float:
    """Statement-to-statement cosine that counts as "similar" unless the researcher picks another."""
    return state().config.narratives.suggest_threshold


def _progress(session: Any) -> dict[str, int]:
    return queue.queue_counts(session, state().config.narratives)


def _item(session: Any, statement_id: int) -> dict[str, Any] | None:
    found = queue.statement_item(session, state().config.narratives, _model(), statement_id)
    return found.as_dict() if found else None


@bp.get("/tag")
@access("researcher")
def queue_page() -> str:
    cfg = state().config.narratives
    return render_template("tagging.html", counts=_progress(read_session()), auto=cfg.auto_threshold,
                           similarity=_default_similarity(), start=_int(request.args.get("statement")))


@bp.get("/tag/api/queue")
@access("researcher")
def queue_items() -> Any:
    """The next page of the queue behind ``after``, or one statement with ``statement=<id>``."""
    session = read_session()
    wanted = _int(request.args.get("statement"))
    if wanted is not None:
        item = _item(session, wanted)
        if item is None:
            return _fail(404, f"statement {wanted} does not exist")
        items = [item]
        following = None
    else:
        page = queue.queue_page(session, state().config.narratives, _model(), limit=PAGE,
                                after=request.args.get("after"))
        items = [i.as_dict() for i in page]
        following = page[-1].key if len(page) == PAGE else None
    return jsonify({"items": items, "after": following, "progress": _progress(session)})


@bp.post("/tag/api/decide")
@access("researcher")
def decide() -> Any:
    """One decision: ``{statement_id, action, narrative_id?}`` with action confirm, reject, reassign or clear."""
    data = _json_body()
    if data is None:
        return _fail(400, "send a JSON object")
    sid = _int(data.get("statement_id"))
    action = data.get("action")
    nid = data.get("narrative_id")
    if sid is None:
        return _fail(422, "statement_id must be a statement id", "statement_id")
    if action not in TAG_ACTIONS:
        return _fail(422, f"action must be one of {', '.join(TAG_ACTIONS)}", "action")
    if nid is not None and _int(nid) is None:
        return _fail(422, "narrative_id must be a narrative id", "narrative_id")
    with state().db.transaction() as tx:
        if tx.get(Statement, sid) is None:
            raise Refused(404, f"statement {sid} does not exist", "statement_id")
        try:
            result = tag_statement(tx, sid, action, _int(nid), user=current_user())
        except TagError as exc:
            raise Refused(422, str(exc), "narrative_id" if "narrative" in str(exc) else "action") from exc
    with state().db.reader() as session:
        return jsonify({"audit_ids": [result["audit_id"]], "statement_ids": [sid], "item": _item(session, sid),
                        "progress": _progress(session)})


@bp.post("/tag/api/undo")
@access("researcher")
def undo() -> Any:
    """Undo one step (a decision or a whole bulk action): ``{audit_ids: [...]}``, the caller's own events.

    Refused with 409 when a statement changed after the event, so an undo never discards a later decision.
    """
    data = _json_body()
    ids = data.get("audit_ids") if data else None
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK + 1 or any(_int(i) is None for i in ids):
        return _fail(422, f"audit_ids must list 1 to {MAX_BULK + 1} audit event ids", "audit_ids")
    user = current_user()
    assert user is not None
    restored: list[int] = []
    with state().db.transaction() as tx:
        for audit_id in ids:
            event = tx.get(AuditEvent, int(audit_id))
            if (event is None or event.object_type != "statement" or not event.action.startswith("statement.")
                    or not isinstance(event.old, dict) or not isinstance(event.new, dict)
                    or "assignments" not in event.old or event.object_id is None):
                raise Refused(422, f"audit event {audit_id} is not a tagging decision", "audit_ids")
            if event.user_id != user.id:
                raise Refused(403, f"audit event {audit_id} is someone else's decision", "audit_ids")
            sid = int(event.object_id)
            if _pairs(snapshot(tx, sid)) != _pairs(event.new.get("assignments") or []):
                raise Refused(409, f"statement {sid} changed after that decision; reload and decide again")
            restore(tx, sid, list(event.old["assignments"]), user=user)
            restored.append(sid)
    with state().db.reader() as session:
        return jsonify({"statement_ids": restored, "items": [_item(session, s) for s in restored],
                        "progress": _progress(session)})


def _pairs(rows: list[dict[str, Any]]) -> set[tuple[Any, Any]]:
    return {(r.get("narrative_id"), r.get("state")) for r in rows}


@bp.get("/tag/api/similar")
@access("researcher")
def similar() -> Any:
    """Preview of a bulk decision: statements similar to ``statement`` at cosine >= ``threshold``."""
    sid = _int(request.args.get("statement"))
    nid = _int(request.args.get("narrative_id"))
    action = request.args.get("action", "confirm")
    if sid is None:
        return _fail(422, "statement must be a statement id", "statement")
    if action not in ("confirm", "reject"):
        return _fail(422, "action must be confirm or reject", "action")
    try:
        threshold = float(request.args.get("threshold", _default_similarity()))
    except ValueError:
        return _fail(422, "threshold must be a number between 0 and 1", "threshold")
    if not 0.0 <= threshold <= 1.0:
        return _fail(422, "threshold must be a number between 0 and 1", "threshold")
    session = read_session()
    if session.get(Statement, sid) is None:
        return _fail(404, f"statement {sid} does not exist", "statement")
    items = queue.similar_statements(session, _model(), sid, threshold=threshold, narrative_id=nid, action=action,
                                     limit=50)
    return jsonify({"items": items, "threshold": threshold})


@bp.post("/tag/api/bulk")
@access("researcher")
def bulk() -> Any:
    """``{action, narrative_id, statement_ids}``: the same decision for every listed statement, one transaction."""
    data = _json_body()
    if data is None:
        return _fail(400, "send a JSON object")
    action, nid, ids = data.get("action"), _int(data.get("narrative_id")), data.get("statement_ids")
    if action not in ("confirm", "reject"):
        return _fail(422, "action must be confirm or reject", "action")
    if nid is None:
        return _fail(422, "narrative_id must be a narrative id", "narrative_id")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK or any(_int(i) is None for i in ids):
        return _fail(422, f"statement_ids must list 1 to {MAX_BULK} statement ids", "statement_ids")
    wanted = list(dict.fromkeys(int(i) for i in ids))
    audit_ids: list[int] = []
    with state().db.transaction() as tx:
        found = set(tx.scalars(select(Statement.id).where(Statement.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise Refused(404, f"statements {missing[:10]} do not exist", "statement_ids")
        try:
            for sid in wanted:
                audit_ids.append(tag_statement(tx, sid, action, nid, user=current_user())["audit_id"])
        except TagError as exc:
            raise Refused(422, str(exc), "narrative_id") from exc
    with state().db.reader() as session:
        return jsonify({"audit_ids": audit_ids, "statement_ids": wanted,
                        "items": [_item(session, s) for s in wanted], "progress": _progress(session)})


@bp.post("/tag/api/seed")
@access("researcher")
def seed() -> Any:
    """``n`` in the queue: a new seeded narrative with this statement as its example, and the statement in it."""
    data = _json_body()
    if data is None:
        return _fail(400, "send a JSON object")
    sid = _int(data.get("statement_id"))
    label = data.get("label")
    description = data.get("description")
    if sid is None:
        return _fail(422, "statement_id must be a statement id", "statement_id")
    if not isinstance(label, str) or not label.strip() or len(label) > 300:
        return _fail(422, "label must be 1 to 300 characters", "label")
    if description is not None and (not isinstance(description, str) or len(description) > 5000):
        return _fail(422, "description must be text of at most 5000 characters", "description")
    st = state()
    text = read_session().scalar(select(Statement.text).where(Statement.id == sid))
    if text is None:
        return _fail(404, f"statement {sid} does not exist", "statement_id")
    try:
        nid, report = add_seeded_narrative(st.db, st.config.narratives, st.embedder, label, description or None,
                                           [text], user=current_user())
        with st.db.transaction() as tx:
            result = tag_statement(tx, sid, "confirm", nid, user=current_user())
    except TagError as exc:
        return _fail(422, str(exc), "label")
    with st.db.reader() as session:
        label_now = session.scalar(select(Narrative.label).where(Narrative.id == nid))
        return jsonify({"narrative": {"id": nid, "label": label_now, "assigned": report.assigned,
                                      "suggested": report.suggested},
                        "audit_ids": [result["audit_id"]], "statement_ids": [sid], "item": _item(session, sid),
                        "progress": _progress(session)}), 201
