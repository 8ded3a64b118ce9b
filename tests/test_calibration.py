"""The corpus's own similarity scale and the language offsets that discovery and assignment work on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from tests.vectors import MODEL, add, current, narratives_cfg
from tracker.config import Config
from tracker.db import Database
from tracker.narratives.assign import assign_pending
from tracker.narratives.calibration import (
    Calibration,
    background,
    calibrate,
    language_offsets,
    load_scale,
    save_scale,
)
from tracker.narratives.discover import NarrativeDiscoverer
from tracker.narratives.registry import run_discovery


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _two_language_corpus(n_claims: int = 4, per: int = 12, bias: float = 0.9, seed: int = 0
                         ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Claims stated in two languages; each language adds its own direction to every vector, as a
    multilingual encoder's language trace does. Returns vectors, claim labels and languages."""
    rng = np.random.default_rng(seed)
    d = 48
    claims = _unit(rng.normal(size=(n_claims, d)))
    lang_dir = _unit(rng.normal(size=(2, d)))
    rows, labels, langs = [], [], []
    for c in range(n_claims):
        for i in range(per):
            lang = i % 2
            rows.append(claims[c] + bias * lang_dir[lang] + 0.45 * rng.normal(size=d) / np.sqrt(d))
            labels.append(c)
            langs.append(("en", "ru")[lang])
    return _unit(np.asarray(rows)), np.asarray(labels), langs


def test_background_is_the_mean_and_spread_of_random_pairs() -> None:
    x = _unit(np.random.default_rng(1).normal(size=(300, 16)))
    sims = x @ x.T
    off = sims[~np.eye(300, dtype=bool)]
    mean, sd = background(x)
    assert mean == pytest.approx(off.mean(), abs=0.01)
    assert sd == pytest.approx(off.std(), rel=0.05)


def test_levels_are_standard_deviations_above_the_background() -> None:
    cal = Calibration(0.2, 0.1)
    assert cal.similarity(1.5) == pytest.approx(0.35)
    assert cal.level(0.35) == pytest.approx(1.5)


def test_removing_language_offsets_unites_each_claim_across_languages() -> None:
    x, claims, langs = _two_language_corpus()
    raw = NarrativeDiscoverer(min_size=3).fit(x)
    cal = calibrate(x, langs, prior=0.0)
    neutral = NarrativeDiscoverer(min_size=3, background=(cal.mean, cal.sd)).fit(cal.neutral(x, langs))
    split = [c for c in range(4) if len(set(raw.labels_[claims == c].tolist())) > 1]
    assert len(split) >= 2  # without it, claims fall apart by language
    assert adjusted_rand_score(claims, neutral.labels_) == pytest.approx(1.0)


def test_a_language_with_one_claim_is_barely_moved() -> None:
    """Shrinkage: a handful of statements in a language say more about their topic than the language."""
    x, _, langs = _two_language_corpus()
    few = [i for i, lang in enumerate(langs) if lang == "ru"][:3]
    langs = ["en" if i not in few else "uk" for i in range(len(langs))]
    offsets = language_offsets(x, langs)
    assert np.linalg.norm(offsets["uk"]) < 0.2 * np.linalg.norm(x[few].mean(axis=0) - x.mean(axis=0)) + 1e-6
    assert language_offsets(x, ["en"] * len(x)) == {}  # one language: nothing to remove


def test_neutral_leaves_unknown_languages_and_works_in_place_when_asked() -> None:
    x, _, langs = _two_language_corpus()
    cal = calibrate(x, langs)
    other = np.array(x[:2])
    np.testing.assert_allclose(cal.neutral(other, ["zh", "zh"]), other, rtol=1e-6)
    owned = np.array(x)
    out = cal.neutral(owned, langs, copy=False)
    assert out is owned
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_scale_survives_the_database(db: Database) -> None:
    x, _, langs = _two_language_corpus()
    cal = calibrate(x, langs)
    with db.transaction() as session:
        save_scale(session, MODEL, cal, len(x))
    with db.transaction() as session:
        save_scale(session, MODEL, cal, len(x))  # a second discovery replaces the row
    with db.reader() as session:
        back = load_scale(session, MODEL)
        assert load_scale(session, "another-model") is None
    assert back is not None and (back.mean, back.sd) == pytest.approx((cal.mean, cal.sd))
    assert set(back.offsets) == {"en", "ru"}
    np.testing.assert_allclose(back.offsets["ru"], cal.offsets["ru"], rtol=1e-6)


def test_discovery_stores_the_scale_and_assignment_uses_it_across_languages(db: Database, config: Config) -> None:
    """A claim in two languages: full discovery measures the scale, and a new Russian statement of an
    English-and-Russian claim joins that claim's narrative through the stored offsets."""
    x, claims, langs = _two_language_corpus(3, 12)
    ids = [add(db, [v], language=lang)[0] for v, lang in zip(x[:-1], langs[:-1], strict=True)]
    cfg = narratives_cfg(config, merge_level=0.6, join_level=0.3, auto_level=0.6, suggest_level=0.3)
    run_discovery(db, cfg, MODEL)
    with db.reader() as session:
        scale = load_scale(session, MODEL)
    assert scale is not None and set(scale.offsets) == {"en", "ru"}
    homes = current(db)
    per_claim = {c: {homes.get(i) for i, k in zip(ids, claims[:-1], strict=True) if k == c} for c in range(3)}
    assert all(len(v) == 1 and None not in v for v in per_claim.values()), per_claim
    new = add(db, [x[-1]], language=langs[-1])[0]
    assign_pending(db, cfg, MODEL)
    assert current(db)[new] == per_claim[int(claims[-1])].pop()
