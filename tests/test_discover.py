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


@parametrize_with_checks([NarrativeDiscoverer(min_size=1, join_level=-100.0)])
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
    est = NarrativeDiscoverer().fit(x)
    far = -est.centroids_.sum(axis=0, keepdims=True)
    assert est.predict(far)[0] == -1


def test_small_groups_are_dissolved():
    x, _ = _blobs(n=300, centers=3)
    rng = np.random.default_rng(3)
    odd = rng.normal(size=(3, 32))
    odd /= np.linalg.norm(odd, axis=1, keepdims=True)
    est = NarrativeDiscoverer(min_size=10).fit(np.vstack([x, odd]))
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
    with pytest.raises(ValueError, match="merge_level"):
        NarrativeDiscoverer(merge_level=float("nan")).fit(x)
    with pytest.raises(ValueError, match="background"):
        NarrativeDiscoverer(background=(0.1, 0.0)).fit(x)
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


def _with_common_component(x: np.ndarray, share: float) -> np.ndarray:
    """Unit rows whose pairwise cosines are ``(1 - share) * cos + share``: what an encoder with a higher
    baseline similarity does to the same texts (every similarity shifted up and compressed)."""
    common = np.full((x.shape[0], 1), np.sqrt(share))
    return np.hstack([np.sqrt(1.0 - share) * x, common])


def _noisy_blobs() -> np.ndarray:
    x, _ = _blobs(n=400, centers=5, seed=4)
    noisy = x + np.random.default_rng(5).normal(scale=0.25, size=x.shape)  # close calls, not clean blobs
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


@pytest.mark.parametrize("share", [0.2, 0.5, 0.8])
def test_same_narratives_when_every_similarity_is_shifted_and_scaled(share):
    noisy = _noisy_blobs()
    before = NarrativeDiscoverer().fit(noisy)
    after = NarrativeDiscoverer().fit(_with_common_component(noisy, share))
    assert before.n_narratives_ > 1
    np.testing.assert_array_equal(before.labels_, after.labels_)
    mean_a, sd_a = before.background_
    mean_b, sd_b = after.background_
    assert mean_b == pytest.approx((1 - share) * mean_a + share, abs=1e-6)
    assert sd_b == pytest.approx((1 - share) * sd_a, rel=1e-5)


@pytest.mark.parametrize("share", [0.2, 0.5, 0.8])
def test_micro_cluster_path_keeps_its_narratives_under_the_shift(share):
    """Through MiniBatchKMeans the shifted copy differs by float rounding (~1e-7), which can flip a
    tied point between micro-clusters; the narratives must stay the same but for such flips."""
    noisy = _noisy_blobs()
    kwargs = {"exact_below": 50, "micro_per_sqrt": 4.0}
    before = NarrativeDiscoverer(**kwargs).fit(noisy)
    after = NarrativeDiscoverer(**kwargs).fit(_with_common_component(noisy, share))
    assert adjusted_rand_score(before.labels_, after.labels_) > 0.9
    assert abs(before.n_narratives_ - after.n_narratives_) <= 2


def test_an_absolute_cut_would_have_moved_with_the_shift():
    """The counter-check of the test above: a fixed cosine cut merges everything once the baseline rises."""
    x, _ = _blobs(n=400, centers=5, seed=4)
    shifted = _with_common_component(x, 0.8)
    groups = merge_by_mean_similarity(shifted, np.ones(len(x)), min_similarity=0.3)
    assert len(set(groups.tolist())) == 1
    assert NarrativeDiscoverer().fit(shifted).n_narratives_ == 5


def test_levels_are_measured_on_the_given_background():
    """Fitting a subset (the unassigned pool) with the corpus's background keeps the corpus's scale."""
    x, _ = _blobs(n=300, centers=3)
    own = NarrativeDiscoverer().fit(x)
    assert own.background_ != (0.9, 0.01)
    strict = NarrativeDiscoverer(background=(0.9, 0.01)).fit(x)  # a corpus where everything is near
    assert strict.background_ == (0.9, 0.01)
    assert strict.n_narratives_ < own.n_narratives_ or np.mean(strict.labels_ == -1) > np.mean(own.labels_ == -1)


def test_mean_vectors_give_the_mean_similarity_to_members():
    x, _ = _blobs(n=300, centers=3)
    est = NarrativeDiscoverer().fit(x)
    members = x[est.labels_ == 0]
    probe = x[:1]
    np.testing.assert_allclose(probe @ est.means_[0], (probe @ members.T).mean(), rtol=1e-4)
    np.testing.assert_allclose(est.cohesion_, np.linalg.norm(est.means_, axis=1), rtol=1e-6)
