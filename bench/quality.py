"""Narrative quality on every dev set: our discovery against BERTopic on the same vectors, per encoder.

Run from the project root: ``.venv/bin/python bench/quality.py`` (BERTopic is the optional extra
``pip install -e .[bench]``; ``make bench`` installs it). For each dev set (bench/devsets.py) and each
encoder the product ships, it embeds the texts once with the product's own embedder (cached under
bench/results/ by a hash of the texts and the model), runs our discovery exactly as ``tracker
cluster --full`` does (language offsets removed, scale measured, default levels) and BERTopic's
defaults over ``--bertopic-runs`` UMAP seeds, and prints, side by side in one run:

1. per set: B-cubed F1, ARI, NMI, coverage of narrative statements, share of unrelated statements
   placed in a narrative, narratives found, and cross-language unity (the share of a claim's
   statements in its largest narrative, over claims stated in several languages the encoder covers);
2. the acceptance check per set: ours with the default configuration against BERTopic's mean on its
   better encoder: F1 >= min(1.2x, the F1 that removes a quarter of its errors), coverage >= 0.9;
3. leave one set out: for each set, the levels the *other* sets would choose (best mean ratio to the
   target with coverage >= 0.9 on all of them), and what those levels score on the left-out set;
4. the same rule on all sets, per encoder, beside each set's own best levels: where the defaults
   come from, and how far each set alone would pull them;
5. fit time against BERTopic's on the largest set.

Every metric counts an unassigned statement as a narrative of its own (bench/metrics.py), and an
unrelated statement (gold None) as sharing a narrative with nobody.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from devsets import SETS, DevSet, available  # noqa: E402
from metrics import score  # noqa: E402

from tracker.config import DEFAULT_MODEL, ENGLISH_MODEL, MULTILINGUAL_MODEL, EmbeddingConfig, load_config  # noqa: E402

log = logging.getLogger("bench.quality")

RESULTS = ROOT / "bench" / "results"
ENCODERS = (MULTILINGUAL_MODEL, ENGLISH_MODEL)
BERTOPIC_RUNS = 5
TARGET_RATIO = 1.2
TARGET_COVERAGE = 0.9
TARGET_UNITY = 0.8
TARGET_SPEED = 3.0
# Languages USE-m3 was trained on; unity is judged on claims stated in at least two of them.
COVERED = frozenset("ar zh nl en fr de it ja ko pl pt ru es th tr".split())
MERGE_GRID = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4)
JOIN_GRID = (0.0, 0.15, 0.3, 0.45, 0.6, 0.8)


def cache_key(texts: list[str], model: str) -> str:
    h = hashlib.sha256(model.encode("utf-8"))
    for t in texts:
        h.update(b"\x00")
        h.update(t.encode("utf-8"))
    return h.hexdigest()[:24]


def embed_cached(texts: list[str], model: str) -> np.ndarray:
    """The product's embedder for ``model``, unit rows; reused from bench/results/ when cached."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"emb-{model}-{cache_key(texts, model)}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tracker.embed import make_embedder

    started = time.perf_counter()
    vectors = np.asarray(make_embedder(EmbeddingConfig(model=model)).embed(texts), dtype=np.float32)
    log.info("embedded %d texts with %s in %.1f s", len(texts), model, time.perf_counter() - started)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def run_ours(x: np.ndarray, languages: list[str | None], **levels: float) -> tuple[np.ndarray, float]:
    """Discovery as ``tracker cluster --full`` runs it: offsets removed, scale measured, then the fit."""
    from tracker.narratives.registry import make_estimator, neutralise

    cfg = load_config(env={}).narratives
    if levels:
        cfg = load_config(env={}).replace(narratives=levels).narratives
    started = time.perf_counter()
    neutral, scale = neutralise(np.array(x, copy=True), languages, cfg)
    labels = np.asarray(make_estimator(cfg, scale).fit(neutral).labels_)
    return labels, time.perf_counter() - started


_warmed = False


def run_bertopic(texts: list[str], x: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """BERTopic's defaults on our vectors; only UMAP's seed is set, so runs repeat."""
    global _warmed
    from bertopic import BERTopic
    from umap import UMAP

    def model() -> BERTopic:
        return BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                        low_memory=False, random_state=seed))

    if not _warmed:  # numba compiles UMAP and HDBSCAN once; that is not the fit's cost
        model().fit_transform(texts[:300], x[:300])
        _warmed = True
    started = time.perf_counter()
    topics, _ = model().fit_transform(texts, x)
    return np.asarray(topics, dtype=np.int64), time.perf_counter() - started


@dataclass(frozen=True)
class Result:
    f1: float
    ari: float
    nmi: float
    coverage: float  # of statements that have a gold narrative
    noise_placed: float  # of unrelated statements (nan when the set has none)
    found: float  # narratives found (a mean over runs for BERTopic)
    unity: float  # nan when no claim is stated in two covered languages
    seconds: float


