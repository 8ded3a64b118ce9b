"""Seeded narratives: a researcher names a narrative and gives examples; the statements that match join it.
The nearest statements show how the examples landed, and new examples tune it.

The examples' mean vector is the narrative's centroid. Statements from the *auto* level (their mean
similarity to the examples, on the corpus's scale: narratives.calibration) move in from weaker
automatic homes, those in the band from the *suggest* level are suggested for review, and confirmed
tags and rejections are left alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tracker import audit
from tracker.config import NarrativesConfig
from tracker.db import Database
from tracker.embed import Embedder
from tracker.errors import Refused
from tracker.models import Assignment, Narrative, NarrativeEvent, User, utcnow
from tracker.narratives.assign import AssignReport, recount
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.vectors import current_scale, load_vectors, narrative_mean, unit
from tracker.vocabulary import ASSIGNMENT_STATES, AUTOMATIC_STATES, CURRENT_STATES, LIVE_STATUSES

#: A statement with one of these rows for the seeded narrative is left as it is (only "assigned"
#: rows, which are the tracker's own guesses, are scored again).
_SETTLED = tuple(s for s in ASSIGNMENT_STATES if s != "assigned")


class SeedError(Refused):
    """A seeded narrative that cannot be made (no label, no example); ``field`` names the input."""


def add_seeded_narrative(db: Database, cfg: NarrativesConfig, embedder: Embedder, label: str,
                         description: str | None, examples: list[str], *, user: User | None = None
                         ) -> tuple[int, AssignReport]:
    """Create a researcher-defined narrative from examples and pull in the statements that match it."""
    label = label.strip()
    examples = [e.strip() for e in examples if e and e.strip()]
    if not label:
        raise SeedError("label is required", field="label")
    if not examples:
        raise SeedError("at least one example statement is required", field="examples")
    mean = np.asarray(embedder.embed(examples), dtype=np.float32).mean(axis=0)
    centroid = unit(mean[None, :])[0]
    with db.transaction() as session:
        nar = Narrative(label=label[:300], description=description, origin="seeded", status="active", locked=True,
                        label_edited=True, triage="tracked", centroid=centroid.tobytes(),
                        cohesion=float(np.linalg.norm(mean)), model=embedder.name, examples=examples)
        session.add(nar)
        session.flush()
        session.add(NarrativeEvent(narrative_id=nar.id, kind="seeded", detail={"examples": len(examples)},
                                   user_id=user.id if user else None))
        audit.record(session, user, "narrative.seed", "narrative", nar.id, None,
                     {"label": nar.label, "description": description, "examples": examples})
        nid = nar.id
    report = assign_to_narrative(db, cfg, embedder.name, nid)
    refresh_narratives(db, cfg, embedder.name, {nid})
    return nid, report


def update_examples(db: Database, cfg: NarrativesConfig, embedder: Embedder, nid: int, examples: list[str], *,
                    user: User | None = None) -> AssignReport:
    """Tune a seeded narrative: new examples, a new centroid from them, and its automatic members and
    suggestions scored again (researchers' confirmations and rejections stay)."""
    examples = [e.strip() for e in examples if e and e.strip()]
    if not examples:
        raise SeedError("at least one example statement is required", field="examples")
    mean = np.asarray(embedder.embed(examples), dtype=np.float32).mean(axis=0)
    with db.transaction() as session:
        nar = session.get(Narrative, nid)
        if nar is None:
            raise SeedError(f"narrative {nid} does not exist", kind="not_found")
        if nar.origin != "seeded" or nar.status not in LIVE_STATUSES:
            raise SeedError(f"narrative {nid} is not a live seeded narrative", kind="conflict", field="examples")
        old = list(nar.examples or [])
        nar.examples, nar.model = examples, embedder.name
        nar.centroid, nar.cohesion = unit(mean[None, :])[0].tobytes(), float(np.linalg.norm(mean))
        session.execute(delete(Assignment).where(Assignment.narrative_id == nid,
                                                 Assignment.state.in_(AUTOMATIC_STATES)))
        session.add(NarrativeEvent(narrative_id=nid, kind="examples", detail={"examples": len(examples)},
                                   user_id=user.id if user else None))
        audit.record(session, user, "narrative.examples", "narrative", nid, {"examples": old}, {"examples": examples})
        recount(session, [nid])
    report = assign_to_narrative(db, cfg, embedder.name, nid)
    refresh_narratives(db, cfg, embedder.name, {nid})
    return report


def nearest_statements(session: Session, cfg: NarrativesConfig, model: str, nid: int, *, limit: int = 20
                       ) -> list[tuple[int, float]]:
    """The ``limit`` statements nearest a narrative (a seeded one: its examples, with the members they
    pulled in), best first, with their level: what joins from ``auto_level``, is suggested from
    ``suggest_level``, and what just misses, so a researcher can tune the examples."""
    nar = session.get(Narrative, nid)
    mean = narrative_mean(nar) if nar is not None else None
    scale = current_scale(session, model, cfg)
    ids, X = load_vectors(session, model, scale=scale)
    if mean is None or len(ids) == 0 or mean.shape[0] != X.shape[1]:
        return []
    levels = np.asarray(scale.level(X @ mean))
    top = np.argsort(-levels, kind="stable")[:limit]
    return [(int(ids[i]), round(float(levels[i]), 3)) for i in top]


@dataclass
class _Pull:
    """What seeding changes: statements taken in (with their scores), rows suggested, homes they left."""

    take: dict[int, float]
    suggest: dict[int, float]
    losers: set[int]


def assign_to_narrative(db: Database, cfg: NarrativesConfig, model: str, nid: int) -> AssignReport:
    """Score every statement against one narrative: take those above *auto* from weaker automatic homes,
    suggest those in the band. Confirmed tags and rejections are left alone."""
    report = AssignReport()
    started = time.perf_counter()
    with db.reader() as session:
        nar = session.get(Narrative, nid)
        mean = narrative_mean(nar) if nar is not None else None
        scale = current_scale(session, model, cfg)
        ids, X = load_vectors(session, model, scale=scale)
        current = _current(session)
        settled = set(session.scalars(select(Assignment.statement_id).where(
            Assignment.narrative_id == nid, Assignment.state.in_(_SETTLED))))
    if mean is None or len(ids) == 0 or mean.shape[0] != X.shape[1]:
        return report
    sims = scale.level(X @ mean)
    report.candidates = len(ids)
    pull = _choose(cfg, nid, dict(zip(ids.tolist(), sims.tolist(), strict=True)), current, settled)
    with db.transaction() as session:
        _write(session, nid, pull)
    report.assigned, report.suggested = len(pull.take), len(pull.suggest)
    report.seconds = time.perf_counter() - started
    return report


def _current(session: Session) -> dict[int, tuple[int, str, float]]:
    """statement -> (narrative, state, score) of every current assignment."""
    return {
        sid: (n, st, score or 0.0)
        for sid, n, st, score in session.execute(
            select(Assignment.statement_id, Assignment.narrative_id, Assignment.state, Assignment.score).where(
                Assignment.state.in_(CURRENT_STATES)))
    }


def _choose(cfg: NarrativesConfig, nid: int, sims: dict[int, float], current: dict[int, tuple[int, str, float]],
            settled: set[int]) -> _Pull:
    pull = _Pull({}, {}, set())
    for sid, sim in sims.items():
        if sid in settled or sim < cfg.suggest_level:
            continue
        prev = current.get(sid)
        if prev is not None and (prev[1] == "confirmed" or prev[0] == nid):
            continue
        if sim >= cfg.auto_level and (prev is None or sim > prev[2]):
            pull.take[sid] = sim
            if prev is not None:
                pull.losers.add(prev[0])
        elif prev is None:
            pull.suggest[sid] = sim
    return pull


def _write(session: Session, nid: int, pull: _Pull) -> None:
    now = utcnow()
    take = sorted(pull.take)
    for start in range(0, len(take), 500):
        session.execute(delete(Assignment).where(Assignment.statement_id.in_(take[start : start + 500]),
                                                 Assignment.state.in_(AUTOMATIC_STATES)))
    rows: list[dict[str, Any]] = [
        {"statement_id": s, "narrative_id": nid, "state": "assigned", "method": "seed", "score": score,
         "created_at": now, "updated_at": now} for s, score in pull.take.items()]
    rows += [{"statement_id": s, "narrative_id": nid, "state": "suggested", "method": "suggest", "score": score,
              "created_at": now, "updated_at": now} for s, score in pull.suggest.items()]
    if rows:
        session.execute(insert(Assignment), rows)
    recount(session, pull.losers | {nid})  # the narratives that lost members shrink too
