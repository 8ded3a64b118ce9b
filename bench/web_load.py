"""Dashboard and API latency under load (issue 7 acceptance, RELIABILITY.md item 23).

Builds (once, cached under bench/results/, git-ignored) a SQLite database of 100,000 synthetic
statements through the real code paths (``jobs.store_stream``, ``embed.embed_pending`` with the
synthetic embedder of ``scale_bench.py``, full discovery through ``jobs.cluster``), starts
``tracker serve`` (waitress) on a free loopback port with ``auth.public_read=true``, warms it up,
then drives N concurrent keep-alive clients (threads, ``http.client``; ``Accept-Encoding: gzip`` as browsers
and ``requests`` send it, bodies decoded in the client, ``--identity`` to ask for none) for a bounded time
per target:

  overview    /
  narrative   /narratives/<id> then its /narratives/<id>/chart.json (what the page's script fetches),
              timed together as one page view, rotating among the 20 largest narratives
  api         /api/narratives, /api/narratives/<id>, /api/narratives/<id>/timeline (same 20)

Clients are closed-loop: each sends its next request as soon as the previous one answered
(``--think`` adds a pause), so with 50 clients the p95 includes the queueing of 50 requests on a
2-core machine. Prints count, errors, median, p95 and p99 per target with PASS/FAIL against
p95 <= 200 ms and exits non-zero on any FAIL.

    .venv/bin/python bench/web_load.py [--n 100000] [--clients 50] [--seconds 20] [--threads 8]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_P95_MS = 200.0
TOP_NARRATIVES = 20
MAX_REQUESTS_PER_TARGET = 200_000  # a hard bound besides the time


# ---------------------------------------------------------------- the database


def db_path(n: int) -> Path:
    return RESULTS / f"web_load_{n}.db"


def build_database(n: int) -> None:
    """Child process: statements, vectors and narratives through the real code paths."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from scale_bench import SyntheticEmbedder, drafts

    from tracker import jobs
    from tracker.config import load_config
    from tracker.db import Database, ensure_schema
    from tracker.embed import embed_pending

    path = db_path(n)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    url = f"sqlite:///{path}"
    cfg = load_config(env={"TRACKER_DATABASE_URL": url, "TRACKER_CONFIG": ""})
    db = Database(url)
    ensure_schema(db)
    started = time.perf_counter()
    stats = jobs.store_stream(db, drafts(0, n), batch_size=5000)
    print(f"  imported {stats.inserted:,} statements in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    embedded = embed_pending(db, SyntheticEmbedder(), dtype=cfg.embedding.storage_dtype, chunk=50_000).embedded
    print(f"  embedded {embedded:,} in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    counts = jobs.cluster(db, cfg, SyntheticEmbedder.name, full=True)
    print(f"  discovery: {counts.get('clusters')} narratives, {counts.get('assigned')} assigned in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    db.dispose()
    (path.parent / (path.name + ".done")).write_text(json.dumps({"n": n, "narratives": counts.get("clusters")}))


def ensure_database(n: int, rebuild: bool) -> Path:
    path = db_path(n)
    done = path.parent / (path.name + ".done")
    if rebuild or not done.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        print(f"building {path.relative_to(ROOT)} ({n:,} synthetic statements; once, then reused)", flush=True)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, __file__, "--build-child", str(n)], check=True, env=env)
    return path


def largest_narratives(path: Path, k: int) -> list[int]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id FROM narratives WHERE status IN ('emerging', 'active', 'dormant') "
                            "ORDER BY size DESC, id LIMIT ?", (k,)).fetchall()
    return [int(r[0]) for r in rows]


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(path: Path, port: int, threads: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": f"sqlite:///{path}",
           "TRACKER_AUTH_PUBLIC_READ": "true", "TRACKER_WEB_THREADS": str(threads),
           "TRACKER_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    tracker = Path(sys.executable).parent / "tracker"
    log = (RESULTS / "web_load_server.log").open("wb")
    proc = subprocess.Popen([str(tracker), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tracker serve exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/me", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("tracker serve did not answer within 60 s")


# ---------------------------------------------------------------- the load


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def add(self, seconds: float, ok: bool, why: str = "") -> None:
        with self.lock:
            if ok:
                self.latencies.append(seconds)
            else:
                self.errors += 1
                self.first_error = self.first_error or why


def fetch(conn: http.client.HTTPConnection, url: str, accept: str) -> tuple[int, bytes]:
    """One GET on a kept-alive connection; a gzipped body is decoded, as a browser would (and billed)."""
    conn.request("GET", url, headers={"Connection": "keep-alive", "Accept-Encoding": accept})
    resp = conn.getresponse()
    body = resp.read()
    if resp.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return resp.status, body


def client(port: int, views: list[tuple[str, ...]], offset: int, stop_at: float, think: float, out: Results,
           budget: threading.Semaphore, accept: str) -> None:
    """Closed loop over ``views``; a view is one or more requests made in turn and timed together."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = offset
    while time.monotonic() < stop_at and budget.acquire(blocking=False):
        view = views[i % len(views)]
        i += 1
        started = time.perf_counter()
        try:
            statuses = [(fetch(conn, url, accept)[0], url) for url in view]
            elapsed = time.perf_counter() - started
            bad = [f"{status} on {url}" for status, url in statuses if status != 200]
            out.add(elapsed, not bad, "; ".join(bad))
        except (OSError, http.client.HTTPException) as exc:
            out.add(0.0, False, f"{type(exc).__name__} on {view}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if think:
            time.sleep(think)
    conn.close()


def drive(port: int, views: list[tuple[str, ...]], clients: int, seconds: float, think: float,
          accept: str) -> Results:
    out = Results()
    stop_at = time.monotonic() + seconds
    budget = threading.Semaphore(MAX_REQUESTS_PER_TARGET)
    workers = [threading.Thread(target=client, args=(port, views, k, stop_at, think, out, budget, accept),
                                daemon=True)
               for k in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def warm(port: int, urls: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for url in urls:
        conn.request("GET", url)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"warm-up: {url} answered {resp.status}")
    conn.close()


def targets(ids: list[int]) -> dict[str, list[tuple[str, ...]]]:
    """Views per target. A narrative page view is the page and the chart data its script then fetches."""
    api: list[tuple[str, ...]] = []
    for nid in ids:
        api += [("/api/narratives",), (f"/api/narratives/{nid}",), (f"/api/narratives/{nid}/timeline",)]
    return {"overview": [("/",)], "narrative": [(f"/narratives/{nid}", f"/narratives/{nid}/chart.json") for nid in ids],
            "api": api}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic statements in the database")
    parser.add_argument("--clients", type=int, default=50, help="concurrent keep-alive clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per target")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (web.threads)")
    parser.add_argument("--think", type=float, default=0.0, help="pause of each client between requests, s")
    parser.add_argument("--only", choices=("overview", "narrative", "api"), action="append",
                        help="run only these targets (repeatable)")
    parser.add_argument("--identity", action="store_true",
                        help="ask for uncompressed bodies (default: Accept-Encoding: gzip, as browsers send)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--build-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_child:
        build_database(args.build_child)
        return 0
    path = ensure_database(args.n, args.rebuild)
    ids = largest_narratives(path, TOP_NARRATIVES)
    if not ids:
        print("no narratives in the database: discovery found none")
        return 1
    port = free_port()
    data_dir = RESULTS / "web_load_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(path, port, args.threads, data_dir)
    ok = True
    try:
        plan = targets(ids)
        started = time.perf_counter()
        for views in plan.values():
            warm(port, [url for view in views for url in view])
        accept = "identity" if args.identity else "gzip"
        print(f"web load: {args.n:,} statements, {args.clients} clients, {args.seconds:.0f} s per target, "
              f"waitress threads {args.threads}, think {args.think:g} s, Accept-Encoding: {accept} "
              f"(warm-up {time.perf_counter() - started:.1f} s)")
        print(f"  {'target':<10} {'requests':>8} {'errors':>6} {'req/s':>7} {'median':>8} {'p95':>8} {'p99':>8}"
              f"   target p95 <= {TARGET_P95_MS:.0f} ms")
        for name, views in plan.items():
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            res = drive(port, views, args.clients, args.seconds, args.think, accept)
            elapsed = time.perf_counter() - started
            lat = [x * 1000 for x in res.latencies]
            if not lat:
                print(f"  {name:<10} no successful request ({res.errors} errors: {res.first_error})")
                ok = False
                continue
            p95 = percentile(lat, 0.95)
            passed = p95 <= TARGET_P95_MS and res.errors == 0
            ok &= passed
            print(f"  {name:<10} {len(lat):>8} {res.errors:>6} {len(lat) / elapsed:>7.0f} "
                  f"{statistics.median(lat):>6.0f}ms {p95:>6.0f}ms {percentile(lat, 0.99):>6.0f}ms   "
                  f"{'PASS' if passed else 'FAIL'}" + (f"  (first error: {res.first_error})" if res.errors else ""),
                  flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