def evaluate(dev: DevSet, labels: np.ndarray, seconds: float) -> Result:
    gold = [g if g is not None else f"\x00unrelated-{i}" for i, g in enumerate(dev.gold)]
    s = score(gold, labels)
    related = np.asarray([g is not None for g in dev.gold])
    placed = labels >= 0
    return Result(s.bcubed_f1, s.ari, s.nmi, float(placed[related].mean()),
                  float(placed[~related].mean()) if (~related).any() else float("nan"),
                  int(len(set(labels[placed].tolist()))), unity(dev, labels), seconds)


def unity(dev: DevSet, labels: np.ndarray) -> float:
    """Mean share of a claim's statements in its largest narrative, over claims in >= 2 covered languages."""
    shares = []
    for claim in {g for g in dev.gold if g is not None}:
        rows = [i for i, g in enumerate(dev.gold) if g == claim and (dev.languages[i] or "") in COVERED]
        if len({dev.languages[i] for i in rows}) < 2:
            continue
        placed = [int(labels[i]) for i in rows if labels[i] >= 0]
        shares.append(max(placed.count(v) for v in set(placed)) / len(rows) if placed else 0.0)
    return float(np.mean(shares)) if shares else float("nan")


def mean_result(results: list[Result]) -> Result:
    return Result(*(float(np.nanmean([getattr(r, f) for r in results])) if not all(
        np.isnan(getattr(r, f)) for r in results) else float("nan") for f in Result.__dataclass_fields__))


def target(bertopic_f1: float) -> float:
    """F1 to reach: 1.2x BERTopic's, or a quarter of its errors removed, whichever is lower."""
    return min(TARGET_RATIO * bertopic_f1, 1.0 - 0.75 * (1.0 - bertopic_f1))


def _fmt(v: float, digits: int = 3) -> str:
    return "   -" if np.isnan(v) else f"{v:.{digits}f}"


def print_set(dev: DevSet, rows: dict[tuple[str, str], Result]) -> None:
    print(f"\n## {dev.name}: {len(dev.texts)} statements, {dev.narratives} narratives, {dev.noise} unrelated, "
          f"languages {', '.join(sorted({lang or '?' for lang in dev.languages}))}")
    print(f"{'encoder':<20}{'method':<12}{'F1':>7}{'ARI':>7}{'NMI':>7}{'cover':>7}{'noise in':>9}"
          f"{'found':>7}{'unity':>7}{'fit s':>8}")
    for (encoder, method), r in rows.items():
        print(f"{encoder:<20}{method:<12}{_fmt(r.f1):>7}{_fmt(r.ari):>7}{_fmt(r.nmi):>7}{_fmt(r.coverage, 2):>7}"
              f"{_fmt(r.noise_placed, 2):>9}{r.found:>7.0f}{_fmt(r.unity, 2):>7}{r.seconds:>8.2f}")


def acceptance(name: str, rows: dict[tuple[str, str], Result]) -> list[tuple[str, bool]]:
    ours = rows[(DEFAULT_MODEL, "ours")]
    theirs = {enc: rows[(enc, "BERTopic")] for enc in ENCODERS if (enc, "BERTopic") in rows}
    checks = [(f"{name}: coverage {ours.coverage:.2f} >= {TARGET_COVERAGE}", ours.coverage >= TARGET_COVERAGE)]
    if not np.isnan(ours.unity):
        checks.append((f"{name}: cross-language unity {ours.unity:.2f} >= {TARGET_UNITY}", ours.unity >= TARGET_UNITY))
    if theirs:
        best_enc = max(theirs, key=lambda e: theirs[e].f1)
        need = target(theirs[best_enc].f1)
        checks.append((f"{name}: F1 {ours.f1:.3f} >= {need:.3f} (BERTopic mean {theirs[best_enc].f1:.3f} on "
                       f"{best_enc}; ratio {ours.f1 / theirs[best_enc].f1:.2f}x)", ours.f1 >= need))
    return checks


def level_grid(sets: dict[str, DevSet], vectors: dict[tuple[str, str], np.ndarray], encoder: str
               ) -> dict[tuple[float, float], dict[str, Result]]:
    grid: dict[tuple[float, float], dict[str, Result]] = {}
    defaults = load_config(env={}).narratives
    merges = sorted({*MERGE_GRID, defaults.merge_level})
    joins = sorted({*JOIN_GRID, defaults.join_level})
    for merge in merges:
        for join in (j for j in joins if j <= merge):
            grid[(merge, join)] = {
                name: evaluate(dev, *run_ours(vectors[(name, encoder)], dev.languages, merge_level=merge,
                                              join_level=join))
                for name, dev in sets.items()}
    return grid


def _utility(results: dict[str, Result], names: list[str], goal: dict[str, float]) -> float:
    if any(results[n].coverage < TARGET_COVERAGE for n in names):
        return -1.0
    return float(np.mean([results[n].f1 / goal[n] for n in names]))


