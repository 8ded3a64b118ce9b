"""B-cubed, ARI, NMI and coverage on tiny cases computed by hand."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from metrics import bcubed, coverage, noise_as_singletons, score  # noqa: E402


def test_perfect_clustering_scores_one():
    p, r, f = bcubed(["a", "a", "b"], [5, 5, 7])
    assert (p, r, f) == pytest.approx((1.0, 1.0, 1.0))


def test_bcubed_one_cluster_for_two_classes_by_hand():
    # gold {0,1} {2}; all in one cluster: precision = (2/3+2/3+1/3)/3 = 5/9, recall = 1.
    p, r, f = bcubed(["a", "a", "b"], [0, 0, 0])
    assert p == pytest.approx(5 / 9)
    assert r == pytest.approx(1.0)
    assert f == pytest.approx(2 * (5 / 9) / (5 / 9 + 1))


def test_noise_counts_as_singletons_not_as_one_cluster():
    # gold one class of 3; pred: two in cluster 0, one noise -> recall = (2/3+2/3+1/3)/3 = 5/9.
    p, r, _ = bcubed(["a", "a", "a"], [0, 0, -1])
    assert p == pytest.approx(1.0)
    assert r == pytest.approx(5 / 9)
    # Two noise points in the same gold class must not be rewarded as a shared cluster.
    _, r_noise, _ = bcubed(["a", "a"], [-1, -1])
    assert r_noise == pytest.approx(0.5)


def test_noise_as_singletons_gives_fresh_distinct_labels():
    out = noise_as_singletons([3, -1, 3, -1])
    assert out[0] == out[2] == 3
    assert len({out[1], out[3], 3}) == 3


def test_coverage_is_share_of_assigned():
    assert coverage([0, -1, 1, -1]) == pytest.approx(0.5)


def test_score_treats_noise_as_singletons_in_ari():
    # All noise vs one gold class: every item alone -> ARI 0 (not 1 as a single cluster would give).
    s = score(["a", "a", "a", "b"], [-1, -1, -1, -1])
    assert s.ari == pytest.approx(0.0)
    assert s.coverage == 0.0
    assert s.n_clusters == 0


def test_bcubed_rejects_length_mismatch():
    with pytest.raises(ValueError, match="3 items"):
        bcubed(["a", "b", "c"], [0, 1])
