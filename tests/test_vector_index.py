"""The on-disk vector index behind similar statements and search (issue 18 part A), against exact search.

Exact search (``tracker.similarity.Snapshot``) is the reference: the index must find (nearly) the same
neighbours with the very same scores, see vectors stored after it was built at once, and, when missing,
unreadable or of another database, fall back to exact search, never to wrong statements.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import Config
from tracker.db import Database
from tracker.embed import to_bytes
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts, text_hash
from tracker.models import Embedding, Statement
from tracker.service import statements
from tracker.similarity import Snapshot, VectorIndexes
from tracker.vector_index.files import index_dir, manifest_path, read_manifest
from tracker.vector_index.reader import IndexedNeighbours
from tracker.vector_index.update import update_index

MODEL = "fake-32"
DIM = 32


def clustered(n: int, seed: int, centres: int = 40) -> np.ndarray:
    """``n`` unit vectors around ``centres`` fixed directions (the same directions for every seed)."""
    base = np.random.default_rng(0).standard_normal((centres, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    v = base[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def store(db: Database, vectors: np.ndarray, prefix: str) -> list[int]:
    texts = [f"{prefix} statement {i}" for i in range(len(vectors))]
    with db.transaction() as session:
        store_drafts(session, [StatementDraft(t, external_id=t, outlet="Outlet") for t in texts])
        session.execute(Embedding.__table__.insert(), [
            {"text_hash": text_hash(t), "model": MODEL, "dim": DIM, "dtype": "float16", "vector": b}
            for t, b in zip(texts, to_bytes(vectors, "float16"), strict=True)])
        by_text = dict(session.execute(select(Statement.text, Statement.id).where(Statement.text.in_(texts))).all())
    return [by_text[t] for t in texts]


@pytest.fixture
def indexed(config: Config) -> Config:
    return config.replace(search={"engine": "usearch"})


def test_index_finds_the_exact_neighbours_with_the_exact_scores(db: Database, indexed: Config) -> None:
    ids = store(db, clustered(1500, 1), "a")
    assert update_index(db, indexed, MODEL)["mode"] == "built"
    indexes = VectorIndexes(indexed.search, index_dir(indexed))
    with db.reader() as session:
        exact = Snapshot.load(session, MODEL)
        found = indexes[MODEL].current(session, 1)
        assert isinstance(found, IndexedNeighbours)
        hits = total = 0
        for sid in ids[::30]:
            vector = found.vector_of(sid)
            assert vector is not None
            ref = exact.nearest(vector, 10, exclude=sid)
            got = found.nearest(vector, 10, exclude=sid)
            ref_scores = dict(ref)
            assert all(ref_scores.get(i, score) == score for i, score in got)  # re-scored from the database
            assert all(score <= prev for (_, score), (_, prev) in zip(got[1:], got, strict=False))
            hits += len({i for i, _ in got} & set(ref_scores))
            total += len(ref)
        assert hits / total >= 0.95


def test_similar_statements_use_the_index_and_hold_no_vectors(db: Database, indexed: Config) -> None:
    ids = store(db, clustered(400, 2), "a")
    update_index(db, indexed, MODEL)
    indexes = VectorIndexes(indexed.search, index_dir(indexed))
    exact = VectorIndexes()
    with db.reader() as session:
        model, via_index = statements.similar(session, MODEL, ids[7], limit=5,
                                              vectors=lambda m: indexes[m].current(session, 1))
        _, via_exact = statements.similar(session, MODEL, ids[7], limit=5,
                                          vectors=lambda m: exact[m].current(session, 1))
    assert model == MODEL and via_index == via_exact
    assert indexes[MODEL].loads == 0 and indexes[MODEL].reader is not None and indexes[MODEL].reader.opens == 1


def test_vectors_stored_after_the_index_are_found_at_once_and_added_by_the_update(db: Database,
                                                                                   indexed: Config) -> None:
    store(db, clustered(300, 3), "a")
    update_index(db, indexed, MODEL)
    indexes = VectorIndexes(indexed.search, index_dir(indexed))
    late = clustered(20, 4)
    new_ids = store(db, late, "b")
    with db.reader() as session:
        found = indexes[MODEL].current(session, 2)
        assert found.nearest(late[5], 1) == [(new_ids[5], 1.0)]
    report = update_index(db, indexed, MODEL)
    assert (report["mode"], report["added"], report["vectors"]) == ("extended", 20, 320)
    assert update_index(db, indexed, MODEL)["mode"] == "current"
    with db.reader() as session:  # the process follows the new manifest
        found = indexes[MODEL].current(session, 3)
        assert isinstance(found, IndexedNeighbours) and found.opened.manifest.count == 320
        assert len(found.opened.delta_ids) == 0
        assert found.nearest(late[9], 1) == [(new_ids[9], 1.0)]


def test_a_small_corpus_stays_exact_under_auto(db: Database, config: Config) -> None:
    store(db, clustered(50, 5), "a")
    assert update_index(db, config, MODEL)["index"] == "exact"
    assert read_manifest(index_dir(config), MODEL) is None
    with db.reader() as session:
        assert isinstance(VectorIndexes(config.search, index_dir(config))[MODEL].current(session, 1), Snapshot)


def test_exact_engine_ignores_a_published_index(db: Database, indexed: Config) -> None:
    store(db, clustered(50, 5), "a")
    update_index(db, indexed, MODEL)
    exact = indexed.replace(search={"engine": "exact"})
    with db.reader() as session:
        assert isinstance(VectorIndexes(exact.search, index_dir(exact))[MODEL].current(session, 1), Snapshot)


@pytest.mark.parametrize("damage", ["missing", "garbage manifest", "truncated file", "other database"])
def test_a_damaged_index_falls_back_to_exact_search_and_is_rebuilt(db: Database, indexed: Config,
                                                                   damage: str) -> None:
    vectors = clustered(200, 6)
    ids = store(db, vectors, "a")
    update_index(db, indexed, MODEL)
    folder = index_dir(indexed)
    manifest = manifest_path(folder, MODEL)
    if damage == "missing":
        manifest.unlink()
    elif damage == "garbage manifest":
        manifest.write_text("{not json")
    elif damage == "truncated file":
        target = folder / json.loads(manifest.read_text())["segments"][0]["file"]
        target.write_bytes(target.read_bytes()[:100])
    else:
        raw = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**raw, "last_text_hash": "0" * 64}))
    with db.reader() as session:
        found = VectorIndexes(indexed.search, folder)[MODEL].current(session, 1)
        assert isinstance(found, Snapshot)
        assert found.nearest(vectors[3], 1)[0][0] == ids[3]
    assert update_index(db, indexed, MODEL)["mode"] == "built"
    with db.reader() as session:
        found = VectorIndexes(indexed.search, folder)[MODEL].current(session, 1)
        assert isinstance(found, IndexedNeighbours) and found.nearest(vectors[3], 1)[0][0] == ids[3]


def test_a_crash_before_publishing_leaves_the_old_version_current(db: Database, indexed: Config) -> None:
    store(db, clustered(100, 7), "a")
    update_index(db, indexed, MODEL)
    folder = index_dir(indexed)
    before = read_manifest(folder, MODEL)
    assert before is not None
    orphan = folder / before.segments[0].file.replace(f".{before.generation}-", ".99-")
    orphan.write_bytes(b"half a file")  # what a killed updater leaves: a new file, no new manifest
    with db.reader() as session:
        found = VectorIndexes(indexed.search, folder)[MODEL].current(session, 1)
        assert isinstance(found, IndexedNeighbours) and found.opened.manifest == before
    store(db, clustered(10, 8), "b")
    assert update_index(db, indexed, MODEL)["mode"] == "extended"
    assert not orphan.exists() and (folder / before.segments[0].file).exists()


def test_a_statement_whose_text_changed_is_found_by_its_new_text(db: Database, indexed: Config) -> None:
    vectors = clustered(200, 9)
    ids = store(db, vectors, "a")
    update_index(db, indexed, MODEL)
    with db.transaction() as session:  # statement 0 now says what statement 1 says (its vector is 1's)
        row = session.get(Statement, ids[0])
        assert row is not None
        row.text_hash = text_hash("a statement 1")
    with db.reader() as session:
        found = VectorIndexes(indexed.search, index_dir(indexed))[MODEL].current(session, 1)
        got = dict(found.nearest(vectors[1], 3))
    assert got[ids[0]] == got[ids[1]] == 1.0


def test_tracker_info_says_which_search_is_in_use(db: Database, indexed: Config, tmp_path: Path) -> None:
    from tracker.vector_index.status import search_status

    store(db, clustered(30, 10), "a")
    with db.reader() as session:
        assert search_status(session, indexed, MODEL)["in_use"].startswith("exact (no usable index")
    update_index(db, indexed, MODEL)
    with db.reader() as session:
        status = search_status(session, indexed, MODEL)
    assert status["in_use"] == "usearch index" and status["indexed"] == 30 and status["not_indexed"] == 0


def test_each_update_adds_a_segment_and_many_are_merged_into_one(db: Database, indexed: Config) -> None:
    from tracker.vector_index.update import MAX_SEGMENTS

    first = store(db, clustered(200, 11), "a")
    update_index(db, indexed, MODEL)
    later: list[tuple[int, np.ndarray]] = []
    for n in range(MAX_SEGMENTS):
        vectors = clustered(5, 100 + n)
        later += list(zip(store(db, vectors, f"b{n}"), vectors, strict=True))
        report = update_index(db, indexed, MODEL)
        assert report["added"] == 5
    assert report["mode"] == "merged" and report["segments"] == 2 and report["vectors"] == 200 + 5 * MAX_SEGMENTS
    manifest = read_manifest(index_dir(indexed), MODEL)
    assert manifest is not None and [s.count for s in manifest.segments] == [200, 5 * MAX_SEGMENTS]
    with db.reader() as session:
        found = VectorIndexes(indexed.search, index_dir(indexed))[MODEL].current(session, 1)
        assert isinstance(found, IndexedNeighbours) and not len(found.opened.delta_ids)
        for sid, vector in later[::7]:
            assert found.nearest(vector, 1) == [(sid, 1.0)]
        vector = found.vector_of(first[0])
        assert vector is not None and found.nearest(vector, 1)[0][0] == first[0]


def test_tracker_index_builds_it_and_init_and_info_say_so(tmp_path: Path, db_url: str) -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_DATA_DIR": str(tmp_path / "data"), "TRACKER_CONFIG": "",
           "TRACKER_EMBEDDING_MODEL": "hashing-ngrams-384", "TRACKER_SEARCH_ENGINE": "usearch"}

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "vector search: exact (no usable index yet: run `tracker index`) (0 vectors" in run("init")
    run("import", "--sample")
    embedded = json.loads(run("embed"))
    assert embedded["vector_index"]["mode"] == "built"  # the embed step keeps the index current
    assert json.loads(run("index"))["mode"] == "current"
    assert json.loads(run("index", "--rebuild"))["mode"] == "built"
    search = json.loads(run("info"))["vector_search"]
    assert search["in_use"] == "usearch index" and search["not_indexed"] == 0 and search["indexed"] > 300
    if db_url.startswith("postgresql"):
        assert search["pgvector"] == "not on this server"  # Debian's PostgreSQL here has none
    assert "vector search: usearch index" in run("init")


def test_pgvector_offered_but_not_usable_falls_back_to_the_files(db: Database, config: Config,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that lists pgvector but will not let this role create it (or, here, cannot create it at
    all) must not stop the run: the update builds the index files instead, and search uses them."""
    if db.dialect != "postgresql":
        pytest.skip("pgvector is a PostgreSQL extension")
    from tracker.vector_index import update

    monkeypatch.setattr(update, "pgvector_offered", lambda session: True)
    cfg = config.replace(search={"engine": "auto", "exact_below": 10})
    store(db, clustered(200, 1), "offered")
    report = update_index(db, cfg, MODEL)
    assert report["index"] == "usearch" and report["vectors"] == 200
    assert read_manifest(index_dir(cfg), MODEL) is not None


