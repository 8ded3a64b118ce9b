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


def by_recent_activity(query: Select[Any], after: tuple[str | None, int] | None) -> Select[Any]:
    """Order narratives by last activity (undated last), continuing after the keyset ``after``."""
    if after is not None:
        last_seen, last_id = after
        if last_seen is None:
            query = query.where(Narrative.last_seen_at.is_(None), Narrative.id < last_id)
        else:
            seen = datetime.fromisoformat(last_seen)
            query = query.where(or_(Narrative.last_seen_at < seen,
                                    and_(Narrative.last_seen_at == seen, Narrative.id < last_id),
                                    Narrative.last_seen_at.is_(None)))
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


# ---------------------------------------------------------------- the JSON API's read models

def _keyset_desc(time_col: Any, id_col: Any, after: tuple[str | None, int] | None) -> Any:
    """Rows after ``after`` in (time desc, nulls last, id desc) order."""
    if after is None:
        return None
    when, last_id = after
    if when is None:
        return and_(time_col.is_(None), id_col < last_id)
    seen = datetime.fromisoformat(when)
    return or_(time_col < seen, and_(time_col == seen, id_col < last_id), time_col.is_(None))


def _like(value: str) -> str:
    return f"%{value.strip().lower()}%"


def search_narratives(session: Session, *, status: str | None = None, country: str | None = None,
                      actor: int | None = None, since: datetime | None = None, until: datetime | None = None,
                      q: str | None = None, limit: int = 50,
                      after: tuple[str | None, int] | None = None) -> list[dict[str, Any]]:
    """Narratives by recent activity; country/actor/since/until keep those with a matching statement."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if q:
        query = query.where(or_(func.lower(Narrative.label).like(_like(q)),
                                func.lower(Narrative.description).like(_like(q))))
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
    keyset = _keyset_desc(Narrative.last_seen_at, Narrative.id, after)
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Narrative.last_seen_at.desc().nulls_last(), Narrative.id.desc()).limit(limit)
    return [narrative_summary(n) for n in session.scalars(query)]


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
        query = query.where(func.lower(Statement.text).like(_like(q)))
    keyset = _keyset_desc(Statement.published_at, Statement.id, after)
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


def embedding_models(session: Session, statement_id: int) -> list[str]:
    """Models that have a vector for this statement's text."""
    from tracker.models import Embedding

    return list(session.scalars(select(Embedding.model).join(Statement, Statement.text_hash == Embedding.text_hash)
                                .where(Statement.id == statement_id).order_by(Embedding.model)))


def nearest(session: Session, vector: Any, model: str, *, limit: int = 10,
            exclude: int | None = None) -> list[tuple[int, float]]:
    """Statements closest to ``vector`` by cosine, brute force over every stored vector of ``model``."""
    import numpy as np

    from tracker.narratives.vectors import load_vectors

    ids, X = load_vectors(session, model)
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if len(ids) == 0 or X.shape[1] != v.shape[0]:
        return []
    norm = float(np.linalg.norm(v))
    scores = X @ (v / norm if norm else v)
    if exclude is not None:
        scores[ids == exclude] = -np.inf
    k = min(limit, len(ids))
    top = np.argpartition(-scores, k - 1)[:k] if len(ids) > k else np.arange(len(ids))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(ids[i]), round(float(scores[i]), 4)) for i in top if np.isfinite(scores[i])]


def statement_vector(session: Session, statement_id: int, model: str) -> Any:
    from tracker.narratives.vectors import load_vectors

    ids, X = load_vectors(session, model, [statement_id])
    return X[0] if len(ids) else None


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
                                              func.lower(ActorAlias.alias).like(_like(q)))
        query = query.where(or_(func.lower(Actor.name).like(_like(q)), spelled.exists()))
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


def audit_view(e: Any) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.at), "user_id": e.user_id, "user": e.actor_name, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "old": e.old, "new": e.new}


def list_audit(session: Session, *, object_type: str | None = None, object_id: str | None = None,
               user: str | None = None, action: str | None = None, limit: int = 50,
               before_id: int | None = None) -> list[dict[str, Any]]:
    """The audit trail, newest first, keyset-paginated on id."""
    from tracker.models import AuditEvent

    query = select(AuditEvent)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if user:
        query = query.where(AuditEvent.actor_name == user)
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return [audit_view(e) for e in session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))]


