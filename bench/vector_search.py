"""Similar statements and search by meaning at 1M statements: the vector index against the full snapshot
(issue 18 part A), side by side in one run.

Builds once (cached under bench/results/, git-ignored) a SQLite database of ``--n`` statements through
the real code paths (``jobs.store_stream``, ``embed.embed_pending``) whose vectors are stored under the
default model's name, ``usem3-multilingual`` (512-d): each is a real USE vector of an EUvsDisinfo
title plus noise at cosine ~0.8 (``vector_libs.around``), so the corpus has the real vectors' topical
structure and a search by meaning typed as text (embedded by the real USE model in the server) lands in
it. Then, in this order:

  index build  ``tracker.vector_index.update.update_index`` from scratch (timed once, then reused)
  recall@10    the index's neighbours against exact search (``Snapshot``, the reference), for 200
               statements' similar lists and 200 search vectors
  update       10,000 new statements stored and embedded, then the index update (a new segment): seconds
  web          ``tracker serve`` (waitress, ``--threads``) twice: ``search.engine = usearch`` and the old
               path ``search.engine = exact`` (every vector loaded into the process); ``--clients``
               closed-loop clients for ``--seconds`` each on GET /api/statements/<id>?similar=10 and GET
               /api/search?q=<an EUvsDisinfo title>; p50 / p95 and the server's memory afterwards (RSS,
               of it anonymous and file-backed, and PSS: file pages of the mapped index are shared by
               every process of the machine and are the page cache's, not the process's own)

Targets: p95 <= 100 ms at 50 clients for both requests, web process RSS <= 500 MB, recall@10 >= 0.95,
update after 10k new statements <= 10 s. Exits non-zero on a FAIL.

    .venv/bin/python bench/vector_search.py [--n 1000000] [--clients 50] [--seconds 20] [--threads 8]
                                            [--skip-exact] [--rebuild] [--web-only]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vector_libs import around, real_vectors, shared_data, unit  # noqa: E402
from web_load import drive, free_port, percentile, warm  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODEL = "usem3-multilingual"
TARGET_P95_MS = 100.0
TARGET_RSS_MB = 500.0
TARGET_RECALL = 0.95
TARGET_UPDATE_S = 10.0
UPDATE_N = 10_000
SAMPLES = 200
_NUMBER = re.compile(r"statement (\d+)$")


def db_path(n: int) -> Path:
    return RESULTS / f"vector_search_{n}.db"


def vectors_path(n: int) -> Path:
    return RESULTS / f"vector_search_{n}.f16.npy"


class CorpusEmbedder:
    """The corpus's vectors by statement number (written at the end of each synthetic text)."""

    name = MODEL
    dim = 512

    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [int(m.group(1)) if (m := _NUMBER.search(t)) else 0 for t in texts]
        return np.asarray(self.table[rows], dtype=np.float32)


