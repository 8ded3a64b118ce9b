"""Narrative discovery: cluster statement embeddings into narratives with an sklearn-style estimator.

Two stages keep memory linear in the number of statements. MiniBatchKMeans first over-clusters the
unit vectors into many small "micro" clusters; it runs on a PCA-reduced copy (64 dims by default,
random init, one run), which is ~4x faster than k-means++ x 3 on the full vectors at equal quality
(bench/README.md), because micro-clusters only need to be locally pure. Average linkage then merges
micro-clusters while the mean cosine similarity between the *statements* of two groups stays above
the merge level; that mean is exact and cheap because it only needs each group's vector sum and size
(mean sim(A, B) = sum_A . sum_B / (|A| |B|)), so the merge works on a k x k matrix with k <= 2000.
Groups smaller than ``min_size`` are dissolved; a statement of theirs joins the narrative whose
statements it is on average most similar to, if that mean reaches the join level, else it stays
unassigned (-1).

Both cuts are *levels* on the corpus's own scale (tracker.narratives.calibration): standard
deviations above the mean similarity of two random statements. Every quantity compared with them is
a mean of pairwise similarities, so adding a constant to all similarities, or scaling them, as
another encoder does, leaves every decision unchanged (tests/test_discover.py checks it).
bench/README.md compares this with BERTopic on four dev sets and two encoders.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import MiniBatchKMeans
from sklearn.utils.validation import check_is_fitted, validate_data

from tracker.narratives.calibration import PAIRS, background

log = logging.getLogger(__name__)

UNASSIGNED = -1
MAX_MICRO = 2000
_CHUNK = 8192  # rows per block when comparing statements with centroids


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; rows that already are (as embedders give them) are not copied."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.all(np.abs(norms - 1.0) < 1e-3):
        return x  # at 1M x 384 a needless copy is 1.5 GB
    norms[norms == 0] = 1.0
    return x / norms


def _nearest(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and cosine similarity to the nearest centroid, computed in row blocks."""
    idx = np.empty(x.shape[0], dtype=np.int64)
    sim = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK):
        block = x[start : start + _CHUNK] @ centroids.T
        best = block.argmax(axis=1)
        idx[start : start + _CHUNK] = best
        sim[start : start + _CHUNK] = block[np.arange(block.shape[0]), best]
    return idx, sim


def _group_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-label vector sums (k x d, float64) through one sparse product; far faster than np.add.at.

    Rows labelled < 0 are left out without copying ``x``.
    """
    n = labels.shape[0]
    rows = np.flatnonzero(labels >= 0)
    onehot = sparse.csr_matrix((np.ones(rows.size, dtype=x.dtype), (labels[rows], rows)), shape=(k, n))
    return np.asarray(onehot @ x, dtype=np.float64)  # no float64 copy of x: memory stays ~1x the data


def _reduce(x: np.ndarray, dims: int | None) -> np.ndarray:
    """Unit rows of the centred projection on the top ``dims`` principal axes (fitted on <= ~4,000 rows).

    Always centred, even when no axis is dropped: a component every vector shares (an encoder's
    baseline) then cannot steer the micro-clusters."""
    mean = x.mean(axis=0)
    if dims is None or dims >= x.shape[1]:
        return _unit_rows(np.ascontiguousarray(x - mean, dtype=np.float32))
    step = max(1, x.shape[0] // 4000)
    sample = (x[::step] - mean).astype(np.float64)
    # Principal axes as eigenvectors of the d x d scatter matrix: the same axes as an SVD of the
    # sample, 5x faster (0.05 against 0.3 s at 7,299 x 384), which matters in a first `tracker run`.
    _, vectors = np.linalg.eigh(sample.T @ sample)
    axes = np.ascontiguousarray(vectors[:, ::-1][:, :dims], dtype=x.dtype)
    # (x - mean) @ axes without the centred n x d copy of x
    return _unit_rows(np.ascontiguousarray(x @ axes - mean.astype(x.dtype) @ axes, dtype=np.float32))


def merge_by_mean_similarity(sums: np.ndarray, counts: np.ndarray, min_similarity: float) -> np.ndarray:
    """Average-linkage merging of groups given only their vector sums and sizes.

    Repeatedly joins the two groups whose members have the highest mean pairwise cosine similarity,
    while it is at least ``min_similarity``. Returns a group id (0..g-1) for each input group.
    Deterministic: ties go to the lowest index.

    The mean similarity is linear in the members, so a merged group's row is the size-weighted mean
    of its parts' rows (the Lance-Williams update of average linkage): O(k) per merge instead of a
    k x d product, which took most of a 2,000-statement fit with 512-dimensional vectors.
    """
    s = np.asarray(sums, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64).copy()
    k = c.shape[0]
    if k < 2:
        return np.zeros(k, dtype=np.int64)
    sim = (s @ s.T) / np.outer(c, c)
    np.fill_diagonal(sim, -np.inf)
    active = np.ones(k, dtype=bool)
    parent = np.arange(k)
    best = sim.argmax(axis=1)
    best_val = sim[np.arange(k), best]
    while True:
        i = int(np.argmax(best_val))
        if not best_val[i] >= min_similarity:
            break
        j = int(best[i])
        i, j = min(i, j), max(i, j)
        row = (c[i] * sim[i] + c[j] * sim[j]) / (c[i] + c[j])
        c[i] += c[j]
        active[j] = False
        parent[parent == j] = i
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        best_val[j] = -np.inf
        row[~active] = -np.inf
        row[i] = -np.inf
        sim[i, :] = row
        sim[:, i] = row
        stale = np.flatnonzero(active & ((best == i) | (best == j)))
        stale = stale[stale != i]
        if stale.size:
            best[stale] = sim[stale].argmax(axis=1)
            best_val[stale] = sim[stale, best[stale]]
        closer = active & (row > best_val)
        closer[i] = False
        best[closer] = i
        best_val[closer] = row[closer]
        best[i] = int(np.argmax(row))
        best_val[i] = row[best[i]]
    _, groups = np.unique(parent, return_inverse=True)
    return groups.astype(np.int64)


def _by_falling_size(labels: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber narratives by their final size (largest first, ties by old number)."""
    if means.shape[0] == 0:
        return labels, means
    sizes = np.bincount(labels[labels >= 0], minlength=means.shape[0])
    order = np.argsort(-sizes, kind="stable")
    new_id = np.empty_like(order)
    new_id[order] = np.arange(order.size)
    out = labels.copy()
    out[labels >= 0] = new_id[labels[labels >= 0]]
    return out, means[order]


