"""Recompute what describes a narrative from its members: size, dates, centroid, keywords, label.

Kept apart from registry.py (which decides *which* statements belong where) because assignment,
seeding and discovery all call it after they change membership.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import NarrativesConfig
from tracker.db import Database
from tracker.models import Assignment, Narrative, Statement
from tracker.narratives.vectors import centroid_from_bytes, load_vectors, unit
from tracker.vocabulary import CURRENT_OR_REJECTED, LIVE_STATUSES


def refresh_narratives(db: Database, cfg: NarrativesConfig, model: str, narrative_ids: set[int] | None = None) -> None:
    """Recompute size, dates, centroid, keywords, label and representatives of narratives.

    The centroid follows researchers (Rocchio): confirmed members count twice, rejected statements
    pull it away, so their tags steer later assignment.
    """
    from tracker.narratives import describe

    with db.reader() as session:
        query = select(Narrative).where(Narrative.status.in_(LIVE_STATUSES))
        if narrative_ids is not None:
            query = query.where(Narrative.id.in_(sorted(narrative_ids)))
        narratives = list(session.scalars(query))
        rows = session.execute(
            select(Assignment.narrative_id, Assignment.statement_id, Assignment.state).where(
                Assignment.narrative_id.in_([n.id for n in narratives]),
                Assignment.state.in_(CURRENT_OR_REJECTED),
            )
        ).all()
        by_narrative: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for nid, sid, st in rows:
            by_narrative[nid][st].append(sid)
        all_ids = sorted({sid for _, sid, _ in rows})
        ids, X = load_vectors(session, model, all_ids)
        index = {int(s): i for i, s in enumerate(ids.tolist())}
        info = _info_chunked(session, all_ids)

    updates: list[dict[str, Any]] = []
    texts_by: list[list[str]] = []
    langs_by: list[list[str | None]] = []
    order: list[int] = []
    for nar in narratives:
        groups = by_narrative.get(nar.id, {})
        positives = groups.get("assigned", []) + groups.get("confirmed", [])
        rows_pos = [index[s] for s in positives if s in index]
        rows_conf = [index[s] for s in groups.get("confirmed", []) if s in index]
        rows_neg = [index[s] for s in groups.get("rejected", []) if s in index]
        centroid = centroid_from_bytes(nar.centroid) if not rows_pos else None
        if rows_pos:
            total = X[rows_pos].sum(axis=0) + (X[rows_conf].sum(axis=0) if rows_conf else 0)
            centroid = total / (len(rows_pos) + len(rows_conf))
            if nar.origin == "seeded" and nar.centroid is not None:
                seed = centroid_from_bytes(nar.centroid)
                if seed is not None and seed.shape == centroid.shape and nar.examples:
                    centroid = centroid + seed * min(1.0, len(nar.examples) / max(1, len(rows_pos)))
            if rows_neg:
                centroid = centroid / np.linalg.norm(centroid) - 0.25 * unit(X[rows_neg].mean(axis=0)[None, :])[0]
        dates = [when for s in positives if s in info and (when := info[s][2]) is not None]
        members_sorted = sorted(rows_pos)
        reps: list[int] = []
        if centroid is not None and members_sorted:
            c = centroid / (np.linalg.norm(centroid) or 1.0)
            sims = X[members_sorted] @ c
            best = np.argsort(-sims, kind="stable")[: cfg.representatives]
            reps = [int(ids[members_sorted[i]]) for i in best]
        updates.append({
            "id": nar.id,
            "size": len(positives),
            "first_seen_at": min(dates) if dates else None,
            "last_seen_at": max(dates) if dates else None,
            "centroid": None if centroid is None else unit(np.asarray(centroid)[None, :])[0].tobytes(),
            "representative_ids": reps,
        })
        texts_by.append([info[s][0] for s in positives if s in info])
        langs_by.append([info[s][1] for s in positives if s in info])
        order.append(nar.id)

    keywords = describe.keywords(texts_by, languages=langs_by, top_n=cfg.keywords) if texts_by else []
    with db.transaction() as session:
        for values, kw, texts in zip(updates, keywords, texts_by, strict=True):
            row = session.get(Narrative, values["id"])
            if row is None:
                continue
            for key, value in values.items():
                if key != "id":
                    setattr(row, key, value)
            row.keywords = list(kw)
            if not row.label_edited and row.origin != "seeded":
                rep_texts = [t for t in (_text_of(info, r) for r in values["representative_ids"]) if t]
                row.label = describe.label(list(kw), rep_texts or texts[:3])[:300] or row.label


def _text_of(info: dict[int, tuple[str, str | None, datetime | None]], sid: int) -> str | None:
    row = info.get(sid)
    return row[0] if row else None


def _info_chunked(session: Session, ids: list[int]) -> dict[int, tuple[str, str | None, datetime | None]]:
    out: dict[int, tuple[str, str | None, datetime | None]] = {}
    for start in range(0, len(ids), 5_000):
        part = ids[start : start + 5_000]
        for sid, text, lang, published in session.execute(
            select(Statement.id, Statement.text, Statement.language, Statement.published_at).where(
                Statement.id.in_(part))
        ):
            out[sid] = (text, lang, published)
    return out
