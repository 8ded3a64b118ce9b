"""Stable narrative ids across re-clustering, with the history of what changed.

Full discovery re-clusters every statement, then matches each new cluster to an existing narrative
by membership overlap (Jaccard, or the share of the smaller side) and, failing that, by centroid
similarity; a match keeps the old id. What does not match is recorded: new clusters become new
narratives ("created", or "split_from" when most of their members came from a narrative that kept
its id elsewhere); old narratives whose members went to another become "merged" into it; the rest
are "retired". Narratives a researcher seeded, confirmed or edited (``locked``) are never dissolved:
they keep their members and their id whatever the clustering says.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tracker.config import NarrativesConfig
from tracker.db import Database
from tracker.models import Assignment, Narrative, NarrativeEvent, Statement, utcnow
from tracker.narratives.vectors import centroid_from_bytes, load_vectors, unit

log = logging.getLogger(__name__)

LIVE_STATUSES = ("emerging", "active", "dormant")


@dataclass
class DiscoveryReport:
    statements: int = 0
    clusters: int = 0
    kept: int = 0
    created: int = 0
    split: int = 0
    merged: int = 0
    retired: int = 0
    assigned: int = 0
    unassigned: int = 0
    previously_assigned: int = 0
    kept_assignment: int = 0  # previously assigned statements whose narrative id did not change
    seconds_fit: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stability(self) -> float:
        return self.kept_assignment / self.previously_assigned if self.previously_assigned else 1.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("events")
        out["stability"] = round(self.stability, 4)
        return out


def make_estimator(cfg: NarrativesConfig) -> Any:
    from tracker.narratives.discover import NarrativeDiscoverer

    return NarrativeDiscoverer(
        n_micro=cfg.n_micro or "auto",
        merge_threshold=1.0 - cfg.merge_threshold,  # the estimator speaks in cosine distance
        assign_threshold=cfg.discovery_assign_threshold,
        min_size=cfg.min_size,
        random_state=cfg.random_state,
    )


@dataclass
class _State:
    """Everything discovery needs, read once."""

    ids: np.ndarray
    X: np.ndarray
    current: dict[int, tuple[int, str]]  # statement -> (narrative, state) for assigned/confirmed
    rejected: set[tuple[int, int]]
    narratives: dict[int, Narrative]


def _read_state(session: Session, model: str) -> _State:
    ids, X = load_vectors(session, model)
    current: dict[int, tuple[int, str]] = {}
    rejected: set[tuple[int, int]] = set()
    for sid, nid, state in session.execute(
        select(Assignment.statement_id, Assignment.narrative_id, Assignment.state).where(
            Assignment.state.in_(("assigned", "confirmed", "rejected"))
        )
    ):
        if state == "rejected":
            rejected.add((sid, nid))
        else:
            current[sid] = (nid, state)
    narratives = {
        n.id: n for n in session.scalars(select(Narrative).where(Narrative.status.in_(LIVE_STATUSES)))
    }
    return _State(ids, X, current, rejected, narratives)


def _match_clusters(
    members: dict[int, np.ndarray],
    centroids: np.ndarray,
    state: _State,
    cfg: NarrativesConfig,
) -> tuple[dict[int, int], dict[int, int]]:
    """Map cluster index -> existing narrative id (kept ids), and narrative id -> its old member count."""
    old_members: Counter[int] = Counter(nid for nid, _ in state.current.values())
    pairs: list[tuple[float, int, int]] = []
    for c, sids in members.items():
        overlap = Counter(state.current[s][0] for s in sids.tolist() if s in state.current)
        for nid, count in overlap.items():
            if nid not in state.narratives:
                continue
            size_c, size_n = len(sids), old_members[nid]
            jaccard = count / (size_c + size_n - count)
            share = count / max(1, min(size_c, size_n))
            if jaccard >= cfg.match_overlap or share >= 0.5:
                pairs.append((float(count), c, nid))
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for _, c, nid in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if c not in matched and nid not in taken:
            matched[c] = nid
            taken.add(nid)
    # Centroid similarity for what membership could not decide (e.g. narratives whose members all moved).
    free_n = [nid for nid, n in state.narratives.items() if nid not in taken and n.centroid is not None]
    free_c = [c for c in members if c not in matched]
    if free_n and free_c:
        old = unit(np.vstack([centroid_from_bytes(state.narratives[nid].centroid) for nid in free_n]))
        if old.shape[1] == centroids.shape[1]:
            sims = centroids[free_c] @ old.T
            order = np.dstack(np.unravel_index(np.argsort(-sims, axis=None), sims.shape))[0]
            for ci, ni in order:
                if sims[ci, ni] < cfg.match_similarity:
                    break
                c, nid = free_c[ci], free_n[ni]
                if c not in matched and nid not in taken:
                    matched[c] = nid
                    taken.add(nid)
    return matched, dict(old_members)


def run_discovery(db: Database, cfg: NarrativesConfig, model: str, *, job_run_id: int | None = None,
                  estimator: Any = None) -> DiscoveryReport:
    """Re-cluster all statements with vectors for ``model`` and reconcile the narratives table."""
    import time

    report = DiscoveryReport()
    with db.reader() as session:
        state = _read_state(session, model)
    n = len(state.ids)
    report.statements = n
    if n == 0:
        return report

    estimator = estimator or make_estimator(cfg)
    started = time.perf_counter()
    estimator.fit(state.X)
    report.seconds_fit = time.perf_counter() - started
    labels = np.asarray(estimator.labels_)
    centroids = unit(np.asarray(estimator.centroids_, dtype=np.float32))
    members = {int(c): state.ids[labels == c] for c in np.unique(labels) if c >= 0}
    report.clusters = len(members)
    matched, old_sizes = _match_clusters(members, centroids, state, cfg)
    first_run = not state.narratives
    now = utcnow()

    with db.transaction() as session:
        locked = {nid for nid, nar in state.narratives.items() if nar.locked or nar.origin == "seeded"}
        cluster_narrative: dict[int, int] = {}
        for c in sorted(members):
            if c in matched:
                cluster_narrative[c] = matched[c]
                report.kept += 1
                continue
            nar = Narrative(label=f"narrative (cluster {c})", status="active" if first_run else "emerging",
                            origin="discovered", model=model)
            session.add(nar)
            session.flush()
            cluster_narrative[c] = nar.id
            source = Counter(state.current[s][0] for s in members[c].tolist() if s in state.current)
            parent, count = source.most_common(1)[0] if source else (None, 0)
            if parent is not None and count * 2 >= len(members[c]) and parent in matched.values():
                _event(session, nar.id, "split_from", parent, {"statements": count}, job_run_id)
                _event(session, parent, "split_into", nar.id, {"statements": count}, job_run_id)
                report.split += 1
            else:
                _event(session, nar.id, "created", None, {"size": int(len(members[c]))}, job_run_id)
            report.created += 1

        # Target narrative per statement.
        target: dict[int, int | None] = {}
        for c, sids in members.items():
            nid = cluster_narrative[c]
            for s in sids.tolist():
                target[s] = nid
        for s in state.ids.tolist():
            prev = state.current.get(s)
            if prev is not None and (prev[1] == "confirmed" or prev[0] in locked):
                target[s] = prev[0]  # researchers' decisions and locked narratives stay put
            elif target.get(s) is not None and (s, target[s]) in state.rejected:
                target[s] = None
            else:
                target.setdefault(s, None)

        # Old narratives that kept no cluster: merged, retired, or (locked) left alone.
        kept_ids = set(cluster_narrative.values())
        for nid in state.narratives:
            if nid in kept_ids or nid in locked:
                continue
            old = [s for s, (m, _) in state.current.items() if m == nid]
            went = Counter(target.get(s) for s in old if target.get(s) is not None)
            heir, count = went.most_common(1)[0] if went else (None, 0)
            if heir is not None and count * 2 >= max(1, old_sizes.get(nid, 0)):
                session.execute(update(Narrative).where(Narrative.id == nid).values(
                    status="merged", merged_into_id=heir, updated_at=now))
                _event(session, nid, "merged_into", heir, {"statements": count}, job_run_id)
                _event(session, heir, "merged_from", nid, {"statements": count}, job_run_id)
                report.merged += 1
            else:
                session.execute(update(Narrative).where(Narrative.id == nid).values(status="retired", updated_at=now))
                _event(session, nid, "retired", None, {"statements": len(old)}, job_run_id)
                report.retired += 1

        report.previously_assigned = len(state.current)
        report.kept_assignment = sum(1 for s, (m, _) in state.current.items() if target.get(s) == m)
        scores = _scores(state, target, members, centroids, cluster_narrative)
        _write_assignments(session, state, target, scores)
        report.assigned = sum(1 for v in target.values() if v is not None)
        report.unassigned = n - report.assigned
    refresh_narratives(db, cfg, model, set(kept_ids) | locked)
    return report


def _scores(state: _State, target: dict[int, int | None], members: dict[int, np.ndarray],
            centroids: np.ndarray, cluster_narrative: dict[int, int]) -> dict[int, float]:
    """Cosine of each assigned statement to its cluster centroid."""
    index = {int(s): i for i, s in enumerate(state.ids.tolist())}
    out: dict[int, float] = {}
    for c, sids in members.items():
        rows = [index[s] for s in sids.tolist()]
        sims = state.X[rows] @ centroids[c]
        for s, sim in zip(sids.tolist(), sims.tolist(), strict=True):
            if target.get(s) == cluster_narrative[c]:
                out[s] = float(sim)
    return out


def _write_assignments(session: Session, state: _State, target: dict[int, int | None],
                       scores: dict[int, float]) -> None:
    """Apply the difference between current and target assignments in bulk."""
    now = utcnow()
    drop: list[int] = []
    add: list[dict[str, Any]] = []
    rescore: list[dict[str, Any]] = []
    for s, nid in target.items():
        prev = state.current.get(s)
        if prev is not None and prev[0] == nid:
            if prev[1] == "assigned" and s in scores:
                rescore.append({"sid": s, "nid": nid, "score": scores[s]})
            continue
        if prev is not None and prev[1] == "assigned":
            drop.append(s)
        if nid is not None:
            add.append({"statement_id": s, "narrative_id": nid, "state": "assigned", "method": "discovery",
                        "score": scores.get(s), "created_at": now, "updated_at": now})
    for start in range(0, len(drop), 500):
        session.execute(delete(Assignment).where(Assignment.statement_id.in_(drop[start : start + 500]),
                                                 Assignment.state == "assigned"))
    now_current = [a["statement_id"] for a in add]
    for start in range(0, len(now_current), 500):  # a statement that now has a narrative needs no suggestion
        part = now_current[start : start + 500]
        session.execute(delete(Assignment).where(Assignment.statement_id.in_(part), Assignment.state == "suggested"))
    if add:
        # A suggested row for the same pair was just removed; insert fresh current rows.
        session.execute(Assignment.__table__.insert(), add)
    if rescore:
        session.execute(
            update(Assignment.__table__)
            .where(Assignment.statement_id == _bind("sid"), Assignment.narrative_id == _bind("nid"))
            .values(score=_bind("score")),
            rescore,
        )


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _event(session: Session, nid: int, kind: str, other: int | None, detail: dict[str, Any],
           job_run_id: int | None, user_id: int | None = None) -> None:
    session.add(NarrativeEvent(narrative_id=nid, kind=kind, other_narrative_id=other, detail=detail,
                               job_run_id=job_run_id, user_id=user_id))


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
                Assignment.state.in_(("assigned", "confirmed", "rejected")),
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
        dates = [info[s][2] for s in positives if s in info and info[s][2] is not None]
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
            nar = session.get(Narrative, values["id"])
            if nar is None:
                continue
            for key, value in values.items():
                if key != "id":
                    setattr(nar, key, value)
            nar.keywords = list(kw)
            if not nar.label_edited and nar.origin != "seeded":
                reps = [t for t in (_text_of(info, r) for r in values["representative_ids"]) if t]
                nar.label = describe.label(list(kw), reps or texts[:3])[:300] or nar.label


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


def discover_pool(db: Database, cfg: NarrativesConfig, model: str, pool_ids: list[int], *,
                  job_run_id: int | None = None, estimator: Any = None) -> int:
    """Cluster the unassigned pool alone and turn its groups into new *emerging* narratives.

    Existing narratives and their ids are not touched, which is what makes this safe to run after
    every incremental assignment. Returns how many narratives it created.
    """
    if len(pool_ids) < max(2 * cfg.min_size, 8):
        return 0
    with db.reader() as session:
        ids, X = load_vectors(session, model, pool_ids)
    if len(ids) < max(2 * cfg.min_size, 8):
        return 0
    estimator = estimator or make_estimator(cfg)
    estimator.fit(X)
    labels = np.asarray(estimator.labels_)
    centroids = unit(np.asarray(estimator.centroids_, dtype=np.float32))
    created: set[int] = set()
    now = utcnow()
    with db.transaction() as session:
        rows: list[dict[str, Any]] = []
        for c in sorted(int(c) for c in np.unique(labels) if c >= 0):
            mask = labels == c
            if int(mask.sum()) < cfg.min_size:
                continue
            nar = Narrative(label=f"emerging (cluster {c})", status="emerging", origin="discovered", model=model)
            session.add(nar)
            session.flush()
            created.add(nar.id)
            _event(session, nar.id, "created", None, {"size": int(mask.sum()), "from": "unassigned pool"}, job_run_id)
            sims = X[mask] @ centroids[c]
            for sid, sim in zip(ids[mask].tolist(), sims.tolist(), strict=True):
                rows.append({"statement_id": sid, "narrative_id": nar.id, "state": "assigned", "method": "discovery",
                             "score": float(sim), "created_at": now, "updated_at": now})
        if rows:
            sids = [r["statement_id"] for r in rows]
            for start in range(0, len(sids), 500):
                session.execute(delete(Assignment).where(Assignment.statement_id.in_(sids[start : start + 500]),
                                                         Assignment.state == "suggested"))
            session.execute(Assignment.__table__.insert(), rows)
    if created:
        refresh_narratives(db, cfg, model, created)
    return len(created)
