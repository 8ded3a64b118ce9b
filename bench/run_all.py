"""`make bench`: run every benchmark in its own process, one after another, and sum up PASS/FAIL.

Each benchmark prints its own figures side by side (ours against the reference, measured in the
same run) and exits non-zero when a target fails. Pass names to run a subset:

    .venv/bin/python bench/run_all.py quality timeline_bench
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

ORDER = (
    "quality",  # discovery vs BERTopic on six dev sets, two encoders (issues 3, 13)
    "labels",  # narrative names against the dev sets' claims (issue 14)
    "stability",  # narrative ids after 20% more statements (issue 3)
    "assign_speed",  # 1,000 new statements x 1,000 narratives (issue 3)
    "discovery_scale",  # 10k-100k statements, time and memory (issue 3)
    "timeline_bench",  # 10,000-statement timeline (issue 5)
    "pipeline_bench",  # import + run against raw encode (issues 8, 18)
    "embed_workers",  # two embedding workers on one PostgreSQL against one, and kill -9 (issue 18)
    "web_load",  # dashboard/API p95 at 50 clients (issues 7, 8)
    "cold_page",  # cold narrative page interactive in Chromium (issue 16)
    "scale_bench",  # 1M statements on SQLite and PostgreSQL (issue 8)
)


def main(argv: list[str]) -> int:
    wanted = argv or [name for name in ORDER if (HERE / f"{name}.py").exists()]
    results: list[tuple[str, int, float]] = []
    for name in wanted:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"\n=== {name}: no such benchmark")
            results.append((name, 2, 0.0))
            continue
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        results.append((name, code, time.perf_counter() - started))
    print("\n=== summary")
    for name, code, seconds in results:
        print(f"  {name:<18} {'PASS' if code == 0 else 'FAIL'}  ({seconds:.0f} s)")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
