"""Recompute what describes a narrative from its members: size, dates, centroid, cohesion, name.

Kept apart from registry.py (which decides *which* statements belong where) because assignment,
seeding and discovery all call it after they change membership.

Names follow the rules of tracker.narratives.describe, and stay put: a label a researcher edited is
never touched, and an automatic label changes only when the statement it was taken from stops
representing the narrative (it left, or is no longer among its ``LABEL_KEEP`` statements nearest the
centroid). Each change is recorded as a "relabelled" event with the old and the new label.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tracker.config import NarrativesConfig
from tracker.db import Database
from tracker.models import Actor, Assignment, Narrative, NarrativeEvent, Statement
from tracker.narratives import describe
from tracker.narratives.vectors import centroid_from_bytes, current_scale, load_vectors, unit
from tracker.vocabulary import CURRENT_OR_REJECTED, LIVE_STATUSES

LABEL_KEEP = 10  # an automatic label stays while its statement is among this many nearest the centroid
CONTEXT_PER_NARRATIVE = 3  # statements of each other narrative that phrase weights are measured against
PLACEHOLDER = re.compile(r"^(?:narrative|emerging) \(cluster \d+\)$")


@dataclass
class _Info:
    text: str
    language: str | None
    published_at: datetime | None
    speaker: str | None
    outlet: str | None


@dataclass
class _Members:
    """One narrative's statements: ``ordered`` from nearest its centroid, and what they say."""

    narrative: Narrative
    values: dict[str, Any]
    ordered: list[int] = field(default_factory=list)


def refresh_narratives(db: Database, cfg: NarrativesConfig, model: str, narrative_ids: set[int] | None = None) -> None:
    """Recompute size, dates, centroid, cohesion, key phrases, label, description and representatives.

    The centroid follows researchers (Rocchio): confirmed members count twice, rejected statements
    pull it away, so their tags steer later assignment.
    """
    with db.reader() as session:
        narratives = _narratives(session, narrative_ids)
        groups = _groups(session, [n.id for n in narratives])
        all_ids = sorted({s for g in groups.values() for ids in g.values() for s in ids})
        ids, X = load_vectors(session, model, all_ids, scale=current_scale(session, model, cfg))
        index = {int(s): i for i, s in enumerate(ids.tolist())}
        context_ids = _context(session, {n.id for n in narratives}) if narrative_ids is not None else []
        info = _info(session, sorted(set(all_ids) | set(context_ids)))
    members = [_measure(n, groups.get(n.id, {}), X, ids, index, info, cfg) for n in narratives]
    names = _describe(members, info, context_ids, cfg)
    with db.transaction() as session:
        for m, desc in zip(members, names, strict=True):
            _write(session, m, desc)


def _narratives(session: Session, narrative_ids: set[int] | None) -> list[Narrative]:
    query = select(Narrative).where(Narrative.status.in_(LIVE_STATUSES))
    if narrative_ids is not None:
        query = query.where(Narrative.id.in_(sorted(narrative_ids)))
    return list(session.scalars(query))


def _groups(session: Session, nids: list[int]) -> dict[int, dict[str, list[int]]]:
    """narrative -> state -> statement ids, for its current and rejected statements."""
    out: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for start in range(0, len(nids), 900):
        for nid, sid, st in session.execute(
            select(Assignment.narrative_id, Assignment.statement_id, Assignment.state).where(
                Assignment.narrative_id.in_(nids[start : start + 900]),
                Assignment.state.in_(CURRENT_OR_REJECTED),
            )
        ):
            out[nid][st].append(sid)
    return out


def _context(session: Session, refreshed: set[int]) -> list[int]:
    """Representative statements of the live narratives not being refreshed: a phrase common to them
    is not distinctive of the ones that are."""
    out: list[int] = []
    for nid, reps in session.execute(select(Narrative.id, Narrative.representative_ids).where(
            Narrative.status.in_(LIVE_STATUSES))):
        if nid not in refreshed:
            out.extend(int(s) for s in (reps or [])[:CONTEXT_PER_NARRATIVE])
    return out


