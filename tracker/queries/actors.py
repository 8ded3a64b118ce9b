"""Actors for the API and the dashboard: lists by name, one actor with the narratives they carried."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.queries.filters import CURRENT, like_escape, like_pattern
from tracker.queries.rows import iso
from tracker.queries.statements import list_statements


def actor_summary(a: Actor) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "kind": a.kind, "country": a.country, "affiliation": a.affiliation,
            "is_outlet": a.is_outlet}


def list_actors(session: Session, *, q: str | None = None, kind: str | None = None, country: str | None = None,
                outlet: bool | None = None, limit: int = 50,
                after: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    """Actors by name (then id), keyset-paginated; ``q`` matches the name or any other spelling."""
    from tracker.models import ActorAlias

    query = select(Actor)
    if q:
        spelled = select(ActorAlias.id).where(ActorAlias.actor_id == Actor.id,
                                              func.lower(ActorAlias.alias).like(like_pattern(q)))
        query = query.where(or_(func.lower(Actor.name).like(like_pattern(q)), spelled.exists()))
    if kind:
        query = query.where(Actor.kind == kind)
    if country:
        query = query.where(Actor.country == country.upper())
    if outlet is not None:
        query = query.where(Actor.is_outlet.is_(outlet))
    if after is not None:
        name, last_id = after
        query = query.where(or_(Actor.name > name, and_(Actor.name == name, Actor.id > last_id)))
    query = query.order_by(Actor.name, Actor.id).limit(limit)
    return [actor_summary(a) for a in session.scalars(query)]


def actor_detail(session: Session, actor_id: int) -> dict[str, Any] | None:
    from tracker.actors import actor_view

    actor = session.get(Actor, actor_id)
    if actor is None:
        return None
    out = {**actor_summary(actor), **actor_view(session, actor)}
    said = or_(Statement.speaker_id == actor_id, Statement.outlet_id == actor_id)
    first, last = session.execute(select(func.min(Statement.published_at), func.max(Statement.published_at))
                                  .where(said)).one()
    out["first_seen_at"], out["last_seen_at"] = iso(first), iso(last)
    out["narratives"] = [
        {"id": nid, "label": label, "status": status, "statements": int(count)}
        for nid, label, status, count in session.execute(
            select(Narrative.id, Narrative.label, Narrative.status, func.count(Assignment.id))
            .join(Assignment, Assignment.narrative_id == Narrative.id)
            .join(Statement, Statement.id == Assignment.statement_id)
            .where(said, Assignment.state.in_(CURRENT))
            .group_by(Narrative.id, Narrative.label, Narrative.status)
            .order_by(func.count(Assignment.id).desc(), Narrative.id).limit(20))
    ]
    out["recent_statements"] = list_statements(session, actor=actor_id, limit=10)
    return out


def actor_list(session: Session, *, q: str | None = None, country: str | None = None, kind: str | None = None,
               limit: int = 100, after: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    """Actors by name with how many statements they spoke or published, keyset on (name, id)."""
    query: Select[Any] = select(Actor)
    if q:
        query = query.where(func.lower(Actor.name).like(f"%{like_escape(q.strip().lower())}%", escape="\\"))
    if country:
        query = query.where(Actor.country == country.strip().upper())
    if kind:
        query = query.where(Actor.kind == kind)
    if after is not None:
        query = query.where(or_(Actor.name > after[0], and_(Actor.name == after[0], Actor.id > after[1])))
    actors = list(session.scalars(query.order_by(Actor.name, Actor.id).limit(limit)))
    ids = [a.id for a in actors]
    spoken = dict(session.execute(select(Statement.speaker_id, func.count()).where(Statement.speaker_id.in_(ids))
                                  .group_by(Statement.speaker_id)).all()) if ids else {}
    published = dict(session.execute(select(Statement.outlet_id, func.count()).where(Statement.outlet_id.in_(ids))
                                     .group_by(Statement.outlet_id)).all()) if ids else {}
    return [{"id": a.id, "name": a.name, "kind": a.kind, "country": a.country, "is_outlet": a.is_outlet,
             "statements_spoken": int(spoken.get(a.id, 0)), "statements_published": int(published.get(a.id, 0))}
            for a in actors]


def actor_narratives(session: Session, actor_id: int) -> list[dict[str, Any]]:
    """Narratives the actor spoke or published in: statements, first and last time, most first."""
    rows = session.execute(
        select(Narrative.id, Narrative.label, Narrative.status, func.count(Statement.id),
               func.min(Statement.published_at), func.max(Statement.published_at))
        .join(Assignment, Assignment.narrative_id == Narrative.id)
        .join(Statement, Statement.id == Assignment.statement_id)
        .where(Assignment.state.in_(CURRENT),
               or_(Statement.speaker_id == actor_id, Statement.outlet_id == actor_id))
        .group_by(Narrative.id, Narrative.label, Narrative.status)
        .order_by(func.count(Statement.id).desc(), Narrative.id))
    return [{"id": nid, "label": label, "status": status, "statements": int(n), "first": first, "last": last}
            for nid, label, status, n, first, last in rows]


def actor_dates(session: Session, actor_id: int) -> list[datetime]:
    """When the actor spoke or published, for the activity chart."""
    return list(session.scalars(select(Statement.published_at).where(
        or_(Statement.speaker_id == actor_id, Statement.outlet_id == actor_id),
        Statement.published_at.is_not(None))))
