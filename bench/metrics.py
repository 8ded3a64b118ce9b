"""Clustering quality against gold labels: B-cubed, ARI, NMI and coverage.

Every metric treats an unassigned statement (label -1) as a cluster of its own, so a method cannot
raise its precision by leaving hard statements out; coverage reports how many it did place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

NOISE = -1


@dataclass(frozen=True)
class Scores:
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    ari: float
    nmi: float
    coverage: float
    n_clusters: int


def noise_as_singletons(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """Give every -1 its own fresh label, above all existing ones."""
    lab = np.asarray(labels, dtype=np.int64).copy()
    noise = lab == NOISE
    start = int(lab.max(initial=0)) + 1
    lab[noise] = np.arange(start, start + int(noise.sum()))
    return lab


def _codes(values: Sequence[object] | np.ndarray) -> np.ndarray:
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.ravel()


def bcubed(
    gold: Sequence[object] | np.ndarray, pred: Sequence[int] | np.ndarray
) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin), averaged over items.

    For item i with predicted cluster C and gold class G: precision_i = |C & G| / |C| and
    recall_i = |C & G| / |G|. Summed over items this is sum over cells n_cg^2 / n_c (or / n_g),
    which is what we compute from the contingency table in O(n) memory.
    """
    g = _codes(gold)
    p = _codes(noise_as_singletons(pred))
    n = len(g)
    if n != len(p):
        raise ValueError(f"gold has {n} items but pred has {len(p)}")
    if n == 0:
        raise ValueError("bcubed of an empty labelling is undefined")
    pairs = p.astype(np.int64) * (int(g.max()) + 1) + g
    cell_keys, cell_counts = np.unique(pairs, return_counts=True)
    cell_p = cell_keys // (int(g.max()) + 1)
    cell_g = cell_keys % (int(g.max()) + 1)
    size_p = np.bincount(p)
    size_g = np.bincount(g)
    sq = cell_counts.astype(np.float64) ** 2
    precision = float(np.sum(sq / size_p[cell_p]) / n)
    recall = float(np.sum(sq / size_g[cell_g]) / n)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def coverage(pred: Sequence[int] | np.ndarray) -> float:
    """Share of items placed in some cluster (label != -1)."""
    lab = np.asarray(pred)
    return float(np.mean(lab != NOISE)) if lab.size else 0.0


def score(gold: Sequence[object] | np.ndarray, pred: Sequence[int] | np.ndarray) -> Scores:
    """All metrics at once, with noise counted as singletons throughout."""
    p_single = noise_as_singletons(pred)
    bp, br, bf = bcubed(gold, pred)
    pred_arr = np.asarray(pred)
    return Scores(
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=bf,
        ari=float(adjusted_rand_score(_codes(gold), p_single)),
        nmi=float(normalized_mutual_info_score(_codes(gold), p_single)),
        coverage=coverage(pred),
        n_clusters=int(len(set(pred_arr[pred_arr != NOISE].tolist()))),
    )