# ---------------------------------------------------------------- dashboard read models
# Filters shared by the overview, statement search and exports; appended for the dashboard (issue 7).


class StatementFilter:
    """What a reader narrows statements by: country, actor, language, dates, narrative, words.

    Empty values mean "any". ``actor`` matches speaker or outlet names (substring), ``actor_id``
    either role exactly; dates are inclusive days in UTC.
    """

    FIELDS = ("country", "actor", "actor_id", "language", "since", "until", "narrative_id", "q")

    def __init__(self, *, country: str | None = None, actor: str | None = None, actor_id: int | None = None,
                 language: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 narrative_id: int | None = None, q: str | None = None) -> None:
        self.country = (country or "").strip().upper() or None
        self.actor = (actor or "").strip() or None
        self.actor_id = actor_id
        self.language = (language or "").strip().lower() or None
        self.since, self.until = since, until
        self.narrative_id = narrative_id
        self.q = (q or "").strip() or None

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self.FIELDS)

    def active(self) -> bool:
        return any(v is not None for v in self.key())

    def clauses(self, *, with_text: bool = True) -> list[Any]:
        """WHERE clauses over ``Statement`` (the narrative clause needs the caller's join)."""
        out: list[Any] = []
        if self.country:
            out.append(Statement.country == self.country)
        if self.language:
            out.append(Statement.language == self.language)
        if self.since is not None:
            out.append(Statement.published_at >= self.since)
        if self.until is not None:
            out.append(Statement.published_at < self.until)
        if self.actor_id is not None:
            out.append(or_(Statement.speaker_id == self.actor_id, Statement.outlet_id == self.actor_id))
        if self.actor:
            ids = select(Actor.id).where(func.lower(Actor.name).like(f"%{_like_escape(self.actor.lower())}%",
                                                                    escape="\\"))
            out.append(or_(Statement.speaker_id.in_(ids), Statement.outlet_id.in_(ids)))
        if with_text and self.q:
            out.append(func.lower(Statement.text).like(f"%{_like_escape(self.q.lower())}%", escape="\\"))
        return out


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever statements, assignments or narratives change: a key for per-process caches."""
    return tuple(session.execute(select(
        select(func.max(Statement.id)).scalar_subquery(),
        select(func.count(Assignment.id)).scalar_subquery(),
        select(func.max(Assignment.updated_at)).scalar_subquery(),
        select(func.max(Narrative.updated_at)).scalar_subquery(),
    )).one())


def overview_narratives(session: Session, flt: StatementFilter, *, limit: int = 25,
                        after: tuple[str | None, int] | None = None, status: str | None = None
                        ) -> list[dict[str, Any]]:
    """Live narratives by last activity, keyset-paginated; with filters, only those with a matching statement."""
    query: Select[Any] = select(Narrative)
    query = query.where(Narrative.status == status) if status else query.where(Narrative.status.in_(LIVE))
    if flt.q:
        like = f"%{_like_escape(flt.q.lower())}%"
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


def filter_choices(session: Session) -> dict[str, list[str]]:
    """Countries and languages present in the data, for the filter forms."""
    countries = session.scalars(select(Statement.country).where(Statement.country.is_not(None))
                                .distinct().order_by(Statement.country))
    languages = session.scalars(select(Statement.language).where(Statement.language.is_not(None))
                                .distinct().order_by(Statement.language))
    return {"countries": [c for c in countries if c], "languages": [lang for lang in languages if lang]}


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
        published, last_id = after
        if published is None:
            query = query.where(Statement.published_at.is_(None), Statement.id < last_id)
        else:
            at = datetime.fromisoformat(published)
            query = query.where(or_(Statement.published_at < at,
                                    and_(Statement.published_at == at, Statement.id < last_id),
                                    Statement.published_at.is_(None)))
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


def actor_list(session: Session, *, q: str | None = None, country: str | None = None, kind: str | None = None,
               limit: int = 100, after: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    """Actors by name with how many statements they spoke or published, keyset on (name, id)."""
    query: Select[Any] = select(Actor)
    if q:
        query = query.where(func.lower(Actor.name).like(f"%{_like_escape(q.strip().lower())}%", escape="\\"))
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