def _measure(nar: Narrative, groups: dict[str, list[int]], X: np.ndarray, ids: np.ndarray,
             index: dict[int, int], info: dict[int, _Info], cfg: NarrativesConfig) -> _Members:
    """Size, dates, centroid, cohesion and representatives of one narrative."""
    positives = groups.get("assigned", []) + groups.get("confirmed", [])
    rows_pos = [index[s] for s in positives if s in index]
    rows_conf = [index[s] for s in groups.get("confirmed", []) if s in index]
    rows_neg = [index[s] for s in groups.get("rejected", []) if s in index]
    centroid = centroid_from_bytes(nar.centroid) if not rows_pos else _rocchio(nar, X, rows_pos, rows_conf, rows_neg)
    cohesion = nar.cohesion if not rows_pos else float(np.linalg.norm(X[rows_pos].mean(axis=0)))
    dates = [d for s in positives if s in info and (d := info[s].published_at) is not None]
    ordered: list[int] = []
    if centroid is not None and rows_pos:
        rows = sorted(rows_pos)
        sims = X[rows] @ (centroid / (np.linalg.norm(centroid) or 1.0))
        ordered = [int(ids[rows[i]]) for i in np.argsort(-sims, kind="stable")]
    values = {
        "size": len(positives),
        "first_seen_at": min(dates) if dates else None,
        "last_seen_at": max(dates) if dates else None,
        "centroid": None if centroid is None else unit(np.asarray(centroid)[None, :])[0].tobytes(),
        "cohesion": cohesion,
        "representative_ids": ordered[: cfg.representatives],
    }
    return _Members(nar, values, ordered)


def _rocchio(nar: Narrative, X: np.ndarray, rows_pos: list[int], rows_conf: list[int], rows_neg: list[int]
             ) -> np.ndarray:
    total = X[rows_pos].sum(axis=0) + (X[rows_conf].sum(axis=0) if rows_conf else 0)
    centroid = total / (len(rows_pos) + len(rows_conf))
    if nar.origin == "seeded" and nar.centroid is not None:
        seed = centroid_from_bytes(nar.centroid)
        if seed is not None and seed.shape == centroid.shape and nar.examples:
            centroid = centroid + seed * min(1.0, len(nar.examples) / max(1, len(rows_pos)))
    if rows_neg:
        centroid = centroid / np.linalg.norm(centroid) - 0.25 * unit(X[rows_neg].mean(axis=0)[None, :])[0]
    return np.asarray(centroid)


def _describe(members: list[_Members], info: dict[int, _Info], context_ids: list[int],
              cfg: NarrativesConfig) -> list[describe.Description]:
    """Names of every refreshed narrative, phrases weighed against the others' representatives too."""
    groups = [[s for s in m.ordered if s in info] for m in members]
    context = [s for s in context_ids if s in info]
    texts = [[info[s].text for s in g] for g in groups] + ([[info[s].text for s in context]] if context else [])
    langs = [[info[s].language for s in g] for g in groups] + ([[info[s].language for s in context]] if context else [])
    everyone = [i for g in groups for i in g]
    speakers = sorted({n for s in everyone if (n := info[s].speaker)})
    outlets = sorted({n for s in everyone if (n := info[s].outlet)})
    return describe.describe(texts, langs, top_n=cfg.keywords, speakers=speakers, outlets=outlets)[: len(members)]


def _write(session: Session, m: _Members, desc: describe.Description) -> None:
    row = session.get(Narrative, m.narrative.id)
    if row is None:
        return
    for key, value in m.values.items():
        setattr(row, key, value)
    row.keywords = list(desc.keywords)
    if row.label_edited or row.origin == "seeded" or desc.label_source is None:
        return
    source = m.ordered[desc.label_source] if desc.label_source < len(m.ordered) else None
    if row.label_source_id is not None and row.label_source_id in m.ordered[:LABEL_KEEP] \
            and not PLACEHOLDER.match(row.label or ""):
        return  # its statement still represents the narrative: the name stays
    old = row.label
    row.label = desc.label[:300] or row.label
    row.description = desc.description or row.description
    row.label_source_id = source
    if old != row.label and old and not PLACEHOLDER.match(old):
        session.add(NarrativeEvent(narrative_id=row.id, kind="relabelled",
                                   detail={"old": old, "new": row.label, "from_statement": source}))


def _info(session: Session, ids: list[int]) -> dict[int, _Info]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    out: dict[int, _Info] = {}
    for start in range(0, len(ids), 5_000):
        part = ids[start : start + 5_000]
        for sid, text, lang, published, who, where in session.execute(
            select(Statement.id, Statement.text, Statement.language, Statement.published_at, speaker.name,
                   outlet.name)
            .outerjoin(speaker, speaker.id == Statement.speaker_id)
            .outerjoin(outlet, outlet.id == Statement.outlet_id)
            .where(Statement.id.in_(part))
        ):
            out[sid] = _Info(text, lang, published, who, where)
    return out