class NarrativeDiscoverer(ClusterMixin, BaseEstimator):
    """Over-cluster, merge by mean statement similarity, drop tiny groups; -1 marks no narrative.

    Parameters
    ----------
    n_micro : int or "auto"
        Number of micro-clusters of the first stage. "auto" uses ``micro_per_sqrt * sqrt(n)``,
        clipped to [2, 2000] and to n.
    micro_per_sqrt : float
        Scale of the "auto" rule. Micro-clusters only need to be purer than narratives; more of
        them costs k-means time, fewer blurs distinct claims together.
    merge_level : float
        Two groups merge while the mean similarity between their statements stands at least this
        many background standard deviations above the background mean.
    join_level : float
        The level a statement of a dissolved group (in fit) or a new statement (in predict) needs,
        as its mean similarity to a narrative's statements, to join it. Lower than ``merge_level``:
        a single statement's similarities scatter more than a group's mean.
        The defaults (1.0 and 0.15) are what five of six leave-one-set-out folds choose on the other
        dev sets (bench/README.md, "Choosing the levels").
    min_size : int
        Groups with fewer statements are not narratives; their statements are reassigned.
    background : (float, float) or None
        Mean and standard deviation of the similarity of two random statements. None measures it on
        ``X`` in fit; pass the corpus's own when fitting a subset (the unassigned pool), whose
        background is not the corpus's.
    random_state : int, RandomState or None
        Seeds MiniBatchKMeans and the background sample; the other stages are deterministic.
    micro_dims : int or None
        Principal components kept for the micro-clustering stage only (merging and assignment
        always use the full vectors). None clusters the full vectors.
    exact_below : int
        With n_micro="auto" and at most this many statements, every statement starts as its own
        group, so the merge is exact average linkage: deterministic, no k-means at all. The k x k
        merge costs O(k^2 d), so larger corpora go through micro-clusters.

    Attributes
    ----------
    labels_ : narrative of each row of X (-1: none)
    means_ : mean vector of each narrative's statements (its dot product with a statement is the
        statement's mean similarity to them)
    centroids_ : the same, scaled to unit length
    cohesion_ : length of each mean vector (its square is about the narrative's mean pairwise similarity)
    background_ : (mean, sd) the levels were measured against
    """

    def __init__(
        self,
        n_micro: int | str = "auto",
        micro_per_sqrt: float = 8.0,
        merge_level: float = 1.0,
        join_level: float = 0.15,
        min_size: int = 5,
        background: tuple[float, float] | None = None,
        random_state: int | np.random.RandomState | None = 0,
        micro_dims: int | None = 64,
        exact_below: int = 3000,
    ) -> None:
        self.n_micro = n_micro
        self.micro_per_sqrt = micro_per_sqrt
        self.merge_level = merge_level
        self.join_level = join_level
        self.min_size = min_size
        self.background = background
        self.random_state = random_state
        self.micro_dims = micro_dims
        self.exact_below = exact_below

    def _micro_count(self, n: int) -> int:
        if isinstance(self.n_micro, str):
            if self.n_micro != "auto":
                raise ValueError(f"n_micro must be a positive int or 'auto', got {self.n_micro!r}")
            if n <= int(self.exact_below):
                return n
            k = int(round(float(self.micro_per_sqrt) * math.sqrt(n)))
            return min(n, max(2, min(MAX_MICRO, k)))
        if not isinstance(self.n_micro, int | np.integer) or self.n_micro < 1:
            raise ValueError(f"n_micro must be a positive int or 'auto', got {self.n_micro!r}")
        return int(min(self.n_micro, n))

    def _check_params(self) -> None:
        for name in ("merge_level", "join_level"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.number) or not math.isfinite(float(value)):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if int(self.min_size) < 1:
            raise ValueError(f"min_size must be >= 1, got {self.min_size!r}")
        if self.micro_dims is not None and int(self.micro_dims) < 1:
            raise ValueError(f"micro_dims must be >= 1 or None, got {self.micro_dims!r}")
        if float(self.micro_per_sqrt) <= 0:
            raise ValueError(f"micro_per_sqrt must be > 0, got {self.micro_per_sqrt!r}")
        if self.background is not None:
            mean, sd = self.background
            if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
                raise ValueError(f"background must be (mean, sd > 0), got {self.background!r}")

    def _similarity(self, level: float) -> float:
        mean, sd = self.background_
        return mean + float(level) * sd

    def fit(self, X: np.ndarray, y: object = None) -> NarrativeDiscoverer:
        """Find narratives in ``X`` (n statements x d embedding dimensions); sets ``labels_``."""
        self._check_params()
        x = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        x = _unit_rows(np.asarray(x, dtype=np.float32))
        n, d = x.shape
        seed = self.random_state if isinstance(self.random_state, int) else 0
        self.background_ = tuple(self.background) if self.background is not None else background(
            x, pairs=PAIRS, random_state=seed)
        k = self._micro_count(n)

        micro = self._micro_labels(x, k)
        counts = np.bincount(micro)
        sums = _group_sums(x, micro, counts.shape[0])
        present = np.flatnonzero(counts > 0)
        group_of_micro = np.full(counts.shape[0], UNASSIGNED, dtype=np.int64)
        group_of_micro[present] = merge_by_mean_similarity(
            sums[present], counts[present], self._similarity(self.merge_level)
        )
        groups = group_of_micro[micro]

        labels = self._keep_large(x, groups)
        k_kept = int(labels.max()) + 1 if labels.size else 0
        sizes = np.bincount(labels[labels >= 0], minlength=k_kept).astype(np.float64)
        means = _group_sums(x, labels, k_kept) / np.maximum(sizes, 1.0)[:, None] if k_kept else np.zeros((0, d))
        labels, means = _by_falling_size(labels, means)
        self.labels_ = labels
        self.means_ = means.astype(np.float32)
        self.cohesion_ = np.linalg.norm(self.means_, axis=1) if len(means) else np.zeros(0, dtype=np.float32)
        self.centroids_ = _unit_rows(self.means_) if len(means) else np.zeros((0, d), dtype=np.float32)
        self.n_narratives_ = int(means.shape[0])
        self.n_micro_ = int(k)
        log.debug(
            "fit %d statements: %d micro-clusters, %d narratives, %d unassigned",
            n,
            k,
            self.n_narratives_,
            int(np.sum(labels == UNASSIGNED)),
        )
        return self

    def _micro_labels(self, x: np.ndarray, k: int) -> np.ndarray:
        if k >= x.shape[0]:
            return np.arange(x.shape[0])
        z = _reduce(x, None if self.micro_dims is None else int(self.micro_dims))
        km = MiniBatchKMeans(
            n_clusters=k,
            init="random",
            random_state=self.random_state,
            batch_size=1024,
            n_init=1,
        )
        return km.fit_predict(z)

    def _keep_large(self, x: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Number groups of >= ``min_size`` by falling size; a statement of the rest joins the kept
        group whose statements it is most similar to on average, if that reaches the join level."""
        sizes = np.bincount(groups)
        kept = np.flatnonzero(sizes >= int(self.min_size))
        if kept.size == 0:
            return np.full(x.shape[0], UNASSIGNED, dtype=np.int64)
        kept = kept[np.argsort(-sizes[kept], kind="stable")]
        new_id = np.full(sizes.shape[0], UNASSIGNED, dtype=np.int64)
        new_id[kept] = np.arange(kept.size)
        labels = new_id[groups]
        members = labels >= 0
        means = _group_sums(x, labels, kept.size) / sizes[kept][:, None]
        orphans = np.flatnonzero(~members)
        if orphans.size:
            idx, sim = _nearest(x[orphans], means.astype(np.float32))
            idx[sim < self._similarity(self.join_level)] = UNASSIGNED
            labels[orphans] = idx
        return labels

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest narrative for each row of ``X``, or -1 when none reaches the join level."""
        check_is_fitted(self, "means_")
        x = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        x = _unit_rows(np.asarray(x, dtype=np.float32))
        if self.n_narratives_ == 0:
            return np.full(x.shape[0], UNASSIGNED, dtype=np.int64)
        idx, sim = _nearest(x, self.means_)
        idx[sim < self._similarity(self.join_level)] = UNASSIGNED
        return idx
