"""Researchers' edits to narratives: rename, describe, change status, triage, merge (and undo it), split,
move.

Each function works in the caller's transaction and writes the narrative's history
(``NarrativeEvent``) and exactly one audit row, so a rolled-back edit leaves neither. Edited
narratives are ``locked``: re-clustering keeps their id and members.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tracker import audit
from tracker.errors import Refused
from tracker.models import Assignment, AuditEvent, Narrative, NarrativeEvent, User, utcnow
from tracker.narratives.assign import recount
from tracker.vocabulary import CURRENT_STATES, EDITABLE_STATUSES, LIVE_STATUSES, TRIAGE_STATES


class ManageError(Refused):
    """An edit that cannot be applied. ``kind``: not_found, invalid or conflict; ``field`` names the input."""


def _get(session: Session, narrative_id: int, field: str | None = None) -> Narrative:
    nar = session.get(Narrative, narrative_id)
    if nar is None:
        raise ManageError(f"narrative {narrative_id} does not exist", kind="not_found" if field is None else "invalid",
                          field=field)
    return nar


def _editable(nar: Narrative, field: str | None = None) -> None:
    if nar.status not in EDITABLE_STATUSES:
        raise ManageError(f"narrative {nar.id} is {nar.status}; it can no longer be edited", kind="conflict",
                          field=field)


def _event(session: Session, nid: int, kind: str, user: User | None, other: int | None = None,
           detail: dict[str, Any] | None = None) -> None:
    session.add(NarrativeEvent(narrative_id=nid, kind=kind, other_narrative_id=other, detail=detail or {},
                               user_id=user.id if user else None))


def update_narrative(session: Session, narrative_id: int, *, label: str | None = None,
                     description: str | None = None, status: str | None = None, triage: str | None = None,
                     user: User | None = None) -> Narrative:
    """Rename, describe, change the status or the triage of a narrative; unchanged values write nothing.

    Triage: a discovered narrative starts as a *candidate*; *tracked* ones are followed (and locked, so
    re-clustering keeps them); *not_narrative* marks routine news, sport or weather, whose statements
    then stay out of the tagging queue."""
    nar = _get(session, narrative_id)
    _editable(nar)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if label is not None:
        label = " ".join(label.split())
        if not label:
            raise ManageError("label must not be empty", field="label")
        if len(label) > 300:
            raise ManageError("label is longer than 300 characters", field="label")
        if label != nar.label:
            old["label"], new["label"] = nar.label, label
            _event(session, nar.id, "renamed", user, detail={"old": nar.label, "new": label})
            nar.label, nar.label_edited = label, True
    if description is not None:
        description = description.strip() or None
        if description is not None and len(description) > 5000:
            raise ManageError("description is longer than 5000 characters", field="description")
        if description != nar.description:
            old["description"], new["description"] = nar.description, description
            nar.description = description
    for field, value, allowed in (("status", status, EDITABLE_STATUSES), ("triage", triage, TRIAGE_STATES)):
        _choose(session, nar, field, value, allowed, user, old, new)
    if new:
        nar.locked = True
        nar.updated_at = utcnow()
        audit.record(session, user, "narrative.update", "narrative", nar.id, old, new)
    session.flush()
    return nar


def _choose(session: Session, nar: Narrative, field: str, value: str | None, allowed: Sequence[str],
            user: User | None, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Set one of the narrative's word-valued fields (status, triage), recording the change."""
    if value is None:
        return
    if value not in allowed:
        raise ManageError(f"{field} must be one of {', '.join(allowed)}", field=field)
    before = getattr(nar, field)
    if value != before:
        old[field], new[field] = before, value
        _event(session, nar.id, field, user, detail={"old": before, "new": value})
        setattr(nar, field, value)


def _source_and_target(session: Session, narrative_id: int, into_id: int, same: str, live: str
                       ) -> tuple[Narrative, Narrative]:
    """The editable narrative statements leave and the live one they go to (merge and move share the checks)."""
    if narrative_id == into_id:
        raise ManageError(same, field="into")
    src = _get(session, narrative_id)
    dst = _get(session, into_id, field="into")
    _editable(src)
    if dst.status not in LIVE_STATUSES:
        raise ManageError(f"narrative {into_id} is {dst.status}; {live}", field="into")
    return src, dst


