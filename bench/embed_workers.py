"""Embedding workers against one PostgreSQL (issue 18, part B): two workers against one, side by side, and
``kill -9`` of one mid-chunk.

On a new PostgreSQL database (at $TRACKER_TEST_PG_URL's server) holding the EUvsDisinfo titles
(`tracker import --preset euvsdisinfo`, the first --rows of them), each round embeds the whole backlog
with one worker, then with two (alternating which goes first, since this shared machine drifts):

  worker  a process running ``jobs.embed`` (what `tracker embed` runs) with the configured model, one thread
          (embedding.threads = 1, and OMP/OPENBLAS/MKL at 1); it loads and warms its model first, then
          waits, so the clock measures embedding and storing, not Python start-up or loading the model
  time    from "go" to the last worker's exit; throughput = distinct texts / time

Then the kill check: two workers, one killed with SIGKILL once it has stored a chunk (so while it embeds
the next); the other must finish the backlog. Checked: one vector per distinct text, the job runs' stored
counts (each chunk counted in the transaction that stores it, so the killed one's too) add up to the
distinct texts (nothing stored twice, nothing lost), the backlog is empty.

Beside each round, the machine's own speed-up: the same model encoding all distinct texts in one bare
process against half of them in each of two (no database, no claims), so a shortfall can be told apart:
our coordination, or a machine whose second core is busy with other work or whose memory bandwidth the
model saturates.

Targets: two workers' throughput >= 1.8x one worker's (median of the rounds); the kill check passes.

    .venv/bin/python bench/embed_workers.py [--rows 7299] [--rounds 3] [--model M] [--chunk N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CSV = Path(os.environ.get("TRACKER_SHARED_DATA", ROOT.parent / "shared" / "data")) / \
    "euvsdisinfo-cases-2018-2021.csv"
ONE_THREAD = {"TRACKER_EMBEDDING_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}


def worker(part: str | None) -> int:
    """Child: load and warm the model, say "ready", wait for "go", then embed the backlog and store it
    (``jobs.embed``), or with ``part`` "k/n" only encode the k-th of n slices of the distinct texts,
    without the database: the machine's own speed-up, to read the workers' against."""
    from sqlalchemy import func, select

    from tracker import jobs
    from tracker.config import load_config
    from tracker.db import Database
    from tracker.embed import make_embedder
    from tracker.models import Statement

    cfg = load_config()
    embedder = make_embedder(cfg.embedding)
    embedder.embed(["warm up the model"])
    db = Database(cfg.database.url)
    texts: list[str] = []
    if part:
        k, n = (int(x) for x in part.split("/"))
        with db.reader() as session:
            texts = list(session.scalars(select(func.min(Statement.text)).group_by(Statement.text_hash)
                                         .order_by(Statement.text_hash)))[k::n]
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    if part:
        embedder.embed(texts)
        counts: dict[str, object] = {"encoded": len(texts)}
    else:
        counts = jobs.embed(db, cfg, embedder)
    print(json.dumps({**counts, "seconds": time.perf_counter() - started}), flush=True)
    return 0


def _spawn(env: dict[str, str], part: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--worker", *(["--part", part] if part else [])], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _ready(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        line = p.stdout.readline() if p.stdout else ""
        if line.strip() != "ready":
            raise SystemExit(f"worker did not start: {p.stderr.read() if p.stderr else ''}"[-3000:])


def _go(procs: list[subprocess.Popen[str]]) -> float:
    started = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return started


def run_workers(env: dict[str, str], n: int, *, raw: bool = False) -> float:
    """Seconds for ``n`` warmed workers to embed the whole backlog (``raw``: to encode 1/n of it each)."""
    procs = [_spawn(env, f"{k}/{n}" if raw else None) for k in range(n)]
    _ready(procs)
    started = _go(procs)
    for p in procs:
        _, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"worker failed ({p.returncode}):\n{err[-3000:]}")
    return time.perf_counter() - started


def kill_check(env: dict[str, str], db_url: str) -> dict[str, int]:
    """Two workers; SIGKILL the first once it has stored a chunk; the other finishes. What was stored."""
    from sqlalchemy import select

    from tracker.db import Database
    from tracker.models import JobRun

    db = Database(db_url)
    victim, survivor = _spawn(env), _spawn(env)
    _ready([victim, survivor])
    _go([victim, survivor])
    victim_run = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with db.reader() as session:
            runs = session.execute(select(JobRun.id, JobRun.worker, JobRun.counts).where(JobRun.kind == "embed")).all()
        victim_run = next((r for r in runs if r.worker and r.worker.endswith(f":{victim.pid}")), None)
        if victim_run is not None and (victim_run.counts or {}).get("embedded", 0) > 0:
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(10)
            break
        if victim.poll() is not None:
            raise SystemExit("the worker to kill finished first: use more --rows or a smaller --chunk")
        time.sleep(0.005)
    _, err = survivor.communicate(timeout=3600)
    if survivor.returncode != 0:
        raise SystemExit(f"the surviving worker failed:\n{err[-3000:]}")
    with db.reader() as session:
        runs = session.execute(select(JobRun.worker, JobRun.counts, JobRun.status).where(JobRun.kind == "embed")).all()
    db.dispose()
    killed = next(r for r in runs if r.worker and r.worker.endswith(f":{victim.pid}"))
    alive = next(r for r in runs if r.worker and r.worker.endswith(f":{survivor.pid}"))
    return {"killed_stored": int((killed.counts or {}).get("embedded", 0)),
            "survivor_stored": int((alive.counts or {}).get("embedded", 0))}


def state(db_url: str, model: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from tracker.db import Database
    from tracker.models import Embedding, EmbeddingBacklog, Statement

    db = Database(db_url)
    with db.reader() as session:
        out = {"distinct": session.scalar(select(func.count(func.distinct(Statement.text_hash)))) or 0,
               "vectors": session.scalar(select(func.count()).where(Embedding.model == model)) or 0,
               "vector_keys": session.scalar(select(func.count(func.distinct(Embedding.text_hash)))
                                             .where(Embedding.model == model)) or 0,
               "backlog": session.scalar(select(func.count()).select_from(EmbeddingBacklog)) or 0}
    db.dispose()
    return out


def reset(db_url: str) -> None:
    """Forget every vector and embed run, so the next measurement embeds the whole backlog again."""
    from tracker.db import Database
    from tracker.models import Embedding, EmbeddingBacklog, JobRun

    db = Database(db_url)
    with db.transaction() as session:
        session.execute(Embedding.__table__.delete())
        session.execute(EmbeddingBacklog.__table__.delete())
        session.execute(JobRun.__table__.delete().where(JobRun.kind == "embed"))
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--rows", type=int, default=7299, help="first rows of the file to import")
    parser.add_argument("--rounds", type=int, default=3, help="side-by-side rounds (the median is judged)")
    parser.add_argument("--model", help="embedding model (default: the configured default)")
    parser.add_argument("--chunk", type=int, help="embedding.chunk_size (default: the configured default)")
    args = parser.parse_args()
    if args.worker:
        return worker(args.part)
    if not args.csv.exists():
        print(f"SKIP embedding workers: {args.csv} not found (set TRACKER_SHARED_DATA)")
        return 0
    from scale_bench import drop_pg, pg_url

    from tracker.config import load_config

    url = pg_url()
    if url is None:
        print("SKIP embedding workers: no PostgreSQL server")
        return 0
    work = Path(tempfile.mkdtemp(prefix="tracker-workers-"))
    env = {**os.environ, **ONE_THREAD, "HF_HUB_OFFLINE": "1", "TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": url,
           "TRACKER_DATA_DIR": str(work), "PYTHONPATH": str(ROOT)}
    if args.model:
        env["TRACKER_EMBEDDING_MODEL"] = args.model
    if args.chunk:
        env["TRACKER_EMBEDDING_CHUNK_SIZE"] = str(args.chunk)
    cfg = load_config(env=env)
    try:
        return _measure(args, env, url, cfg.embedding.model, cfg.embedding.chunk_size, work)
    finally:
        drop_pg(url)


def _measure(args: argparse.Namespace, env: dict[str, str], url: str, model: str, chunk: int, work: Path) -> int:
    part = work / "rows.csv"
    with args.csv.open(encoding="utf-8", newline="") as src, part.open("w", encoding="utf-8", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        for i, row in enumerate(reader):
            if i > args.rows:
                break
            writer.writerow(row)
    subprocess.run([sys.executable, "-m", "tracker.cli", "import", str(part), "--preset", "euvsdisinfo"], env=env,
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    distinct = state(url, model)["distinct"]
    rounds: list[tuple[float, float, float, float]] = []
    for i in range(args.rounds):
        times: dict[int, float] = {}
        for n in ((1, 2) if i % 2 == 0 else (2, 1)):
            reset(url)
            times[n] = run_workers(env, n)
            got = state(url, model)
            if got["vectors"] != distinct or got["vector_keys"] != distinct or got["backlog"]:
                raise SystemExit(f"{n} worker(s) left the backlog unfinished: {got}, {distinct} distinct texts")
        raw = {n: run_workers(env, n, raw=True) for n in ((1, 2) if i % 2 == 0 else (2, 1))}
        rounds.append((times[1], times[2], raw[1], raw[2]))
    reset(url)
    killed = kill_check(env, url)
    after = state(url, model)
    print(f"embedding workers on one PostgreSQL: {distinct:,} distinct EUvsDisinfo titles ({args.rows:,} rows), "
          f"model {model}, one thread each, chunks of {chunk}, models loaded before the clock starts")
    print("  round   one worker          two workers         speed-up   machine: raw encode, one / two processes")
    for i, (one, two, raw1, raw2) in enumerate(rounds, 1):
        print(f"  {i:>5}   {one:6.1f} s {distinct / one:6.0f}/s   {two:6.1f} s {distinct / two:6.0f}/s   "
              f"{one / two:6.2f}x    {raw1:6.1f} s / {raw2:6.1f} s = {raw1 / raw2:4.2f}x")
    speedup = statistics.median(r[0] / r[1] for r in rounds)
    machine = statistics.median(r[2] / r[3] for r in rounds)
    print(f"  median speed-up the machine gave two bare encoders (no database) at the same time   {machine:5.2f}x")
    ok_speed = speedup >= 1.8
    print(f"  median speed-up two / one workers   {speedup:5.2f}x   target >= 1.8x   {'PASS' if ok_speed else 'FAIL'}")
    stored = killed["killed_stored"] + killed["survivor_stored"]
    ok_kill = (after["vectors"] == after["vector_keys"] == distinct == stored) and after["backlog"] == 0
    print(f"  kill -9 mid-chunk: killed worker had stored {killed['killed_stored']:,}, the other stored "
          f"{killed['survivor_stored']:,}; sum {stored:,} = distinct {distinct:,}; vectors {after['vectors']:,} "
          f"({after['vector_keys']:,} distinct); backlog left {after['backlog']}   {'PASS' if ok_kill else 'FAIL'}")
    return 0 if ok_speed and ok_kill else 1


if __name__ == "__main__":
    raise SystemExit(main())
