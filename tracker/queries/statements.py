"""Statements for the API and the dashboard: filtered lists, lookups by id, one statement in full.

The API's ``list_statements`` takes keyword filters; the dashboard's ``search_statements`` a ``StatementFilter``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.queries.filters import CURRENT, StatementFilter, keyset_desc, like_pattern
from tracker.queries.rows import iso, statement_dict

STATEMENT_STATES = ("assigned", "confirmed", "suggested", "rejected", "unassigned")


def list_statements(session: Session, *, narrative: int | None = None, actor: int | None = None,
                    country: str | None = None, language: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, q: str | None = None, state: str | None = None,
                    limit: int = 50, after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Statements newest first (undated last) with their current narrative, keyset-paginated."""
    speaker, outlet = aliased(Actor), aliased(Actor)
    current = aliased(Assignment)
    query = (
        select(Statement, speaker, outlet, current, Narrative.label)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .outerjoin(current, and_(current.statement_id == Statement.id, current.state.in_(CURRENT)))
        .outerjoin(Narrative, Narrative.id == current.narrative_id)
    )
    if narrative is not None:
        states = (state,) if state else CURRENT
        query = query.where(select(Assignment.id).where(
            Assignment.statement_id == Statement.id, Assignment.narrative_id == narrative,
            Assignment.state.in_(states)).exists())
    elif state in CURRENT:
        query = query.where(current.state == state)
    elif state == "unassigned":
        query = query.where(current.id.is_(None))
    elif state:
        query = query.where(select(Assignment.id).where(Assignment.statement_id == Statement.id,
                                                        Assignment.state == state).exists())
    if actor is not None:
        query = query.where(or_(Statement.speaker_id == actor, Statement.outlet_id == actor))
    if country:
        query = query.where(Statement.country == country.upper())
    if language:
        query = query.where(Statement.language == language.lower())
    if since is not None:
        query = query.where(Statement.published_at >= since)
    if until is not None:
        query = query.where(Statement.published_at <= until)
    if q:
        query = query.where(func.lower(Statement.text).like(like_pattern(q)))
    keyset = keyset_desc(Statement.published_at, Statement.id, after)
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Statement.published_at.desc().nulls_last(), Statement.id.desc()).limit(limit)
    return [_with_narrative(statement_dict(st, sp, ou), cur, label) for st, sp, ou, cur, label in session.execute(query)]


def _with_narrative(row: dict[str, Any], current: Assignment | None, label: str | None) -> dict[str, Any]:
    row["narrative"] = None if current is None else {
        "id": current.narrative_id, "label": label, "state": current.state,
        "score": None if current.score is None else round(float(current.score), 4)}
    return row


def statements_by_id(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    current = aliased(Assignment)
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(Statement, speaker, outlet, current, Narrative.label)
            .outerjoin(speaker, speaker.id == Statement.speaker_id)
            .outerjoin(outlet, outlet.id == Statement.outlet_id)
            .outerjoin(current, and_(current.statement_id == Statement.id, current.state.in_(CURRENT)))
            .outerjoin(Narrative, Narrative.id == current.narrative_id)
            .where(Statement.id.in_(ids[start : start + 900])))
        for st, sp, ou, cur, label in rows:
            out[st.id] = _with_narrative(statement_dict(st, sp, ou), cur, label)
    return out


def api_statement_detail(session: Session, statement_id: int) -> dict[str, Any] | None:
    found = statements_by_id(session, [statement_id])
    if statement_id not in found:
        return None
    out = found[statement_id]
    st = session.get(Statement, statement_id)
    assert st is not None
    out.update({"context": st.context, "origin": st.origin, "source_id": st.source_id,
                "created_at": iso(st.created_at)})
    out["assignments"] = [
        {"narrative_id": a.narrative_id, "label": label, "narrative_status": status, "state": a.state,
         "method": a.method, "score": None if a.score is None else round(float(a.score), 4),
         "user_id": a.user_id, "updated_at": iso(a.updated_at)}
        for a, label, status in session.execute(
            select(Assignment, Narrative.label, Narrative.status).join(Narrative, Narrative.id == Assignment.narrative_id)
            .where(Assignment.statement_id == statement_id).order_by(Assignment.score.desc().nulls_last(),
                                                                     Assignment.narrative_id))
    ]
    return out


def _statement_rows(session: Session, query: Select[Any]) -> list[dict[str, Any]]:
    return [statement_dict(st, sp, ou) for st, sp, ou in session.execute(query)]


def _with_actors() -> tuple[Select[Any], Any, Any]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    query: Any = (select(Statement, speaker, outlet)
             .outerjoin(speaker, speaker.id == Statement.speaker_id)
             .outerjoin(outlet, outlet.id == Statement.outlet_id))
    return query, speaker, outlet


def search_statements(session: Session, flt: StatementFilter, *, limit: int = 50,
                      after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Statements matching the filter, newest first (undated last), keyset on (published_at, id)."""
    query, _, _ = _with_actors()
    query = query.where(*flt.clauses())
    if flt.narrative_id is not None:
        query = query.where(select(Assignment.id).where(
            Assignment.statement_id == Statement.id, Assignment.narrative_id == flt.narrative_id,
            Assignment.state.in_(CURRENT)).exists())
    if after is not None:
        query = query.where(keyset_desc(Statement.published_at, Statement.id, after))
    query = query.order_by(Statement.published_at.desc().nulls_last(), Statement.id.desc()).limit(limit)
    return _statement_rows(session, query)


def statements_by_ids(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Statements in the order of ``ids`` (missing ids skipped), each with its current narrative."""
    if not ids:
        return []
    query, _, _ = _with_actors()
    rows = {r["id"]: r for r in _statement_rows(session, query.where(Statement.id.in_(ids)))}
    current = dict(session.execute(
        select(Assignment.statement_id, Narrative.id)
        .join(Narrative, Narrative.id == Assignment.narrative_id)
        .where(Assignment.statement_id.in_(ids), Assignment.state.in_(CURRENT))).all())
    labels = dict(session.execute(select(Narrative.id, Narrative.label)
                                  .where(Narrative.id.in_(set(current.values())))).all()) if current else {}
    out = []
    for i in ids:
        if i in rows:
            row = rows[i]
            nid = current.get(i)
            row["narrative_id"], row["narrative_label"] = nid, labels.get(nid) if nid else None
            out.append(row)
    return out


def statement_detail(session: Session, statement_id: int) -> dict[str, Any] | None:
    """One statement with every assignment (narrative, state, method, score) and its source."""
    query, _, _ = _with_actors()
    found = session.execute(query.where(Statement.id == statement_id)).first()
    if found is None:
        return None
    st, sp, ou = found
    out = statement_dict(st, sp, ou)
    out["context"] = st.context
    out["origin"] = st.origin
    out["fetched_at"] = iso(st.fetched_at)
    out["assignments"] = [
        {"narrative_id": a.narrative_id, "label": label, "status": status, "state": a.state, "method": a.method,
         "score": None if a.score is None else round(float(a.score), 4), "at": iso(a.updated_at)}
        for a, label, status in session.execute(
            select(Assignment, Narrative.label, Narrative.status)
            .join(Narrative, Narrative.id == Assignment.narrative_id)
            .where(Assignment.statement_id == statement_id)
            .order_by(Assignment.state.in_(CURRENT).desc(), Assignment.score.desc().nulls_last()))
    ]
    return out
