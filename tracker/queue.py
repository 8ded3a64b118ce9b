"""The researchers' tagging queue: which statements need a decision, in what order, with which choices.

Statements with suggestions come first: those suggested for a *tracked* narrative before those
suggested only for candidates, and within each, the one whose best suggestion is closest to the
*auto* level first (the cheapest decisions that teach the most); then statements nobody has placed
yet. A statement with a current narrative, one a researcher dismissed as about no narrative, one
suggested only for narratives marked "not a narrative", or one already rejected everywhere it was
suggested, has left the queue. Each item carries up to nine numbered candidate narratives: its
suggestions, then the live narratives it scores highest on, never one it was rejected from nor one
marked "not a narrative"; a candidate scoring below the suggest level is flagged ``below`` so the page
asks before accepting it. Scores are levels (narratives.calibration). Read-only: decisions go
through :func:`tracker.narratives.tags.tag_statement`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from tracker.config import NarrativesConfig
from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.narratives.assign import load_means
from tracker.narratives.vectors import current_scale, load_vectors
from tracker.vocabulary import CURRENT_STATES, LIVE_STATUSES, TAGGED_STATES

log = logging.getLogger(__name__)

MAX_CANDIDATES = 9


@dataclass
class QueueItem:
    """One statement to decide on, as plain data for the page's script."""

    statement: dict[str, Any]
    kind: str  # "suggested" or "unassigned"
    key: str  # the position cursor: pass it as ``after`` to continue behind this item
    current: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "kind": self.kind, "key": self.key, "current": self.current,
                "candidates": self.candidates}


def _has_current() -> Any:
    cur = aliased(Assignment)
    return exists().where(cur.statement_id == Statement.id, cur.state.in_(CURRENT_STATES))


def _open_narrative() -> Any:
    """A narrative suggestions may point to: live, and not marked "not a narrative"."""
    return and_(Narrative.status.in_(LIVE_STATUSES), Narrative.triage != "not_narrative")


def _suggested_query(cfg: NarrativesConfig) -> Any:
    """(statement id, tier, gap to the auto level) for statements waiting on suggestions; tier 0 when
    one of them is for a tracked narrative."""
    best = func.max(Assignment.score)
    gap = func.abs(cfg.auto_level - func.coalesce(best, 0.0))
    tier = func.min(case((Narrative.triage == "tracked", 0), else_=1))
    return (select(Assignment.statement_id.label("sid"), tier.label("tier"), gap.label("gap"))
            .join(Statement, Statement.id == Assignment.statement_id)
            .join(Narrative, Narrative.id == Assignment.narrative_id)
            .where(Assignment.state == "suggested", ~_has_current(), _open_narrative(),
                   Statement.off_topic.is_(False))
            .group_by(Assignment.statement_id))


def _unassigned_query() -> Any:
    """Statements with no assignment row at all (never placed, suggested or decided), not dismissed."""
    return select(Statement.id).where(~exists().where(Assignment.statement_id == Statement.id),
                                      Statement.off_topic.is_(False))


def parse_key(key: str | None) -> tuple[str, int, float, int] | None:
    """``"s:<tier>:<gap>:<id>"`` or ``"u:<id>"`` -> (part, tier, gap, id); anything malformed starts over."""
    if not key:
        return None
    parts = key.split(":")
    try:
        if parts[0] == "s" and len(parts) == 4:
            return ("s", int(parts[1]), float(parts[2]), int(parts[3]))
        if parts[0] == "u" and len(parts) == 2:
            return ("u", 0, 0.0, int(parts[1]))
    except ValueError:
        return None
    return None


