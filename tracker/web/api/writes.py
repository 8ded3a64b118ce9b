"""Researchers' writes: add statements, tag and untag them, seed and tune, edit, merge (and undo), split
narratives and move statements between them.

Each write is one use case (``tracker.service``), which runs in one transaction with its audit row;
a refusal comes back as the JSON error of its kind, naming the field.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from tracker.errors import Refused
from tracker.service import narratives, statements, tagging
from tracker.vocabulary import EDITABLE_STATUSES, TRIAGE_STATES
from tracker.web.api.args import parse_time
from tracker.web.api.blueprint import ID, bp, me
from tracker.web.api.fields import body, field_int, field_list, field_str
from tracker.web.auth import access
from tracker.web.context import workspace
from tracker.web.errors import ApiError

STATEMENT_FIELDS = ("text", "actor", "actor_kind", "outlet", "country", "language", "published_at", "url",
                    "title", "context", "external_id")


@bp.post("/statements")
@access("researcher")
def add_statement() -> Any:
    data = body(STATEMENT_FIELDS)
    published = field_str(data, "published_at", max_len=40)
    detail, created = statements.add_statement(
        workspace(), me(), field_str(data, "text", required=True, max_len=100_000) or "",
        external_id=field_str(data, "external_id", max_len=500),
        published_at=parse_time(published, "published_at", status=422) if published else None,
        actor=field_str(data, "actor"), actor_kind=field_str(data, "actor_kind", max_len=20),
        outlet=field_str(data, "outlet"), country=field_str(data, "country", max_len=8),
        language=field_str(data, "language", max_len=12), url=field_str(data, "url", max_len=2000),
        title=field_str(data, "title", max_len=2000), context=field_str(data, "context", max_len=20_000))
    detail.update(created=created, similar=[], similar_model=None)  # no vector until the pipeline embeds it
    return jsonify(detail), 201 if created else 200


@bp.post(f"/statements/<{ID}:statement_id>/assignment")
@access("researcher")
def tag(statement_id: int) -> Any:
    data = body(("action", "narrative_id"))
    action = field_str(data, "action", required=True, max_len=20)
    if action not in tagging.TAG_ACTIONS:
        raise ApiError(422, f"action must be one of {', '.join(tagging.TAG_ACTIONS)}", field="action")
    narrative_id = field_int(data, "narrative_id")
    if action == "reassign" and narrative_id is None:
        raise ApiError(422, "reassign needs narrative_id", field="narrative_id")
    return jsonify(tagging.tag(workspace(), me(), statement_id, action, narrative_id))


@bp.post(f"/statements/<{ID}:statement_id>/assignment/undo")
@access("researcher")
def untag(statement_id: int) -> Any:
    audit_id = field_int(body(("audit_id",)), "audit_id", required=True)
    assert audit_id is not None
    try:
        (result,) = tagging.undo(workspace(), me(), [audit_id], statement_id=statement_id)
    except Refused as exc:
        raise ApiError.refusal(exc, fields={"audit_ids": "audit_id"}) from exc
    return jsonify(result)


def _narrative_now(narrative_id: int) -> dict[str, Any] | None:
    """The narrative as a write just left it: read in a new session (the request's reading session
    may hold a snapshot from before the write)."""
    with workspace().reader() as session:
        return narratives.detail(session, narrative_id)


@bp.post("/narratives")
@access("researcher")
def seed_narrative() -> Any:
    data = body(("label", "description", "examples"))
    label = field_str(data, "label", required=True)
    description = field_str(data, "description", max_len=5000)
    examples = field_list(data, "examples", str, max_items=200)
    if not any(e.strip() for e in examples):
        raise ApiError(422, "examples must hold at least one non-empty statement", field="examples")
    seeded = narratives.seed(workspace(), me(), label or "", description, examples)
    detail = _narrative_now(seeded.narrative_id) or {"id": seeded.narrative_id}
    return jsonify({**detail, "assigned": seeded.report.assigned, "suggested": seeded.report.suggested}), 201


@bp.patch(f"/narratives/<{ID}:narrative_id>")
@access("researcher")
def edit_narrative(narrative_id: int) -> Any:
    data = body(("label", "description", "status", "triage"))
    label = field_str(data, "label", nullable=False)
    description = field_str(data, "description", max_len=5000)
    status = field_str(data, "status", max_len=20, nullable=False)
    if status is not None and status not in EDITABLE_STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(EDITABLE_STATUSES)}", field="status")
    triage = field_str(data, "triage", max_len=20, nullable=False)
    if triage is not None and triage not in TRIAGE_STATES:
        raise ApiError(422, f"triage must be one of {', '.join(TRIAGE_STATES)}", field="triage")
    return jsonify(narratives.edit(workspace(), me(), narrative_id, label=label, status=status, triage=triage,
                                   description="" if "description" in data and description is None else description))


@bp.post(f"/narratives/<{ID}:narrative_id>/merge")
@access("researcher")
def merge(narrative_id: int) -> Any:
    return jsonify(_narrative_now(narratives.merge(workspace(), me(), narrative_id, _into(body(("into",))))))


@bp.post(f"/narratives/<{ID}:narrative_id>/split")
@access("researcher")
def split(narrative_id: int) -> Any:
    data = body(("statement_ids", "label"))
    label = field_str(data, "label", required=True)
    ids = field_list(data, "statement_ids", int, max_items=10_000)
    new_id = narratives.split(workspace(), me(), narrative_id, ids, label or "")
    return jsonify(_narrative_now(new_id)), 201


@bp.post(f"/narratives/<{ID}:narrative_id>/move")
@access("researcher")
def move(narrative_id: int) -> Any:
    """Move some statements of this narrative into another, existing one (confirmed there)."""
    data = body(("statement_ids", "into"))
    into = _into(data)
    ids = field_list(data, "statement_ids", int, max_items=10_000)
    return jsonify(_narrative_now(narratives.move(workspace(), me(), narrative_id, ids, into)))


def _into(data: Any) -> int:
    """The required ``into`` narrative id of a merge or move body."""
    into = field_int(data, "into", required=True)
    assert into is not None
    return into


@bp.post(f"/narratives/<{ID}:narrative_id>/unmerge")
@access("researcher")
def unmerge(narrative_id: int) -> Any:
    """Undo this narrative's merge (only who merged it, while the statements it moved are unchanged)."""
    body(())
    return jsonify(_narrative_now(narratives.undo_merge(workspace(), me(), narrative_id)))


@bp.put(f"/narratives/<{ID}:narrative_id>/examples")
@access("researcher")
def examples(narrative_id: int) -> Any:
    """New examples for a seeded narrative; its automatic members and suggestions are scored again."""
    given = field_list(body(("examples",)), "examples", str, max_items=200)
    if not any(e.strip() for e in given):
        raise ApiError(422, "examples must hold at least one non-empty statement", field="examples")
    report = narratives.retune(workspace(), me(), narrative_id, given)
    detail = _narrative_now(narrative_id) or {"id": narrative_id}
    return jsonify({**detail, "assigned": report.assigned, "suggested": report.suggested})
