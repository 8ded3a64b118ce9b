"""Dashboard: the researchers' tagging queue (``/tag``) and the JSON calls its script makes.

The page is a shell; ``tagging.js`` loads queue items from ``/tag/api/queue`` and sends each
decision to ``/tag/api/decide`` (session cookie plus the CSRF token in ``X-CSRFToken``). Every call
is one use case of ``tracker.service.tagging`` (or ``narratives.seed_from_statement``), and errors
are the app's one JSON dialect (``tracker.web.errors``). A bulk "apply to similar" is one
transaction and one undo step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from tracker.errors import Refused
from tracker.service import narratives, tagging
from tracker.web.auth import access, current_user
from tracker.web.context import read_session, state, workspace
from tracker.web.errors import ApiError, refused_as_json

log = logging.getLogger(__name__)

bp = Blueprint("tagging", __name__)
bp.register_error_handler(Refused, refused_as_json)

PAGE = 25
MAX_BULK = 200


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "send a JSON object")
    return data


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 11:
        return _int(int(value))
    return None


def _statement_id(data: dict[str, Any]) -> int:
    sid = _int(data.get("statement_id"))
    if sid is None:
        raise ApiError(422, "statement_id must be a statement id", field="statement_id")
    return sid


def _ids(value: Any, field: str, most: int) -> list[int]:
    if not isinstance(value, list) or not value or len(value) > most or any(_int(i) is None for i in value):
        raise ApiError(422, f"{field} must list 1 to {most} ids", field=field)
    return [int(i) for i in value]


def _default_similarity() -> float:
    """Statement-to-statement cosine that counts as "similar" unless the researcher picks another."""
    return tagging.similar_default(read_session(), state().config.narratives, workspace().model)


def _answer(statement_ids: list[int], **extra: Any) -> Any:
    """The queue items of the statements a call changed, and the progress, read after the change."""
    cfg, model = state().config.narratives, workspace().model
    with workspace().reader() as session:
        items = [tagging.queue_item(session, cfg, model, s) for s in statement_ids]
        return jsonify({**extra, "statement_ids": statement_ids, "items": items,
                        "item": items[0] if len(items) == 1 else None,
                        "progress": tagging.queue_progress(session, cfg)})


@bp.get("/tag")
@access("researcher")
def queue_page() -> str:
    cfg = state().config.narratives
    return render_template("tagging.html", counts=tagging.queue_progress(read_session(), cfg),
                           auto=cfg.auto_level, suggest=cfg.suggest_level, similarity=_default_similarity(),
                           start=_int(request.args.get("statement")))


@bp.get("/tag/api/queue")
@access("researcher")
def queue_items() -> Any:
    """The next page of the queue behind ``after``, or one statement with ``statement=<id>``."""
    session, cfg, model = read_session(), state().config.narratives, workspace().model
    wanted = _int(request.args.get("statement"))
    if wanted is not None:
        item = tagging.queue_item(session, cfg, model, wanted)
        if item is None:
            raise ApiError(404, f"statement {wanted} does not exist")
        items, following = [item], None
    else:
        items, following = tagging.queue_page(session, cfg, model, limit=PAGE, after=request.args.get("after"))
    return jsonify({"items": items, "after": following, "progress": tagging.queue_progress(session, cfg)})


@bp.post("/tag/api/decide")
@access("researcher")
def decide() -> Any:
    """One decision: ``{statement_id, action, narrative_id?}`` with action confirm, reject, reassign, clear
    or dismiss (about no narrative)."""
    data = _json_body()
    sid, action, nid = _statement_id(data), data.get("action"), data.get("narrative_id")
    if action not in tagging.TAG_ACTIONS:
        raise ApiError(422, f"action must be one of {', '.join(tagging.TAG_ACTIONS)}", field="action")
    if nid is not None and _int(nid) is None:
        raise ApiError(422, "narrative_id must be a narrative id", field="narrative_id")
    result = tagging.tag(workspace(), current_user(), sid, action, _int(nid))
    return _answer([sid], audit_ids=[result["audit_id"]])


@bp.get("/tag/api/session")
@access("researcher")
def session_log() -> Any:
    """The caller's decisions since ``since`` (ISO time, the queue page's start) not undone, oldest first:
    the page rebuilds its undo steps and count from them after a reload."""
    raw = request.args.get("since") or ""
    try:
        since = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "since must be an ISO 8601 time", field="since") from None
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return jsonify({"decisions": tagging.session_decisions(read_session(), current_user(), since)})


@bp.post("/tag/api/undo")
@access("researcher")
def undo() -> Any:
    """Undo one step (a decision or a whole bulk action): ``{audit_ids: [...]}``, the caller's own events.

    Refused with 409 when a statement changed after the event, so an undo never discards a later decision.
    """
    data = request.get_json(silent=True)
    ids = _ids(data.get("audit_ids") if isinstance(data, dict) else None, "audit_ids", MAX_BULK + 1)
    restored = tagging.undo(workspace(), current_user(), ids)
    return _answer([r["statement_id"] for r in restored])


@bp.get("/tag/api/similar")
@access("researcher")
def similar() -> Any:
    """Preview of a bulk decision: statements similar to ``statement`` at cosine >= ``threshold``."""
    sid = _int(request.args.get("statement"))
    if sid is None:
        raise ApiError(422, "statement must be a statement id", field="statement")
    try:
        threshold = float(request.args.get("threshold", _default_similarity()))
    except ValueError:
        raise ApiError(422, "threshold must be a number between 0 and 1", field="threshold") from None
    items = tagging.bulk_preview(read_session(), workspace().model, sid, threshold=threshold,
                                 action=request.args.get("action", "confirm"),
                                 narrative_id=_int(request.args.get("narrative_id")))
    return jsonify({"items": items, "threshold": threshold})


@bp.post("/tag/api/bulk")
@access("researcher")
def bulk() -> Any:
    """``{action, narrative_id, statement_ids}``: the same decision for every listed statement, one transaction."""
    data = _json_body()
    action, nid = data.get("action"), _int(data.get("narrative_id"))
    if action not in tagging.BULK_ACTIONS:
        raise ApiError(422, f"action must be one of {', '.join(tagging.BULK_ACTIONS)}", field="action")
    if nid is None:
        raise ApiError(422, "narrative_id must be a narrative id", field="narrative_id")
    wanted = list(dict.fromkeys(_ids(data.get("statement_ids"), "statement_ids", MAX_BULK)))
    audit_ids = tagging.tag_many(workspace(), current_user(), wanted, action, nid)
    return _answer(wanted, audit_ids=audit_ids)


@bp.post("/tag/api/seed")
@access("researcher")
def seed() -> Any:
    """``n`` in the queue: a new seeded narrative with this statement as its example, and the statement in it."""
    data = _json_body()
    sid, label, description = _statement_id(data), data.get("label"), data.get("description")
    if not isinstance(label, str) or not label.strip() or len(label) > 300:
        raise ApiError(422, "label must be 1 to 300 characters", field="label")
    if description is not None and (not isinstance(description, str) or len(description) > 5000):
        raise ApiError(422, "description must be text of at most 5000 characters", field="description")
    seeded = narratives.seed_from_statement(workspace(), current_user(), sid, label, description or None)
    with workspace().reader() as session:
        detail = narratives.detail(session, seeded.narrative_id)
    answer = _answer([sid], audit_ids=[seeded.audit_id], narrative={
        "id": seeded.narrative_id, "label": detail["label"] if detail else label,
        "assigned": seeded.report.assigned, "suggested": seeded.report.suggested})
    answer.status_code = 201
    return answer