def merge_narratives(session: Session, narrative_id: int, into_id: int, *, user: User | None = None) -> Narrative:
    """Fold ``narrative_id`` into ``into_id``: its statements and rejections move, it becomes *merged*."""
    src, dst = _source_and_target(session, narrative_id, into_id, "a narrative cannot be merged into itself",
                                  "merge into a live narrative")
    rows = list(session.scalars(select(Assignment).where(Assignment.narrative_id == src.id)))
    taken = {a.statement_id: a for a in session.scalars(
        select(Assignment).where(Assignment.narrative_id == dst.id,
                                 Assignment.statement_id.in_([r.statement_id for r in rows] or [-1])))}
    moved: list[list[Any]] = []  # [statement, state] of each row that moved: what undo moves back
    removed: list[list[Any]] = []  # the rows that gave way: what undo puts back
    for row in rows:
        other = taken.get(row.statement_id)
        if row.state == "suggested":
            removed.append(_row_record(row))
            session.delete(row)
            continue
        if row.state in CURRENT_STATES or other is None:  # a rejection of the merged one rejects the target
            if other is not None:
                removed.append(_row_record(other))
                session.delete(other)  # a suggestion or rejection for the target gives way
                session.flush()
            row.narrative_id = dst.id
            moved.append([row.statement_id, row.state])
        else:
            removed.append(_row_record(row))
            session.delete(row)
    session.flush()
    old_status = src.status
    src.status, src.merged_into_id, src.size = "merged", dst.id, 0
    dst.locked = True
    dst_triage = dst.triage
    if src.triage == "tracked":
        dst.triage = "tracked"  # what a researcher followed stays followed under its new id
    count = sum(1 for _, state in moved if state in CURRENT_STATES)
    _event(session, src.id, "merged_into", user, other=dst.id, detail={"statements": count, "manual": True})
    _event(session, dst.id, "merged_from", user, other=src.id, detail={"statements": count, "manual": True})
    recount(session, [dst.id])
    audit.record(session, user, "narrative.merge", "narrative", src.id,
                 {"status": old_status, "removed": removed, "into_triage": dst_triage},
                 {"status": "merged", "into": dst.id, "statements": count, "moved": moved})
    session.flush()
    return dst


def _row_record(row: Assignment) -> list[Any]:
    return [row.statement_id, row.narrative_id, row.state, row.method, row.score, row.user_id]


def unmerge_narratives(session: Session, narrative_id: int, *, user: User | None = None) -> Narrative:
    """Undo a merge: the statements it moved go back, the rows that gave way return, the narrative is live
    again. The same rule as every undo: only who merged may undo it, and only while the target still
    holds those statements as the merge left them (a later decision wins)."""
    src = _get(session, narrative_id)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "narrative.merge",
                                                    AuditEvent.object_id == str(src.id))
                           .order_by(AuditEvent.id.desc()).limit(1))
    if src.status != "merged" or src.merged_into_id is None or event is None or event.new is None \
            or event.new.get("into") != src.merged_into_id or "moved" not in event.new:
        raise ManageError(f"narrative {src.id} is not merged, or its merge cannot be undone", kind="conflict")
    if event.user_id != (user.id if user else None):
        raise ManageError(f"narrative {src.id} was merged by someone else; only they can undo it", kind="forbidden")
    dst = _get(session, src.merged_into_id)
    moved = {int(sid): state for sid, state in event.new["moved"]}
    rows = {a.statement_id: a for a in session.scalars(select(Assignment).where(
        Assignment.narrative_id == dst.id, Assignment.statement_id.in_(list(moved) or [-1])))}
    changed = [sid for sid, state in moved.items() if sid in rows and rows[sid].state != state]
    gone = [sid for sid in moved if sid not in rows]
    if changed or gone:
        raise ManageError(f"statements {(changed + gone)[:10]} changed in narrative {dst.id} after the merge; "
                          "move them by hand instead", kind="conflict")
    for row in rows.values():
        row.narrative_id = src.id
    session.flush()
    for sid, nid, state, method, score, uid in (event.old or {}).get("removed", []):
        session.add(Assignment(statement_id=sid, narrative_id=nid, state=state, method=method, score=score,
                               user_id=uid))
    old_status = (event.old or {}).get("status") or "active"
    src.status, src.merged_into_id = old_status, None
    dst.triage = (event.old or {}).get("into_triage") or dst.triage
    _event(session, src.id, "unmerged", user, other=dst.id, detail={"statements": len(moved)})
    _event(session, dst.id, "unmerged_from", user, other=src.id, detail={"statements": len(moved)})
    recount(session, [src.id, dst.id])
    audit.record(session, user, "narrative.unmerge", "narrative", src.id, {"status": "merged", "into": dst.id},
                 {"status": old_status, "statements": len(moved)})
    session.flush()
    return src