def queue_positions(session: Session, cfg: NarrativesConfig, *, limit: int = 25,
                    after: str | None = None) -> list[tuple[int, str, str]]:
    """(statement id, kind, key) of the next ``limit`` queue entries behind ``after``."""
    out: list[tuple[int, str, str]] = []
    pos = parse_key(after)
    if pos is None or pos[0] == "s":
        sub = _suggested_query(cfg).subquery()
        query = select(sub.c.sid, sub.c.tier, sub.c.gap)
        if pos is not None:
            _, tier, gap, sid = pos
            query = query.where((sub.c.tier > tier) | and_(sub.c.tier == tier, sub.c.gap > gap)
                                | and_(sub.c.tier == tier, sub.c.gap == gap, sub.c.sid > sid))
        for sid, tier, gap in session.execute(query.order_by(sub.c.tier, sub.c.gap, sub.c.sid).limit(limit)):
            out.append((int(sid), "suggested", f"s:{int(tier)}:{float(gap)!r}:{int(sid)}"))
    if len(out) < limit:
        query = _unassigned_query()
        if pos is not None and pos[0] == "u":
            query = query.where(Statement.id < pos[3])
        for sid in session.scalars(query.order_by(Statement.id.desc()).limit(limit - len(out))):
            out.append((int(sid), "unassigned", f"u:{int(sid)}"))
    return out


def queue_counts(session: Session, cfg: NarrativesConfig) -> dict[str, int]:
    """How many statements wait in the queue, and how many researchers have decided on (tagged or
    dismissed): the numbers the page shows, read with the same rules as the queue itself."""
    suggested = session.scalar(select(func.count()).select_from(_suggested_query(cfg).subquery())) or 0
    unassigned = session.scalar(select(func.count()).select_from(_unassigned_query().subquery())) or 0
    tagged = exists().where(Assignment.statement_id == Statement.id, Assignment.method == "manual",
                            Assignment.state.in_(TAGGED_STATES))
    done = session.scalar(select(func.count(Statement.id)).where(tagged | Statement.off_topic.is_(True))) or 0
    return {"remaining": int(suggested) + int(unassigned), "suggested": int(suggested),
            "unassigned": int(unassigned), "done": int(done)}


