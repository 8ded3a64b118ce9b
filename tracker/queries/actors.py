"""Actors for every face: a list by name, one actor with the narratives they carried and their spellings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tracker.models import Actor, ActorAlias, Assignment, Narrative, Statement
from tracker.queries.filters import StatementFilter, actors_named
from tracker.queries.rows import iso
from tracker.queries.statements import list_statements
from tracker.vocabulary import CURRENT_STATES


def actor_summary(a: Actor) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "kind": a.kind, "country": a.country, "affiliation": a.affiliation,
            "is_outlet": a.is_outlet}


def _counts(session: Session, ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """How many statements each actor spoke, and how many they published."""
    if not ids:
        return {}, {}
    spoken = session.execute(select(Statement.speaker_id, func.count()).where(Statement.speaker_id.in_(ids))
                             .group_by(Statement.speaker_id))
    published = session.execute(select(Statement.outlet_id, func.count()).where(Statement.outlet_id.in_(ids))
                                .group_by(Statement.outlet_id))
    return ({int(k): int(n) for k, n in spoken if k is not None},
            {int(k): int(n) for k, n in published if k is not None})


def actor_view(session: Session, actor: Actor) -> dict[str, Any]:
    """An actor with its other spellings and how many statements it spoke and published."""
    spoken, published = _counts(session, [actor.id])
    return {
        **actor_summary(actor), "aliases": sorted(a.alias for a in actor.aliases if a.alias != actor.name),
        "statements_spoken": spoken.get(actor.id, 0), "statements_published": published.get(actor.id, 0),
    }


def list_actors(session: Session, *, q: str | None = None, kind: str | None = None, country: str | None = None,
                outlet: bool | None = None, limit: int | None = 50,
                after: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    """Actors by name (then id) with their other spellings and statement counts, keyset-paginated (``limit``
    None: all); ``q`` matches the name or any other spelling."""
    query = select(Actor)
    if q:
        query = query.where(Actor.id.in_(actors_named(q)))
    if kind:
        query = query.where(Actor.kind == kind)
    if country:
        query = query.where(Actor.country == country.strip().upper())
    if outlet is not None:
        query = query.where(Actor.is_outlet.is_(outlet))
    if after is not None:
        name, last_id = after
        query = query.where(or_(Actor.name > name, and_(Actor.name == name, Actor.id > last_id)))
    actors = list(session.scalars(query.order_by(Actor.name, Actor.id).limit(limit)))
    ids = [a.id for a in actors]
    spoken, published = _counts(session, ids)
    spellings: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 900):
        for actor_id, alias in session.execute(select(ActorAlias.actor_id, ActorAlias.alias)
                                               .where(ActorAlias.actor_id.in_(ids[start : start + 900]))):
            spellings[actor_id].append(alias)
    return [{**actor_summary(a), "aliases": sorted(s for s in spellings[a.id] if s != a.name),
             "statements_spoken": spoken.get(a.id, 0), "statements_published": published.get(a.id, 0)}
            for a in actors]


def actor_detail(session: Session, actor_id: int, *, recent: int = 10, narratives: int | None = 20
                 ) -> dict[str, Any] | None:
    """One actor: spellings, counts, first and last statement, the narratives they spoke or published in
    (most statements first, at most ``narratives``; None for all) and their ``recent`` newest statements."""
    actor = session.get(Actor, actor_id)
    if actor is None:
        return None
    out = actor_view(session, actor)
    said = or_(Statement.speaker_id == actor_id, Statement.outlet_id == actor_id)
    first, last = session.execute(select(func.min(Statement.published_at), func.max(Statement.published_at))
                                  .where(said)).one()
    out["first_seen_at"], out["last_seen_at"] = iso(first), iso(last)
    query = (select(Narrative.id, Narrative.label, Narrative.status, func.count(Statement.id),
                    func.min(Statement.published_at), func.max(Statement.published_at))
             .join(Assignment, Assignment.narrative_id == Narrative.id)
             .join(Statement, Statement.id == Assignment.statement_id)
             .where(said, Assignment.state.in_(CURRENT_STATES))
             .group_by(Narrative.id, Narrative.label, Narrative.status)
             .order_by(func.count(Statement.id).desc(), Narrative.id))
    if narratives is not None:
        query = query.limit(narratives)
    out["narratives"] = [
        {"id": nid, "label": label, "status": status, "statements": int(n), "first_seen_at": iso(start),
         "last_seen_at": iso(end)}
        for nid, label, status, n, start, end in session.execute(query)]
    out["recent_statements"] = list_statements(session, StatementFilter(actor_id=actor_id), limit=recent)
    return out


def actor_dates(session: Session, actor_id: int) -> list[datetime]:
    """When the actor spoke or published, for the activity chart."""
    return [d for d in session.scalars(select(Statement.published_at).where(
        or_(Statement.speaker_id == actor_id, Statement.outlet_id == actor_id),
        Statement.published_at.is_not(None))) if d is not None]
