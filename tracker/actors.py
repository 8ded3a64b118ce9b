"""Actor aliases as researchers edit them: add a spelling, merge two actors, take suggestions.

Aliases live in the database (``actor_aliases``), so every later ingestion resolves the new
spelling to the same actor, and merging repoints the statements already stored, so timelines,
first movers and flows count one actor once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracker import audit
from tracker.errors import Refused
from tracker.ingest.store import actor_key, clean_name
from tracker.models import Actor, ActorAlias, Source, Statement, User


class ActorError(Refused):
    """An alias or merge request that cannot be applied; the message says why."""


def merge_actors(session: Session, keep_id: int, merge_id: int, *, user: User | None = None) -> Actor:
    """Fold actor ``merge_id`` into ``keep_id``: its statements, sources and spellings move over."""
    if keep_id == merge_id:
        raise ActorError("cannot merge an actor into itself")
    keep, gone = session.get(Actor, keep_id), session.get(Actor, merge_id)
    if keep is None or gone is None:
        raise ActorError(f"actor {keep_id if keep is None else merge_id} does not exist", kind="not_found")
    before = {"keep": keep.name, "merged": gone.name, "aliases": sorted(a.alias for a in gone.aliases)}
    session.execute(update(Statement).where(Statement.speaker_id == merge_id).values(speaker_id=keep_id))
    session.execute(update(Statement).where(Statement.outlet_id == merge_id).values(outlet_id=keep_id))
    session.execute(update(Source).where(Source.actor_id == merge_id).values(actor_id=keep_id))
    session.execute(update(Source).where(Source.outlet_id == merge_id).values(outlet_id=keep_id))
    session.execute(update(ActorAlias).where(ActorAlias.actor_id == merge_id).values(actor_id=keep_id))
    keep.country = keep.country or gone.country
    if keep.kind == "other":
        keep.kind = gone.kind
    keep.is_outlet = keep.is_outlet or gone.is_outlet
    session.expire(gone, ["aliases"])
    session.delete(gone)
    session.flush()
    session.refresh(keep)
    audit.record(session, user, "actor.merge", "actor", keep_id, before, {"keep": keep.name})
    return keep


def add_alias(session: Session, actor_id: int, alias: str, *, user: User | None = None) -> Actor:
    """Teach the tracker another spelling of an actor; an actor already known by it is merged in."""
    actor = session.get(Actor, actor_id)
    if actor is None:
        raise ActorError(f"actor {actor_id} does not exist", kind="not_found")
    alias = clean_name(alias)
    key = actor_key(alias)
    if not key:
        raise ActorError("alias is empty (markup is not part of a name)", field="alias")
    owner = session.scalar(select(ActorAlias).where(ActorAlias.key == key))
    if owner is not None:
        if owner.actor_id == actor_id:
            return actor
        return merge_actors(session, actor_id, owner.actor_id, user=user)
    session.add(ActorAlias(actor_id=actor_id, alias=alias, key=key[:300], origin="manual"))
    session.flush()
    audit.record(session, user, "actor.alias", "actor", actor_id, None, {"alias": alias})
    session.refresh(actor)
    return actor


def suggestions(session: Session, *, limit: int = 50, min_score: float = 0.75) -> list[dict[str, Any]]:
    """Pairs of actors that are probably one, best first, for a researcher to confirm."""
    from tracker.analysis.actors import suggest_aliases

    actors = list(session.execute(select(Actor.id, Actor.name, Actor.is_outlet)))
    by_name: dict[str, list[tuple[int, bool]]] = {}
    for aid, name, is_outlet in actors:
        by_name.setdefault(name, []).append((aid, is_outlet))
    out = []
    for a, b, score, reason in suggest_aliases([name for _, name, _ in actors], min_score=min_score):
        for aid, a_outlet in by_name.get(a, []):
            for bid, b_outlet in by_name.get(b, []):
                if aid != bid and a_outlet == b_outlet:
                    out.append({"keep": {"id": aid, "name": a}, "merge": {"id": bid, "name": b},
                                "score": round(float(score), 3), "reason": reason})
    return out[:limit]


def apply_alias_rules(session: Session, rules: dict[str, list[str]], *, user: User | None = None) -> dict[str, Any]:
    """Apply ``{canonical name: [other spellings]}`` (e.g. from a TOML file); returns what changed.

    Spellings already seen as separate actors are merged into the canonical one; new spellings are
    remembered for future ingestion. A canonical name not seen yet is skipped and reported.
    """
    applied: list[str] = []
    skipped: list[str] = []
    for canonical, spellings in rules.items():
        owner = session.scalar(select(ActorAlias.actor_id).where(ActorAlias.key == actor_key(clean_name(canonical))))
        if owner is None:
            skipped.append(canonical)
            continue
        for spelling in spellings:
            add_alias(session, owner, spelling, user=user)
            applied.append(f"{spelling} -> {canonical}")
    return {"applied": applied, "skipped": skipped}