def test_storing_vectors_changes_the_data_version(db: Database) -> None:
    """Web processes look for new vectors once per data version: a vector stored for a statement that is
    already there (``tracker embed`` after ``tracker import``) must change it."""
    from tracker.queries.versions import data_version

    texts = ["a statement embedded later"]
    with db.transaction() as session:
        store_drafts(session, [StatementDraft(t, external_id=t, outlet="Outlet") for t in texts])
    with db.reader() as session:
        before = data_version(session)
    with db.transaction() as session:
        session.execute(Embedding.__table__.insert(), [{"text_hash": text_hash(texts[0]), "model": MODEL, "dim": DIM,
                                                        "dtype": "float16", "vector": to_bytes(clustered(1, 3), "float16")[0]}])
    with db.reader() as session:
        assert data_version(session) != before


def test_an_update_waits_for_vectors_being_stored_so_no_id_is_skipped(db: Database) -> None:
    """PostgreSQL hands out ids at INSERT: a worker's chunk can commit after a later id. The watermark an
    update reads waits for chunks being stored, so it never publishes past an id still to commit."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: ids commit in order")
    import threading
    import time

    from sqlalchemy import text

    from tracker.backlog import committed_upto, storing

    early = store(db, clustered(3, 1), "committed")
    slow = db.engine.connect()
    tx = slow.begin()
    with Session(bind=slow) as session:
        storing(session)
        session.execute(Embedding.__table__.insert(), [{"text_hash": "late", "model": MODEL, "dim": DIM,
                                                        "dtype": "float16", "vector": to_bytes(clustered(1, 2), "float16")[0]}])
        late_id = session.scalar(select(Embedding.id).where(Embedding.text_hash == "late"))
        seen: list[int] = []
        waiter = threading.Thread(target=lambda: seen.append(committed_upto(db, MODEL)))
        waiter.start()
        deadline = time.monotonic() + 30
        with db.reader() as probe:
            while not probe.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")):
                assert time.monotonic() < deadline, "the update did not wait for the chunk being stored"
                time.sleep(0.05)
                probe.rollback()
        assert not seen
        tx.commit()
    waiter.join(30)
    slow.close()
    assert early and seen == [late_id] and late_id > max(early)
