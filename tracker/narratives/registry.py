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

import gc
import logging
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tracker.config import NarrativesConfig
from tracker.db import Database
from tracker.models import Assignment, Narrative, NarrativeEvent, utcnow
from tracker.narratives.calibration import Calibration, calibrate, save_scale
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.vectors import current_scale, load_vectors, load_vectors_and_languages, narrative_mean
from tracker.vocabulary import CURRENT_OR_REJECTED, LIVE_STATUSES

log = logging.getLogger(__name__)

# Margins, like every cut, are levels: background standard deviations (narratives.calibration).
# How much closer a new cluster must be before full discovery moves an automatically assigned
# statement out of its live narrative. Measured by bench/stability.py.
STICKY_MARGIN = 1.0
# How far below the join level an automatically assigned statement may fall and still stay put.
STAY_MARGIN = 0.3
# How much more than the merge level two narratives need before discovery records a merge.
MERGE_MARGIN = 0.4
COLLECT_FROM = 100_000  # statements from which full discovery runs a full garbage collection (see run_discovery)


@dataclass
class DiscoveryReport:
    """What a full discovery did: clusters found, narratives kept, created, split, merged and retired,
    statements placed, and how many kept their narrative (``stability``)."""

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


def make_estimator(cfg: NarrativesConfig, scale: Calibration | None = None) -> Any:
    """The configured discoverer; with ``scale``, its levels are measured on that background."""
    from tracker.narratives.discover import NarrativeDiscoverer

    return NarrativeDiscoverer(
        n_micro=cfg.n_micro or "auto",
        merge_level=cfg.merge_level,
        join_level=cfg.join_level,
        min_size=cfg.min_size,
        background=None if scale is None else (scale.mean, scale.sd),
        random_state=cfg.random_state,
    )


@dataclass
class _State:
    """Everything discovery needs, read once."""

    ids: np.ndarray
    X: np.ndarray  # unit vectors with their language offsets removed
    scale: Calibration
    current: dict[int, tuple[int, str]]  # statement -> (narrative, state) for assigned/confirmed
    rejected: set[tuple[int, int]]
    narratives: dict[int, Narrative]


def neutralise(X: np.ndarray, languages: list[str | None], cfg: NarrativesConfig,
               scale: Calibration | None = None) -> tuple[np.ndarray, Calibration]:
    """The space discovery clusters in: ``X`` (changed in place) without its language offsets, and the
    scale measured there (or ``scale`` when given). bench/quality.py calls this too, so the benchmark
    measures what the product does."""
    if scale is None:
        scale = calibrate(X, languages, random_state=cfg.random_state, prior=cfg.language_prior)
    return scale.neutral(X, languages, copy=False), scale


def _read_state(session: Session, model: str, cfg: NarrativesConfig, scale: Calibration | None) -> _State:
    ids, X, languages = load_vectors_and_languages(session, model, topical=True)
    X, scale = neutralise(X, languages, cfg, scale)
    del languages
    current: dict[int, tuple[int, str]] = {}
    rejected: set[tuple[int, int]] = set()
    for sid, nid, state in session.execute(
        select(Assignment.statement_id, Assignment.narrative_id, Assignment.state).where(
            Assignment.state.in_(CURRENT_OR_REJECTED)
        )
    ):
        if state == "rejected":
            rejected.add((sid, nid))
        else:
            current[sid] = (nid, state)
    narratives = {
        n.id: n for n in session.scalars(select(Narrative).where(Narrative.status.in_(LIVE_STATUSES)))
    }
    return _State(ids, X, scale, current, rejected, narratives)


def _is_locked(nar: Narrative) -> bool:
    """Confirmed or edited by a researcher, or seeded by one: never dissolved by discovery."""
    return bool(nar.locked) or nar.origin == "seeded"


