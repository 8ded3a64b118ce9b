"""Narratives for every face: the one listing, one narrative in full, its statements and their dates.

The listing's order is the same in the CLI, the dashboard and the API: **most recently active first**
(``last_seen_at`` descending, narratives with no dated statement last, then the newest id first),
keyset-paginated on (last_seen_at, id). Recent activity is what a researcher following state
messaging looks at first; size says more about the past than about what is being pushed now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, NarrativeEvent, Statement
from tracker.queries.filters import StatementFilter, contains, keyset_desc
from tracker.queries.rows import iso, narrative_summary, statement_dict
from tracker.vocabulary import ASSIGNMENT_STATES, CURRENT_STATES, LIVE_STATUSES, SHOWN_TRIAGE


def list_narratives(session: Session, flt: StatementFilter | None = None, *, status: str | None = None,
                    every_status: bool = False, triage: Sequence[str] | None = SHOWN_TRIAGE, limit: int | None = 50,
                    after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Narratives by most recent activity (see the module docstring).

    Live ones only, unless ``status`` names one or ``every_status`` is set. Tracked narratives and
    candidates only, unless ``triage`` names others (None: every triage state). The filter's ``q``
    matches the label or the description; its other fields keep the narratives with a matching statement.
    """
    flt = flt or StatementFilter()
    query: Select[Any] = select(Narrative)
    if triage is not None:
        query = query.where(Narrative.triage.in_(tuple(triage)))
    if status:
        query = query.where(Narrative.status == status)
    elif not every_status:
        query = query.where(Narrative.status.in_(LIVE_STATUSES))
    if flt.q:
        query = query.where(or_(contains(Narrative.label, flt.q), contains(Narrative.description, flt.q)))
    clauses = flt.clauses(with_text=False)
    if clauses:
        query = query.where(select(Assignment.id).join(Statement, Statement.id == Assignment.statement_id)
                            .where(Assignment.narrative_id == Narrative.id, Assignment.state.in_(CURRENT_STATES),
                                   *clauses).exists())
    keyset = keyset_desc(Narrative.last_seen_at, Narrative.id, after)
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Narrative.last_seen_at.desc().nulls_last(), Narrative.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


def narrative_statements(session: Session, narrative_id: int, *, limit: int | None = None,
                         offset: int = 0, flt: StatementFilter | None = None) -> list[dict[str, Any]]:
    """The narrative's statements in time order (undated last) with who said them (those matching ``flt``)."""
    speaker, outlet = aliased(Actor), aliased(Actor)
    query = (
        select(Statement, speaker, outlet, Assignment.state, Assignment.score)
        .join(Assignment, Assignment.statement_id == Statement.id)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .where(Assignment.narrative_id == narrative_id, Assignment.state.in_(CURRENT_STATES))
        .where(*(flt.clauses(with_narrative=False) if flt is not None else ()))
        .order_by(Statement.published_at.asc().nulls_last(), Statement.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    out = []
    for st, sp, ou, state, score in session.execute(query):
        row = statement_dict(st, sp, ou)
        row["assignment"] = state
        row["score"] = None if score is None else round(float(score), 4)
        out.append(row)
    return out


def narrative_detail(session: Session, narrative_id: int) -> dict[str, Any] | None:
    """One narrative with its representative statements, history and assignment counts per state."""
    n = session.get(Narrative, narrative_id)
    if n is None:
        return None
    out = narrative_summary(n)
    speaker, outlet = aliased(Actor), aliased(Actor)
    reps = []
    if n.representative_ids:
        rows = session.execute(
            select(Statement, speaker, outlet)
            .outerjoin(speaker, speaker.id == Statement.speaker_id)
            .outerjoin(outlet, outlet.id == Statement.outlet_id)
            .where(Statement.id.in_(list(n.representative_ids)))
        )
        by_id = {st.id: statement_dict(st, sp, ou) for st, sp, ou in rows}
        reps = [by_id[i] for i in n.representative_ids if i in by_id]
    out["representatives"] = reps
    out["merged_into"] = n.merged_into_id
    out["examples"] = list(n.examples or [])
    out["history"] = [
        {"kind": e.kind, "other_narrative_id": e.other_narrative_id, "detail": e.detail, "at": iso(e.created_at)}
        for e in session.scalars(select(NarrativeEvent).where(NarrativeEvent.narrative_id == narrative_id)
                                 .order_by(NarrativeEvent.id))
    ]
    counts = dict(session.execute(
        select(Assignment.state, func.count()).where(Assignment.narrative_id == narrative_id)
        .group_by(Assignment.state)).all())
    out["counts"] = {state: int(counts.get(state, 0)) for state in ASSIGNMENT_STATES}
    return out


def narrative_labels(session: Session, narrative_ids: set[int]) -> dict[int, str]:
    """Labels of the given narratives (e.g. those a history names)."""
    if not narrative_ids:
        return {}
    return dict(session.execute(select(Narrative.id, Narrative.label)
                                .where(Narrative.id.in_(sorted(narrative_ids)))).all())


def narrative_dates(session: Session, narrative_ids: list[int], flt: StatementFilter | None = None
                    ) -> dict[int, list[datetime]]:
    """Publication times of each narrative's current statements (filtered), for sparklines and flags."""
    out: dict[int, list[datetime]] = {nid: [] for nid in narrative_ids}
    if not narrative_ids:
        return out
    clauses = flt.clauses(with_text=False) if flt else []
    rows = session.execute(
        select(Assignment.narrative_id, Statement.published_at)
        .join(Statement, Statement.id == Assignment.statement_id)
        .where(Assignment.narrative_id.in_(narrative_ids), Assignment.state.in_(CURRENT_STATES),
               Statement.published_at.is_not(None), *clauses))
    for nid, published in rows:
        if published is not None:
            out[nid].append(published)
    return out
