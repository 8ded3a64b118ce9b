"""Statements for every face: one filtered listing, lookups by id, one statement in full.

Every row has the same shape (``rows.statement_dict`` plus its current ``narrative``), whether it
comes from a listing, a search hit or a narrative's similar statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.queries.filters import StatementFilter, in_narrative, keyset_desc
from tracker.queries.rows import iso, shown_origin, statement_dict
from tracker.vocabulary import ASSIGNMENT_STATES, CURRENT_STATES

STATEMENT_STATES = (*ASSIGNMENT_STATES, "unassigned")


def _rows_with_narrative() -> tuple[Select[Statement, Actor, Actor, Assignment, str], type[Assignment]]:
    """Statements with speaker, outlet, current assignment and its narrative's label; and that assignment."""
    speaker, outlet, current = aliased(Actor), aliased(Actor), aliased(Assignment)
    query = (
        select(Statement, speaker, outlet, current, Narrative.label)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .outerjoin(current, and_(current.statement_id == Statement.id, current.state.in_(CURRENT_STATES)))
        .outerjoin(Narrative, Narrative.id == current.narrative_id)
    )
    return query, current


def _row(st: Statement, speaker: Actor | None, outlet: Actor | None, current: Assignment | None,
         label: str | None) -> dict[str, Any]:
    row = statement_dict(st, speaker, outlet)
    row["narrative"] = None if current is None else {
        "id": current.narrative_id, "label": label, "state": current.state,
        "score": None if current.score is None else round(float(current.score), 4)}
    return row


def _state_clause(flt: StatementFilter, state: str | None, current: Any) -> Any:
    """``state`` narrows to statements with an assignment in that state (to the filter's narrative, if any)."""
    if flt.narrative_id is not None:
        return in_narrative(flt.narrative_id, (state,)) if state else None
    if state in CURRENT_STATES:
        return current.state == state
    if state == "unassigned":
        return current.id.is_(None)
    if state:
        return select(Assignment.id).where(Assignment.statement_id == Statement.id, Assignment.state == state).exists()
    return None


def list_statements(session: Session, flt: StatementFilter | None = None, *, state: str | None = None,
                    limit: int = 50, after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Statements matching the filter, newest first (undated last), keyset-paginated on (published_at, id)."""
    flt = flt or StatementFilter()
    query, current = _rows_with_narrative()
    query = query.where(*flt.clauses(with_narrative=not state))
    by_state = _state_clause(flt, state, current)
    if by_state is not None:
        query = query.where(by_state)
    keyset = keyset_desc(Statement.published_at, Statement.id, after)
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Statement.published_at.desc().nulls_last(), Statement.id.desc()).limit(limit)
    return [_row(*found) for found in session.execute(query)]


def statements_by_ids(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Statements in the order of ``ids`` (missing ids skipped), each with its current narrative."""
    query, _ = _rows_with_narrative()
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        for row in session.execute(query.where(Statement.id.in_(ids[start : start + 900]))):
            found[row[0].id] = _row(*row)
    return [found[i] for i in ids if i in found]


def statement_detail(session: Session, statement_id: int) -> dict[str, Any] | None:
    """One statement with where it was read from and every assignment (current first, then by score)."""
    found = statements_by_ids(session, [statement_id])
    if not found:
        return None
    out = found[0]
    st = session.get(Statement, statement_id)
    assert st is not None
    out.update({"context": st.context, "origin": shown_origin(st.origin), "source_id": st.source_id,
                "created_at": iso(st.created_at), "fetched_at": iso(st.fetched_at)})
    out["assignments"] = [
        {"narrative_id": a.narrative_id, "label": label, "narrative_status": status, "state": a.state,
         "method": a.method, "score": None if a.score is None else round(float(a.score), 4),
         "user_id": a.user_id, "updated_at": iso(a.updated_at)}
        for a, label, status in session.execute(
            select(Assignment, Narrative.label, Narrative.status).join(Narrative, Narrative.id == Assignment.narrative_id)
            .where(Assignment.statement_id == statement_id)
            .order_by(Assignment.state.in_(CURRENT_STATES).desc(), Assignment.score.desc().nulls_last(),
                      Assignment.narrative_id))
    ]
    return out
