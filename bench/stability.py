"""Narrative id stability: do narratives keep their ids when 20% more statements arrive?

Run from the project root: ``.venv/bin/python bench/stability.py``. It stores a random 83.3% of the
EUvsDisinfo titles in a temporary SQLite database (vectors of the default encoder, cached under
bench/results/ as bench/quality.py does; ``--model`` picks another), runs full discovery through
``run_discovery``, then
adds the remaining 16.7% (20% more) and, on two copies of that database, runs

* full discovery again (``tracker cluster --full``), and
* incremental assignment plus pool discovery (``tracker cluster``),

and reports the share of previously assigned statements that keep their narrative id (target
>= 95%), with counts of kept, created, split, merged and retired narratives.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gold import default_data_path  # noqa: E402
from quality import embed_cached  # noqa: E402
from sqlalchemy import select  # noqa: E402

from tracker.config import DEFAULT_MODEL, Config, load_config  # noqa: E402
from tracker.db import Database, ensure_schema  # noqa: E402
from tracker.embed import to_bytes  # noqa: E402
from tracker.ingest.drafts import StatementDraft  # noqa: E402
from tracker.ingest.store import store_drafts, text_hash  # noqa: E402
from tracker.models import Assignment, Embedding, Statement  # noqa: E402

TARGET = 0.95
FIRST_SHARE = 1 / 1.2  # 83.3%, so the rest is 20% more


def load_titles(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(row.get("title") or "").strip() for row in csv.DictReader(fh)]


def add_statements(db: Database, rows: list[int], titles: list[str], vectors: np.ndarray, model: str) -> None:
    """Store titles ``rows`` as statements and their vectors as embeddings (one per distinct text)."""
    drafts = [StatementDraft(titles[i], external_id=f"case-{i}", outlet="EUvsDisinfo") for i in rows]
    with db.transaction() as session:
        store_drafts(session, drafts)
        known = set(session.scalars(select(Embedding.text_hash).where(Embedding.model == model)))
        fresh: dict[str, int] = {}
        for i in rows:
            h = text_hash(titles[i])
            if h not in known and h not in fresh:
                fresh[h] = i
        blobs = to_bytes(vectors[list(fresh.values())], "float32") if fresh else []
        session.execute(Embedding.__table__.insert(), [
            {"text_hash": h, "model": model, "dim": vectors.shape[1], "dtype": "float32", "vector": b}
            for h, b in zip(fresh, blobs, strict=True)])


def current_map(db: Database) -> dict[int, int]:
    """statement id -> narrative id of its current (assigned or confirmed) assignment."""
    with db.reader() as session:
        return dict(session.execute(select(Assignment.statement_id, Assignment.narrative_id).where(
            Assignment.state.in_(("assigned", "confirmed")))).all())


def statement_ids(db: Database) -> set[int]:
    with db.reader() as session:
        return set(session.scalars(select(Statement.id)))


def kept_share(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(after.get(s) == n for s, n in before.items()) / max(1, len(before))


def make_config(url: str, seed: int) -> Config:
    cfg = load_config(env={"TRACKER_DATABASE_URL": url})
    return cfg.replace(narratives={"random_state": seed})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the subset draw and of the estimator")
    ap.add_argument("--model", default=DEFAULT_MODEL, help="encoder whose vectors are clustered")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    path = default_data_path()
    if not path.exists():
        print(f"data set not found: {path} (set TRACKER_SHARED_DATA)", file=sys.stderr)
        return 2
    titles = load_titles(path)
    vectors = embed_cached(titles, args.model)
    order = np.random.default_rng(args.seed).permutation(len(titles))
    n_first = int(round(len(titles) * FIRST_SHARE))
    first, rest = sorted(order[:n_first].tolist()), sorted(order[n_first:].tolist())

    from tracker import jobs
    from tracker.narratives.registry import run_discovery

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        db = Database(f"sqlite:///{base}")
        ensure_schema(db)
        cfg = make_config(f"sqlite:///{base}", args.seed)
        add_statements(db, first, titles, vectors, args.model)
        t0 = time.perf_counter()
        r1 = run_discovery(db, cfg.narratives, args.model)
        t_first = time.perf_counter() - t0
        before = current_map(db)
        db.dispose()
        print(f"first run: {r1.statements} statements -> {r1.clusters} narratives, {r1.assigned} assigned "
              f"({r1.assigned / r1.statements:.1%}), {t_first:.1f} s")

        results = {}
        for mode in ("full", "incremental"):
            path_mode = Path(tmp) / f"{mode}.db"
            shutil.copyfile(base, path_mode)
            db = Database(f"sqlite:///{path_mode}")
            cfg = make_config(f"sqlite:///{path_mode}", args.seed)
            add_statements(db, rest, titles, vectors, args.model)
            t0 = time.perf_counter()
            counts = jobs.cluster(db, cfg, args.model, full=(mode == "full"))
            seconds = time.perf_counter() - t0
            after = current_map(db)
            every = statement_ids(db)
            db.dispose()
            results[mode] = kept_share(before, after)
            new_ids = every - set(before)
            print(f"\n{mode}: +{len(rest)} statements ({len(rest) / len(first):.1%} more), {seconds:.1f} s")
            print(f"  kept narrative id: {results[mode]:.2%} of {len(before)} previously assigned "
                  f"(report says {counts.get('stability', results[mode]):.2%})")
            if mode == "full":
                print("  narratives: " + ", ".join(f"{k} {counts[k]}" for k in
                                                    ("clusters", "kept", "created", "split", "merged", "retired")))
            else:
                print(f"  new statements: {counts['assigned']} auto-assigned, {counts['suggested']} suggested, "
                      f"{counts['emerging_created']} emerging narratives from the pool, {counts['pool']} in pool")
            print(f"  new statements with a narrative: {sum(1 for s in new_ids if s in after) / len(new_ids):.1%}; "
                  f"all statements with a narrative: {len(after) / len(every):.1%}")

    print()
    ok = True
    for mode, share in results.items():
        passed = share >= TARGET
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {mode}: {share:.2%} keep their narrative id (target >= {TARGET:.0%})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