def _match_clusters(
    members: dict[int, np.ndarray],
    means: np.ndarray,
    state: _State,
    cfg: NarrativesConfig,
) -> tuple[dict[int, int], dict[int, int]]:
    """Map cluster index -> existing narrative id (kept ids), and narrative id -> its old member count."""
    old_members: Counter[int] = Counter(nid for nid, _ in state.current.values())
    pairs: list[tuple[float, int, int]] = []
    for c, sids in members.items():
        overlap = Counter(state.current[s][0] for s in sids.tolist() if s in state.current)
        for nid, count in overlap.items():
            if nid not in state.narratives or _is_locked(state.narratives[nid]):
                continue  # locked narratives keep exactly their members; a cluster never speaks for them
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
    # For what membership could not decide (e.g. narratives whose members all moved): a cluster and an
    # old narrative whose statements are, on average, as similar as groups that discovery merges.
    free_n = [nid for nid, n in state.narratives.items()
              if nid not in taken and n.centroid is not None and not _is_locked(n)]
    free_c = [c for c in members if c not in matched]
    if free_n and free_c:
        old = np.vstack([narrative_mean(state.narratives[nid]) for nid in free_n])
        if old.shape[1] == means.shape[1]:
            sims = state.scale.level(means[free_c] @ old.T)
            order = np.dstack(np.unravel_index(np.argsort(-sims, axis=None), sims.shape))[0]
            for ci, ni in order:
                if sims[ci, ni] < cfg.merge_level + MERGE_MARGIN:
                    break
                c, nid = free_c[ci], free_n[ni]
                if c not in matched and nid not in taken:
                    matched[c] = nid
                    taken.add(nid)
    return matched, dict(old_members)


def run_discovery(db: Database, cfg: NarrativesConfig, model: str, *, job_run_id: int | None = None,
                  estimator: Any = None, scale: Calibration | None = None) -> DiscoveryReport:
    """Re-cluster all statements with vectors for ``model`` and reconcile the narratives table.

    The similarity scale is measured on the corpus (narratives.calibration) unless ``scale`` is given."""
    import time

    report = DiscoveryReport()
    with db.reader() as session:
        state = _read_state(session, model, cfg, scale)
    report.statements = len(state.ids)
    if len(state.ids) == 0:
        return report

    estimator = estimator or make_estimator(cfg, state.scale)
    started = time.perf_counter()
    estimator.fit(state.X)
    report.seconds_fit = time.perf_counter() - started
    labels = np.asarray(estimator.labels_)
    means = np.asarray(estimator.means_, dtype=np.float32)
    members = {int(c): state.ids[labels == c] for c in np.unique(labels) if c >= 0}
    report.clusters = len(members)
    matched, old_sizes = _match_clusters(members, means, state, cfg)
    plan = _Plan(state, cfg, labels, means, matched)
    first_run = not state.narratives

    with db.transaction() as session:
        save_scale(session, model, state.scale, len(state.ids))
        new_ids = _create_narratives(session, plan, model, first_run, job_run_id, report)
        target = {s: (new_ids[k] if k is not None and k < 0 else k) for s, k in plan.target.items()}
        kept_ids = {nid for nid in target.values() if nid is not None}
        _merge_or_retire(session, state, plan.locked, kept_ids, target, old_sizes, job_run_id, report)
        report.kept = len(kept_ids & set(state.narratives))
        report.previously_assigned = len(state.current)
        report.kept_assignment = sum(1 for s, (m, _) in state.current.items() if target.get(s) == m)
        _write_assignments(session, state, target, plan.scores())
        report.assigned = sum(1 for v in target.values() if v is not None)
        report.unassigned = len(state.ids) - report.assigned
    to_refresh = kept_ids | plan.locked
    # Free the vectors and the per-statement maps before the refresh loads vectors again: at 1M
    # statements each copy is 1.5 GB, and holding both is what would break the 4 GiB budget. The full
    # collection is skipped for small runs: with a model loaded it walks millions of objects (0.24 s
    # of a 7,299-statement `tracker run`) to free a few megabytes.
    del state, plan, target, members, labels, estimator
    if report.statements >= COLLECT_FROM:
        gc.collect()
    refresh_narratives(db, cfg, model, to_refresh)
    return report


