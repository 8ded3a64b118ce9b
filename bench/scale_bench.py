"""Throughput at scale (issue 8, item 2): synthetic statements through the real code paths.

For each database (SQLite file, and PostgreSQL at $TRACKER_TEST_PG_URL when a server answers):
  import      N synthetic drafts through `jobs.store_stream` (normalise, dedup, actors, bulk insert)
  embed       their vectors through `embed.embed_pending` with a synthetic embedder (topic centre +
              noise, derived from the text, so the vectors are real data for the clusterer)
  discover    full discovery through `jobs.cluster(full=True)` (estimator + id registry + writes),
              in a child process so its peak memory is its own
  assign      10,000 new statements through incremental `jobs.cluster`
and prints rates, times and peak memory, with PASS/FAIL for discovery memory < 4 GiB.

    .venv/bin/python bench/scale_bench.py [--n 1000000] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config import Config, load_config  # noqa: E402
from tracker.db import Database, ensure_schema  # noqa: E402
from tracker.ingest.drafts import StatementDraft  # noqa: E402

TOPICS = 300
DIM = 384
WORDS = ("laboratory", "pentagon", "sanctions", "expansion", "regime", "provocation", "sovereignty", "dollar",
         "hegemony", "pipeline", "election", "protest", "vaccine", "weapons", "border", "alliance", "media",
         "intelligence", "referendum", "energy", "grain", "nuclear", "western", "eastern", "colour", "revolution")
GIB = 1024**3


class SyntheticEmbedder:
    """Vectors from the topic number written in the text: a fixed centre per topic plus noise."""

    name = "synthetic-384"
    dim = DIM

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        centres = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            topic = int(text.split("#", 2)[1]) % TOPICS
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            noise = np.random.default_rng(seed).normal(scale=0.045, size=DIM).astype(np.float32)
            vec = self.centres[topic] + noise
            out[i] = vec / np.linalg.norm(vec)
        return out


def drafts(start: int, count: int) -> Iterator[StatementDraft]:
    rng = np.random.default_rng(start)
    base = datetime(2018, 1, 1, tzinfo=UTC)
    for i in range(start, start + count):
        topic = int(rng.integers(TOPICS))
        words = " ".join(WORDS[j] for j in rng.integers(len(WORDS), size=8))
        yield StatementDraft(
            text=f"claim #{topic}# {words} statement {i}",
            external_id=f"syn-{i}",
            published_at=base + timedelta(minutes=int(rng.integers(60 * 24 * 365 * 6))),
            actor=f"speaker {int(rng.integers(2000))}",
            actor_kind=("official", "state_media", "proxy")[i % 3],
            outlet=f"outlet {int(rng.integers(500))}",
            country=("RU", "CN", "BY", "IR", "SY")[i % 5],
            language="en",
            origin=f"synthetic:{i}",
        )


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def phase_discover(url: str) -> None:
    """Child process: full discovery only, so the peak memory printed is this phase's."""
    from tracker import jobs

    cfg = load_config(env={"TRACKER_DATABASE_URL": url, "TRACKER_CONFIG": ""})
    db = Database(url)
    started = time.perf_counter()
    counts = jobs.cluster(db, cfg, SyntheticEmbedder.name, full=True)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_gib": peak_gib(),
                      "narratives": counts.get("clusters"), "assigned": counts.get("assigned"),
                      "fit_seconds": counts.get("seconds_fit")}))


def run_backend(name: str, url: str, n: int, cfg: Config) -> dict[str, float]:
    from tracker import jobs
    from tracker.embed import embed_pending

    db = Database(url)
    ensure_schema(db)
    out: dict[str, float] = {}
    started = time.perf_counter()
    stats = jobs.store_stream(db, drafts(0, n), batch_size=5000)
    out["import_rate"] = stats.inserted / (time.perf_counter() - started)
    embedder = SyntheticEmbedder()
    started = time.perf_counter()
    embedded = embed_pending(db, embedder, dtype=cfg.embedding.storage_dtype, chunk=50_000).embedded
    out["embed_store_rate"] = embedded / (time.perf_counter() - started)
    child = subprocess.run([sys.executable, __file__, "--discover-child", url], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    disc = json.loads(child.stdout.strip().splitlines()[-1])
    out.update({"discover_seconds": disc["seconds"], "discover_fit_seconds": disc["fit_seconds"] or 0.0,
                "discover_peak_gib": disc["peak_gib"], "narratives": disc["narratives"] or 0})
    jobs.store_stream(db, drafts(n, 10_000), batch_size=5000)
    embed_pending(db, embedder, dtype=cfg.embedding.storage_dtype)
    started = time.perf_counter()
    counts = jobs.cluster(db, cfg, embedder.name)
    out["assign_rate"] = (counts.get("candidates") or 0) / (time.perf_counter() - started)
    db.dispose()
    return out


def pg_url() -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(base).set(database=name).render_as_string(hide_password=False)
    except Exception as exc:  # noqa: BLE001 - no server: say so and go on with SQLite
        print(f"  PostgreSQL skipped: {type(exc).__name__}: {exc}".splitlines()[0])
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--discover-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.discover_child:
        phase_discover(args.discover_child)
        return 0
    cfg = load_config(env={"TRACKER_CONFIG": ""})
    targets: list[tuple[str, str]] = []
    if args.db in ("sqlite", "both"):
        targets.append(("sqlite", f"sqlite:///{Path(tempfile.mkdtemp(prefix='tracker-scale-')) / 'scale.db'}"))
    if args.db in ("postgresql", "both"):
        url = pg_url()
        if url:
            targets.append(("postgresql", url))
    ok = True
    try:
        ok = report(targets, args.n, cfg)
    finally:
        for name, url in targets:
            if name == "postgresql":
                drop_pg(url)
    return 0 if ok else 1


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def report(targets: list[tuple[str, str]], n: int, cfg: Config) -> bool:
    ok = True
    print(f"scale: {n:,} synthetic statements, {TOPICS} topics, {DIM}-d vectors stored as "
          f"{cfg.embedding.storage_dtype}")
    for name, url in targets:
        r = run_backend(name, url, n, cfg)
        mem_ok = r["discover_peak_gib"] < 4.0
        ok &= mem_ok
        print(f"  {name:<10} import {r['import_rate']:8,.0f}/s   embed+store {r['embed_store_rate']:8,.0f}/s   "
              f"assign {r['assign_rate']:8,.0f}/s")
        print(f"  {'':<10} discovery {r['discover_seconds']:6.1f} s (fit {r['discover_fit_seconds']:.1f} s), "
              f"{int(r['narratives'])} narratives, peak {r['discover_peak_gib']:.2f} GiB   target < 4 GiB   "
              f"{'PASS' if mem_ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
