"""Incremental assignment speed: 1,000 new statements against 1,000 narratives, embedding excluded.

Run from the project root: ``.venv/bin/python bench/assign_speed.py``. Synthetic 384-d unit
vectors: 1,000 narrative centroids, and 1,000 statements placed near random centroids at varied
distances so that the three outcomes (auto, suggested, pool) all occur. Everything goes through
``assign_pending`` on a temporary SQLite database; the time is split into loading, scoring and
writing. Target: < 1 s in total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config import load_config  # noqa: E402
from tracker.db import Database, ensure_schema  # noqa: E402
from tracker.embed import to_bytes  # noqa: E402
from tracker.ingest.drafts import StatementDraft  # noqa: E402
from tracker.ingest.store import store_drafts, text_hash  # noqa: E402
from tracker.models import Embedding, Narrative  # noqa: E402
from tracker.narratives.assign import assign_pending  # noqa: E402

MODEL = "synthetic-384"
TARGET_SECONDS = 1.0


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def populate(db: Database, n_narratives: int, n_statements: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centroids = unit_rows(rng.standard_normal((n_narratives, dim)))
    home = rng.integers(0, n_narratives, n_statements)
    closeness = rng.uniform(0.3, 1.0, n_statements)[:, None]  # cosine to the home centroid, roughly
    noise = unit_rows(rng.standard_normal((n_statements, dim)))
    vectors = unit_rows(closeness * centroids[home] + np.sqrt(1 - closeness**2) * noise)
    texts = [f"synthetic statement {i}" for i in range(n_statements)]
    with db.transaction() as session:
        session.execute(Narrative.__table__.insert(), [
            {"label": f"narrative {i}", "status": "active", "origin": "discovered", "model": MODEL,
             "centroid": c.tobytes(), "keywords": [], "representative_ids": [], "examples": [], "size": 0,
             "locked": False, "label_edited": False} for i, c in enumerate(centroids)])
        store_drafts(session, [StatementDraft(t, external_id=t, outlet="Synthetic") for t in texts])
        session.execute(Embedding.__table__.insert(), [
            {"text_hash": text_hash(t), "model": MODEL, "dim": dim, "dtype": "float32", "vector": b}
            for t, b in zip(texts, to_bytes(vectors, "float32"), strict=True)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--narratives", type=int, default=1000)
    ap.add_argument("--statements", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'speed.db'}"
        db = Database(url)
        ensure_schema(db)
        cfg = load_config(env={"TRACKER_DATABASE_URL": url}).narratives
        populate(db, args.narratives, args.statements, args.dim, args.seed)
        t0 = time.perf_counter()
        report = assign_pending(db, cfg, MODEL)
        wall = time.perf_counter() - t0
        db.dispose()
    print(f"{report.candidates} statements x {args.narratives} narratives ({args.dim}-d), SQLite")
    print(f"  auto-assigned {report.assigned}, suggested {report.suggested}, pool {report.unassigned}")
    print(f"  load {report.seconds_load:.3f} s, score {report.seconds_score:.3f} s, "
          f"write {report.seconds_write:.3f} s, total {wall:.3f} s")
    ok = wall < TARGET_SECONDS
    print(f"{'PASS' if ok else 'FAIL'}  assignment < {TARGET_SECONDS:.0f} s beyond embedding ({wall:.3f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