class _Plan:
    """Where each statement goes, as a *key*: an existing narrative id (> 0), a new cluster (< 0:
    ``-(cluster + 1)``) or None (unassigned). Built in steps, each a small method.

    Every comparison is a level (narratives.calibration): a statement's mean similarity to a group's
    statements (its dot product with the group's mean vector) on the corpus's background scale."""

    def __init__(self, state: _State, cfg: NarrativesConfig, labels: np.ndarray, means: np.ndarray,
                 matched: dict[int, int]) -> None:
        self.state, self.cfg = state, cfg
        self.row = {int(s): i for i, s in enumerate(state.ids.tolist())}
        self.matched = set(matched.values())
        self.locked = {nid for nid, nar in state.narratives.items() if _is_locked(nar)}
        self.mean: dict[int, np.ndarray] = {}
        for c in range(means.shape[0]):
            self.mean[matched.get(c, -(c + 1))] = means[c]
        for nid, nar in state.narratives.items():
            vec = narrative_mean(nar)
            if nid not in self.mean and vec is not None and vec.shape[0] == state.X.shape[1]:
                self.mean[nid] = vec
        self.target: dict[int, int | None] = {
            int(s): (None if c < 0 else matched.get(int(c), -(int(c) + 1)))
            for s, c in zip(state.ids.tolist(), labels.tolist(), strict=True)
        }
        self._keep_decisions()
        self._stick()
        self._dissolve_small_new()

    def _level(self, s: int, key: int | None) -> float:
        """Statement ``s``'s level towards group ``key`` (-inf when the group has no mean vector)."""
        if key is None or key not in self.mean:
            return -np.inf
        return float(self.state.scale.level(float(self.state.X[self.row[s]] @ self.mean[key])))

    def _keep_decisions(self) -> None:
        """Researchers' decisions and locked narratives stay put; rejected pairs never form."""
        for s, (nid, st) in self.state.current.items():
            if s in self.target and (st == "confirmed" or nid in self.locked):
                self.target[s] = nid
        for s, key in self.target.items():
            if key is not None and key > 0 and (s, key) in self.state.rejected:
                self.target[s] = None

    def _stick(self) -> None:
        """Hysteresis: an automatically assigned statement stays in its live narrative unless the
        new clustering puts it somewhere clearly closer (by more than ``STICKY_MARGIN`` levels).
        Joining needs the join level; staying needs ``STAY_MARGIN`` less: a lower bar to stay than to
        enter is the hysteresis.

        Re-clustering from scratch moves statements that sit between two narratives back and forth
        (on EUvsDisinfo only ~73% would keep their id even with the best possible matching); a move
        needs evidence. A narrative no cluster matched holds on to its members only if at least
        ``min_size`` of them stay and it is not clearly one with the group that took most of them.
        """
        stays: dict[int, list[int]] = defaultdict(list)
        keep_bar = self.cfg.join_level - STAY_MARGIN
        for s, (nid, st) in self.state.current.items():
            key = self.target.get(s)
            if st != "assigned" or key == nid or nid not in self.mean or (s, nid) in self.state.rejected:
                continue
            own = self._level(s, nid)
            if own >= keep_bar and own >= self._level(s, key) - STICKY_MARGIN:
                stays[nid].append(s)
        for nid, sids in stays.items():
            if nid in self.matched or (len(sids) >= self.cfg.min_size and not self._merges(nid)):
                for s in sids:
                    self.target[s] = nid

    def _merges(self, nid: int) -> bool:
        """Whether an unmatched narrative really joined another: most of its members went to one
        group and the two are, on average, clearly similar (the merge level plus ``MERGE_MARGIN``)."""
        mine = [s for s, (m, _) in self.state.current.items() if m == nid]
        went = Counter(self.target.get(s) for s in mine if self.target.get(s) is not None)
        if not went:
            return False
        heir, count = min(went.items(), key=lambda kv: (-kv[1], kv[0]))
        if count * 2 < len(mine):
            return False
        mine_set = set(mine)
        theirs = [s for s, k in self.target.items() if k == heir and s not in mine_set]
        if not theirs:
            return True
        a = self.state.X[[self.row[s] for s in mine]].sum(axis=0)
        b = self.state.X[[self.row[s] for s in theirs]].sum(axis=0)
        mean_similarity = float(a @ b) / (len(mine) * len(theirs))
        return bool(self.state.scale.level(mean_similarity) >= self.cfg.merge_level + MERGE_MARGIN)

    def _dissolve_small_new(self) -> None:
        """A new cluster left with fewer than ``min_size`` statements (its old members stayed home)
        is no narrative: its statements join the nearest surviving one that reaches the join level."""
        sizes = Counter(k for k in self.target.values() if k is not None)
        small = {k for k, n in sizes.items() if k < 0 and n < self.cfg.min_size}
        if not small:
            return
        keys = sorted(k for k in sizes if k not in small and k in self.mean)
        orphans = [s for s, k in self.target.items() if k in small]
        if not keys:
            for s in orphans:
                self.target[s] = None
            return
        levels = self.state.scale.level(
            self.state.X[[self.row[s] for s in orphans]] @ np.vstack([self.mean[k] for k in keys]).T)
        for s, row in zip(orphans, levels, strict=True):
            order = np.argsort(-row, kind="stable")
            pick = next((keys[j] for j in order if row[j] >= self.cfg.join_level
                         and (s, keys[j]) not in self.state.rejected), None)
            self.target[s] = pick

    def scores(self) -> dict[int, float]:
        """Each placed statement's level towards the group it joined in this run (the stored score)."""
        return {s: self._level(s, key) for s, key in self.target.items()
                if key is not None and key in self.mean}