def move_statements(session: Session, narrative_id: int, statement_ids: Sequence[int], into_id: int, *,
                    user: User | None = None) -> Narrative:
    """Move some of a narrative's statements into another, existing narrative: confirmed there by hand."""
    src, dst = _source_and_target(session, narrative_id, into_id,
                                  "statements cannot move into the narrative they are in",
                                  "move statements into a live narrative")
    wanted, _ = _members_of(session, src, statement_ids)
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        session.execute(delete(Assignment).where(Assignment.narrative_id == dst.id, Assignment.statement_id.in_(part)))
        session.execute(update(Assignment).where(Assignment.narrative_id == src.id, Assignment.statement_id.in_(part))
                        .values(narrative_id=dst.id, state="confirmed", method="manual",
                                user_id=user.id if user else None, updated_at=utcnow()))
    src.locked = dst.locked = True
    _event(session, src.id, "moved_to", user, other=dst.id, detail={"statements": len(wanted)})
    _event(session, dst.id, "moved_from", user, other=src.id, detail={"statements": len(wanted)})
    recount(session, [src.id, dst.id])
    audit.record(session, user, "narrative.move", "narrative", src.id, {"statements": len(wanted)},
                 {"into": dst.id, "statement_ids": wanted})
    session.flush()
    return dst


def _members_of(session: Session, src: Narrative, statement_ids: Sequence[int]) -> tuple[list[int], int]:
    """The listed statements, checked to be current members of ``src`` and not all of them; and how many
    members ``src`` has."""
    wanted = sorted({int(s) for s in statement_ids})
    if not wanted:
        raise ManageError("statement_ids must list at least one statement", field="statement_ids")
    members = set(session.scalars(select(Assignment.statement_id).where(
        Assignment.narrative_id == src.id, Assignment.state.in_(CURRENT_STATES))))
    missing = [s for s in wanted if s not in members]
    if missing:
        raise ManageError(f"statements {missing[:10]} are not in narrative {src.id}", field="statement_ids")
    if len(wanted) == len(members):
        raise ManageError("statements must be left behind: to move them all, merge the narrative instead",
                          field="statement_ids")
    return wanted, len(members)


def split_narrative(session: Session, narrative_id: int, statement_ids: Sequence[int], label: str, *,
                    user: User | None = None) -> Narrative:
    """Move some of a narrative's statements into a new narrative named ``label``."""
    src = _get(session, narrative_id)
    _editable(src)
    label = " ".join((label or "").split())
    if not label or len(label) > 300:
        raise ManageError("label must be 1-300 characters", field="label")
    wanted, members = _members_of(session, src, statement_ids)
    new = Narrative(label=label, status=src.status if src.status in LIVE_STATUSES else "active",
                    origin=src.origin, locked=True, label_edited=True, model=src.model, centroid=src.centroid,
                    cohesion=src.cohesion, triage="tracked")
    session.add(new)
    session.flush()
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        # rows the statements had for the new narrative cannot exist yet; other suggestions stay
        session.execute(update(Assignment).where(Assignment.narrative_id == src.id,
                                                 Assignment.statement_id.in_(part))
                        .values(narrative_id=new.id, state="confirmed", method="manual",
                                user_id=user.id if user else None, updated_at=utcnow()))
        session.execute(delete(Assignment).where(Assignment.statement_id.in_(part),
                                                 Assignment.narrative_id != new.id,
                                                 Assignment.state == "suggested"))
    src.locked = True
    _event(session, new.id, "split_from", user, other=src.id, detail={"statements": len(wanted)})
    _event(session, src.id, "split_into", user, other=new.id, detail={"statements": len(wanted)})
    recount(session, [src.id, new.id])
    audit.record(session, user, "narrative.split", "narrative", src.id, {"statements": members},
                 {"into": new.id, "label": label, "statement_ids": wanted})
    session.flush()
    return new
