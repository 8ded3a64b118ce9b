"""Read models shared by the dashboard, the JSON API and the CLI: plain dicts, keyset pagination.

Nothing here writes; every function takes a session and returns JSON-ready data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, NarrativeEvent, Statement

LIVE = ("emerging", "active", "dormant")
CURRENT = ("assigned", "confirmed")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def narrative_summary(n: Narrative) -> dict[str, Any]:
    return {
        "id": n.id,
        "label": n.label,
        "description": n.description,
        "status": n.status,
        "origin": n.origin,
        "size": n.size,
        "keywords": list(n.keywords or []),
        "first_seen_at": iso(n.first_seen_at),
        "last_seen_at": iso(n.last_seen_at),
        "locked": n.locked,
    }


def list_narratives(session: Session, *, status: str | None = None, q: str | None = None, limit: int = 50,
                    after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Live narratives by most recent activity (undated last), keyset-paginated on (last_seen_at, id)."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Narrative.label).like(like), func.lower(Narrative.description).like(like)))
    if after is not None:
        last_seen, last_id = after
        if last_seen is None:
            query = query.where(Narrative.last_seen_at.is_(None), Narrative.id < last_id)
        else:
            seen = datetime.fromisoformat(last_seen)
            query = query.where(or_(Narrative.last_seen_at < seen,
                                    and_(Narrative.last_seen_at == seen, Narrative.id < last_id),
                                    Narrative.last_seen_at.is_(None)))
    query = query.order_by(Narrative.last_seen_at.desc().nulls_last(), Narrative.id.desc()).limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


def statement_dict(st: Statement, speaker: Actor | None, outlet: Actor | None) -> dict[str, Any]:
    return {
        "id": st.id,
        "external_id": st.external_id,
        "published_at": iso(st.published_at),
        "actor": speaker.name if speaker else None,
        "actor_id": speaker.id if speaker else None,
        "kind": speaker.kind if speaker else (outlet.kind if outlet else None),
        "outlet": outlet.name if outlet else None,
        "outlet_id": outlet.id if outlet else None,
        "country": st.country,
        "language": st.language,
        "title": st.title,
        "text": st.text,
        "url": st.url,
    }


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
