"""Researchers' tags: confirm, reject, reassign or clear a statement's narrative, or dismiss it as about
no narrative at all; and put a snapshot back.

Each change runs in the caller's transaction and writes its audit row there, with the statement's
assignment rows before and after: what the audit keeps is exactly what an undo restores. A
statement a researcher rejected for a narrative is never put back there automatically.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, true, update
from sqlalchemy.orm import Session

from tracker import audit
from tracker.errors import Refused
from tracker.models import Assignment, Narrative, Statement, User, utcnow
from tracker.narratives.assign import recount
from tracker.vocabulary import CURRENT_STATES, LIVE_STATUSES, OPEN_STATES

TAG_ACTIONS = ("confirm", "reject", "reassign", "clear", "dismiss")
BULK_ACTIONS = ("confirm", "reject")  # what "apply to similar" may do to many statements at once


class TagError(Refused):
    """A tagging request that cannot be applied (unknown statement or narrative, bad action)."""


def snapshot(session: Session, statement_id: int) -> list[dict[str, Any]]:
    """The statement's assignment rows as plain data (what audit keeps and undo restores)."""
    rows = session.scalars(select(Assignment).where(Assignment.statement_id == statement_id)
                           .order_by(Assignment.narrative_id))
    return [{"narrative_id": a.narrative_id, "state": a.state, "method": a.method, "score": a.score,
             "user_id": a.user_id} for a in rows]


def same_tags(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Whether two snapshots place the statement alike (narratives and states; scores aside)."""
    return {(r.get("narrative_id"), r.get("state")) for r in a} == {(r.get("narrative_id"), r.get("state")) for r in b}


def tag_statement(session: Session, statement_id: int, action: str, narrative_id: int | None = None, *,
                  user: User | None = None) -> dict[str, Any]:
    """Apply a researcher's decision in the caller's transaction, with its audit row.

    confirm: the statement belongs to ``narrative_id`` (default: its current or best suggested one);
    reject: it does not (default: its current one) and never returns there automatically;
    reassign: it belongs to ``narrative_id`` and not to its current one; clear: forget all decisions;
    dismiss: it is about no narrative (routine news, sport, weather): its narrative and suggestions go,
    and it stays out of the tagging queue, clustering and assignment. Any other decision takes a
    dismissal back.
    """
    if action not in TAG_ACTIONS:
        raise TagError(f"action must be one of {', '.join(TAG_ACTIONS)}", field="action")
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise TagError(f"statement {statement_id} does not exist", kind="not_found", field="statement_id")
    before = snapshot(session, statement_id)
    was_off_topic = statement.off_topic
    current = next((r["narrative_id"] for r in before if r["state"] in CURRENT_STATES), None)
    statement.off_topic = action == "dismiss"
    if action in ("clear", "dismiss"):
        session.execute(delete(Assignment).where(Assignment.statement_id == statement_id,
                                                 Assignment.state.in_(OPEN_STATES) if action == "dismiss" else true()))
    else:
        narrative_id = target = _target(session, before, action, narrative_id, current)
        if action == "reject":
            _put(session, statement_id, target, "rejected", before, user)
        else:
            if action == "reassign" and current is not None and current != target:
                _put(session, statement_id, current, "rejected", before, user)
            _confirm(session, statement_id, target, before, user)
    after = snapshot(session, statement_id)
    recount(session, {r["narrative_id"] for r in before + after})
    event = audit.record(session, user, f"statement.{action}", "statement", statement_id,
                         {"assignments": before, "off_topic": was_off_topic},
                         {"assignments": after, "off_topic": statement.off_topic})
    session.flush()
    return {"statement_id": statement_id, "action": action, "narrative_id": narrative_id,
            "assignments": after, "off_topic": statement.off_topic, "audit_id": event.id}


def _target(session: Session, before: list[dict[str, Any]], action: str, narrative_id: int | None,
            current: int | None) -> int:
    """The narrative a decision is about: the one given, else the current one (or, to confirm, the best
    suggestion); it must be live."""
    if action in ("confirm", "reject") and narrative_id is None:
        best = max((r for r in before if r["state"] == "suggested"), key=lambda r: r["score"] or 0, default=None)
        narrative_id = current if current is not None else (
            best["narrative_id"] if best and action == "confirm" else None)
    if narrative_id is None:
        raise TagError("narrative_id is required: the statement has no current narrative", field="narrative_id")
    nar = session.get(Narrative, narrative_id)
    if nar is None or nar.status not in LIVE_STATUSES:
        raise TagError(f"narrative {narrative_id} does not exist or is not live", field="narrative_id")
    return narrative_id


def _put(session: Session, statement_id: int, narrative_id: int, state: str, before: list[dict[str, Any]],
         user: User | None) -> None:
    """The (statement, narrative) row in ``state`` as a manual decision, made if missing."""
    row = session.scalar(select(Assignment).where(Assignment.statement_id == statement_id,
                                                  Assignment.narrative_id == narrative_id))
    uid = user.id if user else None
    if row is None:
        score = next((r["score"] for r in before if r["narrative_id"] == narrative_id), None)
        session.add(Assignment(statement_id=statement_id, narrative_id=narrative_id, state=state, method="manual",
                               score=score, user_id=uid))
    else:
        row.state, row.method, row.user_id, row.updated_at = state, "manual", uid, utcnow()
    session.flush()


def _confirm(session: Session, statement_id: int, narrative_id: int, before: list[dict[str, Any]],
             user: User | None) -> None:
    # Only one current row: drop any other (even a confirmed one) before confirming.
    session.execute(delete(Assignment).where(
        Assignment.statement_id == statement_id, Assignment.narrative_id != narrative_id,
        Assignment.state.in_(OPEN_STATES)))
    session.flush()
    _put(session, statement_id, narrative_id, "confirmed", before, user)
    session.execute(update(Narrative).where(Narrative.id == narrative_id).values(locked=True))


def restore(session: Session, statement_id: int, rows: list[dict[str, Any]], *, user: User | None = None,
            reason: str = "undo", off_topic: bool = False, undoes: int | None = None) -> dict[str, Any]:
    """Put a statement's assignments (and its dismissal) back to a snapshot (the tagging queue's undo);
    ``undoes`` names the decision's audit id, so a reloaded queue knows it was taken back."""
    before = snapshot(session, statement_id)
    statement = session.get(Statement, statement_id)
    was_off_topic = bool(statement and statement.off_topic)
    if statement is not None:
        statement.off_topic = off_topic
    session.execute(delete(Assignment).where(Assignment.statement_id == statement_id))
    session.flush()
    for r in rows:
        session.add(Assignment(statement_id=statement_id, narrative_id=r["narrative_id"], state=r["state"],
                               method=r["method"], score=r.get("score"), user_id=r.get("user_id")))
    session.flush()
    recount(session, {r["narrative_id"] for r in before + rows})
    new: dict[str, Any] = {"assignments": rows, "off_topic": off_topic}
    if undoes is not None:
        new["undoes"] = undoes
    event = audit.record(session, user, f"statement.{reason}", "statement", statement_id,
                         {"assignments": before, "off_topic": was_off_topic}, new)
    session.flush()
    return {"statement_id": statement_id, "assignments": snapshot(session, statement_id), "off_topic": off_topic,
            "audit_id": event.id}
