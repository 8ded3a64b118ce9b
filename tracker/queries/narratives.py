"""Narratives for lists, search and detail pages: who is live, what they contain, when they were active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, NarrativeEvent, Statement
from tracker.queries.filters import CURRENT, LIVE, StatementFilter, keyset_desc, like_escape, like_pattern
from tracker.queries.rows import iso, narrative_summary, statement_dict


def by_recent_activity(query: Select[Any], after: tuple[str | None, int] | None) -> Select[Any]:
    """Order narratives by last activity (undated last), continuing after the keyset ``after``."""
    if after is not None:
        query = query.where(keyset_desc(Narrative.last_seen_at, Narrative.id, after))
    return query.order_by(Narrative.last_seen_at.desc().nulls_last(), Narrative.id.desc())


def list_narratives(session: Session, *, status: str | None = None, q: str | None = None, limit: int = 50,
                    after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Live narratives by most recent activity (undated last), keyset-paginated on (last_seen_at, id)."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Narrative.label).like(like), func.lower(Narrative.description).like(like)))
    query = by_recent_activity(query, after).limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


def narrative_statements(session: Session, narrative_id: int, *, limit: int | None = None,
                         offset: int = 0) -> list[dict[str, Any]]:
    """The narrative's statements in time order (undated last) with who said them."""
    speaker, outlet = aliased(Actor), aliased(Actor)
    query = (
        select(Statement, speaker, outlet, Assignment.state, Assignment.score)
        .join(Assignment, Assignment.statement_id == Statement.id)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .where(Assignment.narrative_id == narrative_id, Assignment.state.in_(CURRENT))
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
        ).all()
        by_id = {st.id: statement_dict(st, sp, ou) for st, sp, ou in rows}
        reps = [by_id[i] for i in n.representative_ids if i in by_id]
    out["representatives"] = reps
    out["merged_into"] = n.merged_into_id
    out["history"] = [
        {"kind": e.kind, "other_narrative_id": e.other_narrative_id, "detail": e.detail, "at": iso(e.created_at)}
        for e in session.scalars(select(NarrativeEvent).where(NarrativeEvent.narrative_id == narrative_id)
                                 .order_by(NarrativeEvent.id))
    ]
    counts = dict(session.execute(
        select(Assignment.state, func.count()).where(Assignment.narrative_id == narrative_id)
        .group_by(Assignment.state)).all())
    out["counts"] = {state: int(counts.get(state, 0)) for state in ("assigned", "confirmed", "suggested", "rejected")}
    return out


def search_narratives(session: Session, *, status: str | None = None, country: str | None = None,
                      actor: int | None = None, since: datetime | None = None, until: datetime | None = None,
                      q: str | None = None, limit: int = 50,
                      after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Narratives by recent activity; country/actor/since/until keep those with a matching statement."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if q:
        query = query.where(or_(func.lower(Narrative.label).like(like_pattern(q)),
                                func.lower(Narrative.description).like(like_pattern(q))))
    conds = []
    if country:
        conds.append(Statement.country == country.upper())
    if actor is not None:
        conds.append(or_(Statement.speaker_id == actor, Statement.outlet_id == actor))
    if since is not None:
        conds.append(Statement.published_at >= since)
    if until is not None:
        conds.append(Statement.published_at <= until)
    if conds:
        member = (select(Assignment.id).join(Statement, Statement.id == Assignment.statement_id)
                  .where(Assignment.narrative_id == Narrative.id, Assignment.state.in_(CURRENT), *conds))
        query = query.where(member.exists())
    keyset = keyset_desc(Narrative.last_seen_at, Narrative.id, after)
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Narrative.last_seen_at.desc().nulls_last(), Narrative.id.desc()).limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


def overview_narratives(session: Session, flt: StatementFilter, *, limit: int = 25,
                        after: tuple[str | None, int] | None = None, status: str | None = None
                        ) -> list[dict[str, Any]]:
    """Live narratives by last activity, keyset-paginated; with filters, only those with a matching statement."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if flt.q:
        like = f"%{like_escape(flt.q.lower())}%"
        query = query.where(or_(func.lower(Narrative.label).like(like, escape="\\"),
                                func.lower(Narrative.description).like(like, escape="\\")))
    clauses = flt.clauses(with_text=False)
    if clauses:
        query = query.where(select(Assignment.id).join(Statement, Statement.id == Assignment.statement_id)
                            .where(Assignment.narrative_id == Narrative.id, Assignment.state.in_(CURRENT),
                                   *clauses).exists())
    query = by_recent_activity(query, after).limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


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
        .where(Assignment.narrative_id.in_(narrative_ids), Assignment.state.in_(CURRENT),
               Statement.published_at.is_not(None), *clauses))
    for nid, published in rows:
        if published is not None:
            out[nid].append(published)
    return out