def print_leave_one_out(grid: dict[tuple[float, float], dict[str, Result]], goal: dict[str, float]) -> None:
    names = list(next(iter(grid.values())))
    defaults = load_config(env={}).narratives
    print("\n## Leave one set out (default encoder): levels chosen on the other sets, scored on the one left out")
    print(f"{'left out':<22}{'chosen (merge, join)':>22}{'F1 there':>10}{'cover':>7}{'unity':>7}"
          f"{'default F1':>12}{'target':>8}")
    for left in names:
        others = [n for n in names if n != left]
        chosen = max(grid, key=lambda k: _utility(grid[k], others, goal))
        default = grid.get((defaults.merge_level, defaults.join_level))
        there = grid[chosen][left]
        print(f"{left:<22}{str(chosen):>22}{there.f1:>10.3f}{there.coverage:>7.2f}{_fmt(there.unity, 2):>7}"
              f"{_fmt(default[left].f1 if default else float('nan')):>12}{goal[left]:>8.3f}")


def print_choice(grids: dict[str, dict[tuple[float, float], dict[str, Result]]], goal: dict[str, float]) -> None:
    """The rule of the leave-one-out table applied to every set, and each set's own best, for contrast."""
    print("\n## Choosing the levels: the leave-one-out rule on all sets, and each set's own best (coverage >= 0.9)")
    for encoder, grid in grids.items():
        names = list(next(iter(grid.values())))
        chosen = max(grid, key=lambda k: _utility(grid[k], names, goal))
        print(f"{encoder}: the rule picks merge {chosen[0]:.2f}, join {chosen[1]:.2f} on all {len(names)} sets")
        for name in names:
            ok = [k for k in grid if grid[k][name].coverage >= TARGET_COVERAGE] or list(grid)
            best = max(ok, key=lambda k: grid[k][name].f1)
            print(f"  {name:<22} own best merge {best[0]:.2f} join {best[1]:.2f}: F1 {grid[best][name].f1:.3f} "
                  f"(at the pick: {grid[chosen][name].f1:.3f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bertopic-runs", type=int, default=BERTOPIC_RUNS, help="UMAP seeds 0..N-1 per set and encoder")
    ap.add_argument("--skip-bertopic", action="store_true", help="score our method only")
    ap.add_argument("--sets", nargs="*", default=None, help=f"a subset of: {', '.join(SETS)}")
    ap.add_argument("--no-grid", action="store_true", help="skip the leave-one-out and best-level tables")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("BERTopic").setLevel(logging.WARNING)

    names = [n for n in (args.sets or available()) if n in available()]
    missing = sorted(set(args.sets or SETS) - set(available()))
    if missing:
        print(f"data not found for {', '.join(missing)} (set TRACKER_SHARED_DATA to the shared data folder)")
    sets = {n: SETS[n]() for n in names}
    vectors = {(n, enc): embed_cached(dev.texts, enc) for n, dev in sets.items() for enc in ENCODERS}

    checks: list[tuple[str, bool]] = []
    goal: dict[str, float] = {}
    speed: tuple[float, float] | None = None
    for name, dev in sets.items():
        rows: dict[tuple[str, str], Result] = {}
        for enc in ENCODERS:
            rows[(enc, "ours")] = evaluate(dev, *run_ours(vectors[(name, enc)], dev.languages))
            if not args.skip_bertopic:
                try:
                    runs = [evaluate(dev, *run_bertopic(dev.texts, vectors[(name, enc)], seed))
                            for seed in range(args.bertopic_runs)]
                except ImportError:
                    print("BERTopic is not installed (pip install -e .[bench]): ours alone")
                    args.skip_bertopic = True
                else:
                    rows[(enc, "BERTopic")] = mean_result(runs)
        print_set(dev, rows)
        checks += acceptance(name, rows)
        theirs = [rows[(e, "BERTopic")].f1 for e in ENCODERS if (e, "BERTopic") in rows]
        goal[name] = target(max(theirs)) if theirs else rows[(DEFAULT_MODEL, "ours")].f1
        if name == "euvsdisinfo" and (DEFAULT_MODEL, "BERTopic") in rows:
            speed = (rows[(DEFAULT_MODEL, "ours")].seconds, rows[(DEFAULT_MODEL, "BERTopic")].seconds)
    print(f"\n(BERTopic rows: mean over UMAP seeds 0-{args.bertopic_runs - 1}; "
          "'noise in': unrelated statements placed in a narrative)")

    if not args.no_grid and len(sets) > 1:
        grids = {enc: level_grid(sets, vectors, enc) for enc in ENCODERS}
        print_leave_one_out(grids[DEFAULT_MODEL], goal)
        print_choice(grids, goal)
    if speed is not None:
        checks.append((f"fit {speed[1] / speed[0]:.1f}x faster than BERTopic on euvsdisinfo "
                       f"({speed[0]:.2f} s against {speed[1]:.2f} s)", speed[1] >= TARGET_SPEED * speed[0]))
    print(f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