def make_vectors(total: int) -> np.ndarray:
    """``total`` corpus vectors (float16, memory-mapped; made once)."""
    path = vectors_path(total)
    if not path.exists():
        real = unit(real_vectors())
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(total, real.shape[1]))
        for start in range(0, total, 200_000):
            m = min(200_000, total - start)
            out[start : start + m] = around(real, m, 1000 + start // 200_000)
        out.flush()
        del out
    return np.load(path, mmap_mode="r")


def config(path: Path, engine: str) -> Any:
    from tracker.config import load_config

    passed = {k: v for k, v in os.environ.items() if k.startswith("TRACKER_SEARCH_")}  # e.g. EXPANSION_SEARCH
    return load_config(env={**passed, "TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": f"sqlite:///{path}",
                            "TRACKER_DATA_DIR": str(RESULTS / "vector_search_data"), "TRACKER_SEARCH_ENGINE": engine})


def build(n: int, rebuild: bool) -> dict[str, Any]:
    """The database and its index (made once; ``.done`` records how long they took)."""
    from scale_bench import drafts

    from tracker import jobs
    from tracker.db import Database, ensure_schema
    from tracker.embed import embed_pending
    from tracker.vector_index.update import update_index

    path = db_path(n)
    done = path.with_name(path.name + ".done")
    if done.exists() and not rebuild:
        return dict(json.loads(done.read_text()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        if leftover.is_dir():
            for f in leftover.iterdir():
                f.unlink()
            leftover.rmdir()
        else:
            leftover.unlink()
    table = make_vectors(n + 10 * UPDATE_N)  # room for ten update rounds
    db = Database(f"sqlite:///{path}")
    ensure_schema(db)
    out: dict[str, Any] = {"n": n}
    t = time.perf_counter()
    jobs.store_stream(db, drafts(0, n), batch_size=5000)
    out["import_s"] = round(time.perf_counter() - t, 1)
    print(f"  imported {n:,} statements in {out['import_s']} s", flush=True)
    t = time.perf_counter()
    embed_pending(db, CorpusEmbedder(table), dtype="float16", chunk=50_000)
    out["embed_store_s"] = round(time.perf_counter() - t, 1)
    print(f"  stored {n:,} vectors in {out['embed_store_s']} s", flush=True)
    t = time.perf_counter()
    report = update_index(db, config(path, "usearch"), MODEL, rebuild=True)
    out["index_build_s"] = round(time.perf_counter() - t, 1)
    print(f"  index built in {out['index_build_s']} s: {report}", flush=True)
    out["rounds"] = 0
    db.dispose()
    done.write_text(json.dumps(out))
    return out


def recall(n: int) -> dict[str, Any]:
    """The index against exact search, in this process, for similar lists and search vectors."""
    from sqlalchemy import func, select

    from tracker.db import Database
    from tracker.models import Statement
    from tracker.similarity import Snapshot, VectorIndexes
    from tracker.vector_index.files import index_dir
    from tracker.vector_index.reader import IndexedNeighbours

    path = db_path(n)
    cfg = config(path, "usearch")
    db = Database(f"sqlite:///{path}")
    rng = np.random.default_rng(11)
    with db.reader() as session:
        top = int(session.scalar(select(func.max(Statement.id))) or 0)
        t = time.perf_counter()
        exact = Snapshot.load(session, MODEL)
        load_s = time.perf_counter() - t
        indexed = VectorIndexes(cfg.search, index_dir(cfg))[MODEL].current(session, 0)
        assert isinstance(indexed, IndexedNeighbours), "no usable index"
        queries = [("similar", int(sid), None) for sid in rng.integers(1, top + 1, SAMPLES)]
        queries += [("search", None, q) for q in around(unit(real_vectors()), SAMPLES, 99)]
        out: dict[str, Any] = {"exact_load_s": round(load_s, 1)}
        for kind in ("similar", "search"):
            hits = total = 0
            took: dict[str, list[float]] = {"index": [], "exact": []}
            for k, sid, q in queries:
                if k != kind:
                    continue
                vector = indexed.vector_of(sid) if sid is not None else q
                if vector is None:
                    continue
                t = time.perf_counter()
                ref = exact.nearest(vector, 10, exclude=sid)
                took["exact"].append(time.perf_counter() - t)
                t = time.perf_counter()
                got = indexed.nearest(vector, 10, exclude=sid)
                took["index"].append(time.perf_counter() - t)
                hits += len({i for i, _ in got} & {i for i, _ in ref})
                total += len(ref)
            out[f"{kind}_recall10"] = round(hits / max(total, 1), 4)
            out[f"{kind}_one_query_ms"] = {m: round(1000 * float(np.median(v)), 2) for m, v in took.items()}
    db.dispose()
    return out


def update(n: int, meta: dict[str, Any]) -> dict[str, Any]:
    """10,000 new statements stored and embedded, then the index update (timed)."""
    from scale_bench import drafts

    from tracker import jobs
    from tracker.db import Database
    from tracker.embed import embed_pending
    from tracker.vector_index.update import update_index

    path = db_path(n)
    start = n + meta["rounds"] * UPDATE_N
    if meta["rounds"] >= 10:
        return {"skipped": "ten update rounds done: --rebuild for more"}
    db = Database(f"sqlite:///{path}")
    jobs.store_stream(db, drafts(start, UPDATE_N), batch_size=5000)
    embed_pending(db, CorpusEmbedder(make_vectors(n + 10 * UPDATE_N)), dtype="float16", chunk=50_000)
    t = time.perf_counter()
    report = update_index(db, config(path, "usearch"), MODEL)
    seconds = time.perf_counter() - t
    db.dispose()
    meta["rounds"] += 1
    path.with_name(path.name + ".done").write_text(json.dumps(meta))
    return {"seconds": round(seconds, 2), **{k: report.get(k) for k in ("mode", "added", "vectors", "segments")}}


def memory(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                out["Pss"] = round(int(line.split()[1]) / 1024, 1)
    return out


def serve(n: int, engine: str, port: int, threads: int) -> subprocess.Popen[bytes]:
    import urllib.request

    env = {**os.environ, "TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": f"sqlite:///{db_path(n)}",
           "TRACKER_AUTH_PUBLIC_READ": "true", "TRACKER_WEB_THREADS": str(threads), "TRACKER_SEARCH_ENGINE": engine,
           "TRACKER_DATA_DIR": str(RESULTS / "vector_search_data"), "HF_HUB_OFFLINE": "1"}
    log = (RESULTS / f"vector_search_server_{engine}.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "tracker"), "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tracker serve exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/me", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("tracker serve did not answer within 120 s")


def titles() -> list[str]:
    with open(shared_data() / "euvsdisinfo-cases-2018-2021.csv", newline="", encoding="utf-8") as fh:
        return [row["title"] for row in csv.DictReader(fh)]


def web(n: int, engine: str, clients: int, seconds: float, threads: int) -> dict[str, Any]:
    from urllib.parse import quote

    rng = np.random.default_rng(5)
    similar = [(f"/api/statements/{int(i)}?similar=10",) for i in rng.integers(1, n + 1, 2000)]
    search = [(f"/api/search?q={quote(t)}&limit=10",) for t in titles()[:2000]]
    port = free_port()
    proc = serve(n, engine, port, threads)
    out: dict[str, Any] = {"engine": engine}
    try:
        t = time.perf_counter()
        warm(port, [similar[0][0], search[0][0]])  # the exact path loads every vector here
        out["first_requests_s"] = round(time.perf_counter() - t, 1)
        for name, views in (("similar", similar), ("search", search)):
            res = drive(port, views, clients, seconds, 0.0, "gzip")
            lat = res.latencies
            out[name] = {"count": len(lat), "errors": res.errors,
                         "p50_ms": round(1000 * percentile(lat, 0.5), 1) if lat else None,
                         "p95_ms": round(1000 * percentile(lat, 0.95), 1) if lat else None}
            if res.errors:
                out[name]["first_error"] = res.first_error
        out["memory_mb"] = memory(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--skip-exact", action="store_true", help="measure only the index, not the old path")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database and the index")
    parser.add_argument("--web-only", action="store_true", help="only the web load (e.g. another --clients)")
    args = parser.parse_args()
    meta = build(args.n, args.rebuild)
    if args.web_only:
        for engine in ("usearch",) if args.skip_exact else ("usearch", "exact"):
            print(f"web: {json.dumps(web(args.n, engine, args.clients, args.seconds, args.threads))}", flush=True)
        return 0
    print(f"build: {json.dumps(meta)}", flush=True)
    rec = recall(args.n)
    print(f"recall: {json.dumps(rec)}", flush=True)
    upd = update(args.n, meta)
    print(f"update after {UPDATE_N:,} new statements: {json.dumps(upd)}", flush=True)
    runs = [web(args.n, "usearch", args.clients, args.seconds, args.threads)]
    print(f"web: {json.dumps(runs[0])}", flush=True)
    if not args.skip_exact:
        runs.append(web(args.n, "exact", args.clients, args.seconds, args.threads))
        print(f"web: {json.dumps(runs[1])}", flush=True)

    checks = [("recall@10 similar", rec["similar_recall10"], TARGET_RECALL, ">="),
              ("recall@10 search", rec["search_recall10"], TARGET_RECALL, ">="),
              ("index update after 10k (s)", upd.get("seconds"), TARGET_UPDATE_S, "<=")]
    print(f"\n| {args.n:,} statements, {args.clients} clients | index (usearch) | full snapshot (old) | target |")
    print("| --- | --- | --- | --- |")
    for name in ("similar", "search"):
        cells = [f"{r[name]['p95_ms']} ms (p50 {r[name]['p50_ms']}, {r[name]['count']} req, {r[name]['errors']} err)"
                 for r in runs]
        print(f"| p95 {name} | {' | '.join(cells + ['-'] * (2 - len(cells)))} | <= {TARGET_P95_MS:.0f} ms |")
        checks.append((f"p95 {name} (index)", runs[0][name]["p95_ms"], TARGET_P95_MS, "<="))
    mems = [f"{r['memory_mb'].get('VmRSS')} MB (anon {r['memory_mb'].get('RssAnon')}, file "
            f"{r['memory_mb'].get('RssFile')}, PSS {r['memory_mb'].get('Pss')})" for r in runs]
    print(f"| web process RSS | {' | '.join(mems + ['-'] * (2 - len(mems)))} | <= {TARGET_RSS_MB:.0f} MB |")
    firsts = [f"{r['first_requests_s']} s" for r in runs]
    print(f"| first two requests | {' | '.join(firsts + ['-'] * (2 - len(firsts)))} | - |")
    checks.append(("web RSS MB (index)", runs[0]["memory_mb"].get("VmRSS"), TARGET_RSS_MB, "<="))
    ok = True
    print()
    for name, value, target, op in checks:
        good = value is not None and (value >= target if op == ">=" else value <= target)
        ok &= good
        print(f"{'PASS' if good else 'FAIL'}  {name}: {value} (target {op} {target})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