def _statement_rows(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    rows = session.execute(
        select(Statement, speaker.name, outlet.name)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .where(Statement.id.in_(ids or [-1])))
    return {st.id: {"id": st.id, "text": st.text, "title": st.title, "actor": sp, "outlet": ou,
                    "country": st.country, "language": st.language,
                    "published_at": st.published_at.isoformat() if st.published_at else None, "url": st.url}
            for st, sp, ou in rows}


def describe(session: Session, cfg: NarrativesConfig, model: str, positions: list[tuple[int, str, str]],
             *, means: tuple[np.ndarray, np.ndarray] | None = None) -> list[QueueItem]:
    """Queue items for the given positions: statement, current narrative and numbered candidates."""
    ids = [p[0] for p in positions]
    if not ids:
        return []
    statements = _statement_rows(session, ids)
    rows: dict[int, list[Assignment]] = {i: [] for i in ids}
    for a in session.scalars(select(Assignment).where(Assignment.statement_id.in_(ids))):
        rows[a.statement_id].append(a)
    live = {nid: (label, triage) for nid, label, triage in session.execute(
        select(Narrative.id, Narrative.label, Narrative.triage).where(Narrative.status.in_(LIVE_STATUSES)))}
    levels = _levels(session, cfg, model, ids, means)
    items = []
    for sid, kind, key in positions:
        if sid in statements:
            items.append(QueueItem(statement=statements[sid], kind=kind, key=key,
                                   current=_current(rows[sid], live), candidates=_candidates(
                                       rows[sid], live, levels.get(sid), cfg)))
    return items


def _levels(session: Session, cfg: NarrativesConfig, model: str, ids: list[int],
            means: tuple[np.ndarray, np.ndarray] | None) -> dict[int, list[tuple[int, float]]]:
    """statement -> (narrative, level) for every live narrative, best first."""
    nids, M = means if means is not None else load_means(session, model)
    scale = current_scale(session, model, cfg)
    vec_ids, X = load_vectors(session, model, ids, scale=scale)
    if not len(nids) or not len(vec_ids) or M.shape[1] != X.shape[1]:
        return {}
    scores = scale.level(X @ M.T)
    out: dict[int, list[tuple[int, float]]] = {}
    for i, s in enumerate(vec_ids.tolist()):
        order = np.argsort(-scores[i], kind="stable")
        out[int(s)] = [(int(nids[j]), float(scores[i][j])) for j in order]
    return out


def _current(mine: list[Assignment], live: dict[int, tuple[str, str]]) -> dict[str, Any] | None:
    row = next((a for a in mine if a.state in CURRENT_STATES), None)
    if row is None:
        return None
    return {"id": row.narrative_id, "label": live.get(row.narrative_id, ("", ""))[0], "state": row.state,
            "score": _round(row.score)}


def _candidates(mine: list[Assignment], live: dict[int, tuple[str, str]], levels: list[tuple[int, float]] | None,
                cfg: NarrativesConfig) -> list[dict[str, Any]]:
    """Suggestions by score, then the narratives the statement scores highest on; never rejected ones
    nor ones marked "not a narrative"."""
    seen = {a.narrative_id for a in mine if a.state == "rejected"}
    seen |= {nid for nid, (_, triage) in live.items() if triage == "not_narrative"}
    ranked = [(a.narrative_id, a.score, True) for a in sorted(
        (a for a in mine if a.state == "suggested"), key=lambda a: -(a.score or 0.0))]
    ranked += [(nid, level, False) for nid, level in (levels or [])]
    out: list[dict[str, Any]] = []
    for nid, score, suggested in ranked:
        if nid in seen or nid not in live or len(out) >= MAX_CANDIDATES:
            continue
        seen.add(nid)
        label, triage = live[nid]
        out.append({"id": nid, "label": label, "score": _round(score), "suggested": suggested,
                    "tracked": triage == "tracked", "below": score is None or score < cfg.suggest_level})
    return out


def queue_page(session: Session, cfg: NarrativesConfig, model: str, *, limit: int = 25,
               after: str | None = None) -> list[QueueItem]:
    """The next ``limit`` queue items behind ``after``."""
    return describe(session, cfg, model, queue_positions(session, cfg, limit=limit, after=after))


def statement_item(session: Session, cfg: NarrativesConfig, model: str, statement_id: int) -> QueueItem | None:
    """One statement as a queue item, wherever it stands (after a decision, or opened directly)."""
    if session.get(Statement, statement_id) is None:
        return None
    found = describe(session, cfg, model, [(statement_id, "direct", "")])
    return found[0] if found else None


def similar_statements(session: Session, model: str, statement_id: int, *, threshold: float, limit: int = 50,
                       narrative_id: int | None = None, action: str = "confirm") -> list[dict[str, Any]]:
    """Statements whose vectors are closest to this one's (cosine >= ``threshold``), for a bulk decision.

    Statements a researcher already decided on are left out (a bulk action never overrides a
    person), and so are those the decision would not change: for *confirm*, statements already in
    ``narrative_id``; for *reject*, statements neither in nor suggested for it.
    """
    ids, X = load_vectors(session, model)
    where = np.nonzero(ids == statement_id)[0]
    if len(where) == 0:
        return []
    scores = X @ X[where[0]]
    scores[where[0]] = -np.inf
    order = [i for i in np.argsort(-scores, kind="stable")[: max(limit * 4, 200)] if scores[i] >= threshold]
    wanted = [int(ids[i]) for i in order]
    if not wanted:
        return []
    rows: dict[int, list[Assignment]] = {i: [] for i in wanted}
    for start in range(0, len(wanted), 900):
        part = wanted[start : start + 900]
        for a in session.scalars(select(Assignment).where(Assignment.statement_id.in_(part))):
            rows[a.statement_id].append(a)
    labels = dict(session.execute(select(Narrative.id, Narrative.label)).all())
    keep: list[tuple[int, float, dict[str, Any] | None]] = []
    for i in order:
        sid = int(ids[i])
        mine = rows[sid]
        if any(a.method == "manual" for a in mine):
            continue
        cur = next((a for a in mine if a.state in CURRENT_STATES), None)
        if narrative_id is not None:
            if action == "confirm" and cur is not None and cur.narrative_id == narrative_id:
                continue
            if action == "reject" and not any(a.narrative_id == narrative_id and a.state != "rejected" for a in mine):
                continue
        current = None if cur is None else {"id": cur.narrative_id, "label": labels.get(cur.narrative_id, "")}
        keep.append((sid, float(scores[i]), current))
        if len(keep) >= limit:
            break
    statements = _statement_rows(session, [k[0] for k in keep])
    return [{"statement": statements[sid], "similarity": _round(sim), "current": cur} for sid, sim, cur in keep
            if sid in statements]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
