"""NarrativeDiscoverer: an sklearn estimator that finds narratives deterministically."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from tracker.narratives.discover import NarrativeDiscoverer, merge_by_mean_similarity


def _blobs(n=600, centers=6, seed=0):
    """Unit vectors in 32-d around orthogonal directions (cosine ~0 between blobs)."""
    rng = np.random.default_rng(seed)
    dirs, _ = np.linalg.qr(rng.normal(size=(32, centers)))
    dirs = dirs.T
    x, y = make_blobs(n_samples=n, centers=dirs * 3, cluster_std=0.6, random_state=seed)
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


@parametrize_with_checks([NarrativeDiscoverer(min_size=1, assign_threshold=-1.0)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def test_recovers_blobs():
    x, y = _blobs()
    est = NarrativeDiscoverer(random_state=0).fit(x)
    assert est.n_narratives_ == 6
    assert adjusted_rand_score(y, est.labels_) > 0.95


def test_same_seed_gives_same_labels():
    x, _ = _blobs(seed=1)
    a = NarrativeDiscoverer(random_state=7).fit(x)
    b = NarrativeDiscoverer(random_state=7).fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.centroids_, b.centroids_)


def test_centroids_are_unit_vectors():
    x, _ = _blobs()
    est = NarrativeDiscoverer().fit(x)
    np.testing.assert_allclose(np.linalg.norm(est.centroids_, axis=1), 1.0, rtol=1e-5)


def test_predict_agrees_with_fit_on_training_data():
    x, _ = _blobs()
    est = NarrativeDiscoverer().fit(x)
    assert np.mean(est.predict(x) == est.labels_) > 0.99


def test_predict_marks_far_points_unassigned():
    x, _ = _blobs()
    est = NarrativeDiscoverer(assign_threshold=0.5).fit(x)
    far = -est.centroids_.sum(axis=0, keepdims=True)
    assert est.predict(far)[0] == -1


def test_small_groups_are_dissolved():
    x, _ = _blobs(n=300, centers=3)
    rng = np.random.default_rng(3)
    odd = rng.normal(size=(3, 32))
    odd /= np.linalg.norm(odd, axis=1, keepdims=True)
    est = NarrativeDiscoverer(min_size=10, assign_threshold=0.9).fit(np.vstack([x, odd]))
    assert est.n_narratives_ == 3
    assert np.all(est.labels_[-3:] == -1)


def test_labels_are_numbered_by_falling_size():
    x, _ = _blobs(n=700, centers=4)
    est = NarrativeDiscoverer().fit(x)
    sizes = np.bincount(est.labels_[est.labels_ >= 0])
    assert list(sizes) == sorted(sizes, reverse=True)


def test_merge_by_mean_similarity_matches_pairwise_average():
    # Three unit points: a and b close, c far; exact mean similarity decides the merge.
    pts = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    groups = merge_by_mean_similarity(pts, np.ones(3), min_similarity=0.7)
    assert groups[0] == groups[1] != groups[2]
    # mean sim of {a,b} with c is (0 + 0.6)/2 = 0.3: merges at 0.3, not at 0.31.
    assert len(set(merge_by_mean_similarity(pts, np.ones(3), 0.3))) == 1
    assert len(set(merge_by_mean_similarity(pts, np.ones(3), 0.31))) == 2


def test_rejects_bad_parameters_naming_them():
    x, _ = _blobs(n=50)
    with pytest.raises(ValueError, match="merge_threshold"):
        NarrativeDiscoverer(merge_threshold=3.0).fit(x)
    with pytest.raises(ValueError, match="n_micro"):
        NarrativeDiscoverer(n_micro="many").fit(x)


def test_micro_stage_on_full_vectors_also_recovers_blobs():
    x, y = _blobs()
    est = NarrativeDiscoverer(micro_dims=None, random_state=0).fit(x)
    assert adjusted_rand_score(y, est.labels_) > 0.95


def test_rejects_non_positive_micro_dims():
    x, _ = _blobs(n=50)
    with pytest.raises(ValueError, match="micro_dims"):
        NarrativeDiscoverer(micro_dims=0).fit(x)


def test_group_sums_equal_per_label_addition():
    from tracker.narratives.discover import _group_sums

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    labels = rng.integers(0, 6, size=40)
    expected = np.zeros((7, 5))
    np.add.at(expected, labels, x)
    np.testing.assert_allclose(_group_sums(x, labels, 7), expected, rtol=1e-6)
