"""Researchers' decisions on statements: tag one, tag many alike, undo a step; and the queue they work from.

The rule for undo is the same whichever face asks: only the researcher who made a decision may undo
it, and only while the statement still stands as that decision left it (a later change wins).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import queue
from tracker.config import NarrativesConfig
from tracker.errors import Refused
from tracker.models import AuditEvent, Statement, User
from tracker.narratives.tags import BULK_ACTIONS, TAG_ACTIONS, restore, same_tags, snapshot, tag_statement
from tracker.narratives.vectors import current_scale
from tracker.service.workspace import Workspace

__all__ = ["BULK_ACTIONS", "TAG_ACTIONS", "bulk_preview", "queue_item", "queue_page", "queue_progress",
           "session_decisions", "similar_default", "tag", "tag_many", "undo"]


def tag(ws: Workspace, user: User | None, statement_id: int, action: str, narrative_id: int | None = None
        ) -> dict[str, Any]:
    """One decision (confirm, reject, reassign, clear) with its audit row, in one transaction."""
    with ws.db.transaction() as tx:
        return tag_statement(tx, statement_id, action, narrative_id, user=user)


def tag_many(ws: Workspace, user: User | None, statement_ids: list[int], action: str, narrative_id: int
             ) -> list[int]:
    """The same decision for every statement ("apply to similar"): one transaction, one audit row each.
    Returns the audit ids, which undo together as one step."""
    if action not in BULK_ACTIONS:
        raise Refused(f"action must be one of {', '.join(BULK_ACTIONS)}", field="action")
    wanted = list(dict.fromkeys(statement_ids))
    with ws.db.transaction() as tx:
        found = set(tx.scalars(select(Statement.id).where(Statement.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise Refused(f"statements {missing[:10]} do not exist", kind="not_found", field="statement_ids")
        return [tag_statement(tx, sid, action, narrative_id, user=user)["audit_id"] for sid in wanted]


def session_decisions(session: Session, user: User | None, since: datetime) -> list[dict[str, Any]]:
    """This user's tagging decisions since ``since`` that were not undone, oldest first: what the
    queue page rebuilds its undo steps and its count from after a reload (the audit log keeps them)."""
    me = user.id if user is not None else None
    events = list(session.scalars(select(AuditEvent).where(
        AuditEvent.user_id == me if me is not None else AuditEvent.user_id.is_(None),
        AuditEvent.object_type == "statement", AuditEvent.at >= since).order_by(AuditEvent.id)))
    undone = {int(e.new["undoes"]) for e in events
              if e.action == "statement.undo" and isinstance(e.new, dict) and e.new.get("undoes") is not None}
    return [{"audit_id": e.id, "statement_id": int(e.object_id or 0), "action": e.action.split(".", 1)[1],
             "at": e.at.isoformat()}
            for e in events if _decision(e) and e.action != "statement.undo" and e.id not in undone]


def _decision(event: AuditEvent) -> bool:
    """Whether an audit event is a tagging decision that can be undone (its snapshots are there)."""
    return (event.object_type == "statement" and event.action.startswith("statement.")
            and isinstance(event.old, dict) and isinstance(event.new, dict) and "assignments" in event.old)


def undo(ws: Workspace, user: User | None, audit_ids: list[int], *, statement_id: int | None = None
         ) -> list[dict[str, Any]]:
    """Put statements back as they were before the given decisions (one step: all or none).

    Refused when an event is not a decision (of ``statement_id``, when given), when it is someone
    else's, or when its statement changed afterwards, so an undo never discards a later decision.
    """
    me = user.id if user is not None else None
    with ws.db.transaction() as tx:
        if statement_id is not None and tx.get(Statement, statement_id) is None:
            raise Refused(f"statement {statement_id} does not exist", kind="not_found", field="statement_id")
        restored = []
        for audit_id in audit_ids:
            event = tx.get(AuditEvent, audit_id)
            if (event is None or not _decision(event) or event.object_id is None or event.old is None
                    or (statement_id is not None and event.object_id != str(statement_id))):
                of = f" of statement {statement_id}" if statement_id is not None else ""
                raise Refused(f"audit event {audit_id} is not a tagging decision{of}", field="audit_ids")
            if event.user_id != me:
                raise Refused(f"audit event {audit_id} is someone else's decision", kind="forbidden",
                              field="audit_ids")
            sid = int(event.object_id)
            if not same_tags(snapshot(tx, sid), (event.new or {}).get("assignments") or []):
                raise Refused(f"statement {sid} changed after that decision; reload and decide again", kind="conflict")
            restored.append(restore(tx, sid, list(event.old["assignments"]), user=user,
                                    off_topic=bool(event.old.get("off_topic", False)), undoes=audit_id))
    return restored


def queue_page(session: Session, cfg: NarrativesConfig, model: str, *, limit: int, after: str | None = None
               ) -> tuple[list[dict[str, Any]], str | None]:
    """The next ``limit`` queue items behind ``after``, and the key to continue from (None at the end)."""
    page = queue.queue_page(session, cfg, model, limit=limit, after=after)
    return [item.as_dict() for item in page], page[-1].key if len(page) == limit else None


def queue_item(session: Session, cfg: NarrativesConfig, model: str, statement_id: int) -> dict[str, Any] | None:
    """One statement as the queue shows it (after a decision, or opened directly); None if it is gone."""
    found = queue.statement_item(session, cfg, model, statement_id)
    return found.as_dict() if found else None


def queue_progress(session: Session, cfg: NarrativesConfig) -> dict[str, int]:
    return queue.queue_counts(session, cfg)


SIMILAR_LEVEL = 2.0  # "similar" for a bulk decision: closer than ~98% of random pairs of this corpus


def similar_default(session: Session, cfg: NarrativesConfig, model: str) -> float:
    """The statement-to-statement cosine the bulk preview starts from: ``SIMILAR_LEVEL`` on the corpus's
    own scale (narratives.calibration), so it means the same under any encoder."""
    return round(float(current_scale(session, model, cfg).similarity(SIMILAR_LEVEL)), 2)


def bulk_preview(session: Session, model: str, statement_id: int, *, threshold: float, action: str,
                 narrative_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Statements a bulk decision would change: similar to this one at cosine >= ``threshold``."""
    if action not in BULK_ACTIONS:
        raise Refused(f"action must be one of {', '.join(BULK_ACTIONS)}", field="action")
    if not 0.0 <= threshold <= 1.0:
        raise Refused("threshold must be a number between 0 and 1", field="threshold")
    if session.get(Statement, statement_id) is None:
        raise Refused(f"statement {statement_id} does not exist", kind="not_found", field="statement")
    return queue.similar_statements(session, model, statement_id, threshold=threshold, narrative_id=narrative_id,
                                    action=action, limit=limit)
