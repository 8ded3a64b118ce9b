"""Discovery at scale: fit time and peak memory of NarrativeDiscoverer on 10k, 30k and 100k vectors.

Run from the project root: ``.venv/bin/python bench/discovery_scale.py``. Each size runs in its own
subprocess so peak RSS (resource.getrusage) belongs to that size alone; the fit's own peak
allocation is measured with tracemalloc (numpy reports its buffers to it). The vectors are synthetic
384-d unit vectors: a mixture of ~300 gaussian clusters plus 10% uniform noise. The check is that
peak memory above the interpreter's baseline grows no faster than linearly with n.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 30_000, 100_000)
DIM = 384
N_CLUSTERS = 300
NOISE_SHARE = 0.1


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_CLUSTERS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_noise = int(n * NOISE_SHARE)
    which = rng.integers(0, N_CLUSTERS, size=n - n_noise)
    x = np.empty((n, DIM), dtype=np.float32)
    x[: n - n_noise] = centres[which] + rng.normal(scale=0.04, size=(n - n_noise, DIM)).astype(np.float32)
    x[n - n_noise :] = rng.normal(size=(n_noise, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_one(n: int) -> dict[str, float]:
    """Fit at one size in this process; memory is reported relative to the data-and-imports baseline."""
    sys.path.insert(0, str(ROOT))
    from tracker.narratives.discover import NarrativeDiscoverer

    x = synthetic(n)
    t0 = time.perf_counter()
    tracemalloc.start()
    est = NarrativeDiscoverer(random_state=0).fit(x)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seconds = time.perf_counter() - t0
    return {
        "n": n,
        "seconds": seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "fit_extra_mib": traced_peak / 2**20,
        "data_mib": x.nbytes / 2**20,
        "narratives": est.n_narratives_,
        "coverage": float(np.mean(est.labels_ >= 0)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    rows = []
    print(
        f"{'n':>8}{'seconds':>10}{'peak RSS MiB':>14}{'fit peak MiB':>15}{'data MiB':>10}"
        f"{'narratives':>12}{'coverage':>10}"
    )
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{row['n']:>8}{row['seconds']:>10.1f}{row['peak_rss_mib']:>14.0f}{row['fit_extra_mib']:>15.0f}"
            f"{row['data_mib']:>10.0f}{row['narratives']:>12}{row['coverage']:>10.3f}",
            flush=True,
        )
    # Linear growth: extra memory per statement at the largest size is no more than at the smallest
    # (10% slack plus a fixed 64 MiB allowance for the size-independent k x k merge matrix).
    small, large = rows[0], rows[-1]
    allowed = small["fit_extra_mib"] * large["n"] / small["n"] * 1.1 + 64
    ok = large["fit_extra_mib"] <= allowed
    print(
        f"\n{'PASS' if ok else 'FAIL'}  memory grows no faster than linearly: "
        f"{large['fit_extra_mib']:.0f} MiB at n={large['n']} <= {allowed:.0f} MiB "
        f"(linear extrapolation from n={small['n']} + 10% + 64 MiB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