def _create_narratives(session: Session, plan: _Plan, model: str, first_run: bool, job_run_id: int | None,
                       report: DiscoveryReport) -> dict[int, int]:
    """A narrative per new cluster that kept members; "split_from" when most of its previously
    assigned statements came from a narrative that lives on. Returns key -> new narrative id."""
    state = plan.state
    used = sorted({k for k in plan.target.values() if k is not None and k < 0}, reverse=True)
    living = {k for k in plan.target.values() if k is not None and k > 0} | plan.locked
    out: dict[int, int] = {}
    for key in used:
        c = -key - 1
        sids = [s for s, k in plan.target.items() if k == key]
        nar = Narrative(label=f"narrative (cluster {c})", status="active" if first_run else "emerging",
                        origin="discovered", model=model)
        session.add(nar)
        session.flush()
        out[key] = nar.id
        source = Counter(state.current[s][0] for s in sids if s in state.current)
        parent, count = source.most_common(1)[0] if source else (None, 0)
        if parent is not None and count * 2 >= len(sids) and parent in living:
            _event(session, nar.id, "split_from", parent, {"statements": count}, job_run_id)
            _event(session, parent, "split_into", nar.id, {"statements": count}, job_run_id)
            report.split += 1
        else:
            _event(session, nar.id, "created", None, {"size": len(sids)}, job_run_id)
        report.created += 1
    return out


def _merge_or_retire(session: Session, state: _State, locked: set[int], kept_ids: set[int],
                     target: dict[int, int | None], old_sizes: dict[int, int], job_run_id: int | None,
                     report: DiscoveryReport) -> None:
    """Old narratives left with no statement: merged into the one that took most of them, else retired."""
    now = utcnow()
    for nid in sorted(state.narratives):
        if nid in kept_ids or nid in locked:
            continue
        old = [s for s, (m, _) in state.current.items() if m == nid]
        went = Counter(target.get(s) for s in old if target.get(s) is not None)
        heir, count = min(went.items(), key=lambda kv: (-kv[1], kv[0])) if went else (None, 0)
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


def discover_pool(db: Database, cfg: NarrativesConfig, model: str, pool_ids: list[int], *,
                  job_run_id: int | None = None, estimator: Any = None) -> int:
    """Cluster the unassigned pool alone and turn its groups into new *emerging* narratives.

    Existing narratives and their ids are not touched, which is what makes this safe to run after
    every incremental assignment. Returns how many narratives it created.
    """
    if len(pool_ids) < max(2 * cfg.min_size, 8):
        return 0
    with db.reader() as session:
        scale = current_scale(session, model, cfg)
        ids, X = load_vectors(session, model, pool_ids, scale=scale)
    if len(ids) < max(2 * cfg.min_size, 8):
        return 0
    estimator = estimator or make_estimator(cfg, scale)  # the corpus's scale, not the leftovers'
    estimator.fit(X)
    labels = np.asarray(estimator.labels_)
    means = np.asarray(estimator.means_, dtype=np.float32)
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
            levels = scale.level(X[mask] @ means[c])
            for sid, sim in zip(ids[mask].tolist(), levels.tolist(), strict=True):
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


__all__ = ["STICKY_MARGIN", "DiscoveryReport", "discover_pool", "make_estimator", "neutralise", "run_discovery"]
