"""Several embedding workers on one PostgreSQL share the backlog; one killed with ``kill -9`` mid-chunk
loses nothing and no text is embedded twice. SQLite keeps one worker, which resumes after a kill.

Workers are real processes (tests/embedworker.py runs ``jobs.embed``, what ``tracker embed`` runs, with
the hashing embedder slowed per chunk and a log of each chunk it embeds and stores). The job run of a
killed worker counts the vectors it committed (one update per chunk, in the chunk's transaction), so the
log tells its committed chunks from the one it died in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tracker import backlog
from tracker.db import Database
from tracker.embed import HASHING_MODEL
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts, text_hash
from tracker.models import Embedding, EmbeddingBacklog, JobRun

ROOT = Path(__file__).resolve().parent.parent
DISTINCT = 240
SHARED = 60  # texts a second outlet repeats word for word: one text, two statements, one vector
CHUNK = 12
DELAY = 0.25  # seconds each chunk spends "in the model": the window in which a worker is killed


def _statements(db: Database) -> set[str]:
    """DISTINCT texts, SHARED of them also from a second outlet; their text hashes."""
    texts = [f"statement {i}: the ministry says claim {i} about the region is true" for i in range(DISTINCT)]
    drafts = [StatementDraft(t, external_id=f"a{i}", outlet="Outlet A") for i, t in enumerate(texts)]
    drafts += [StatementDraft(t, external_id=f"b{i}", outlet="Outlet B") for i, t in enumerate(texts[:SHARED])]
    with db.transaction() as session:
        store_drafts(session, drafts)
    return {text_hash(t) for t in texts}


def _start(db_url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.embedworker", db_url, str(log), str(CHUNK), str(DELAY)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _chunks(log: Path) -> list[list[str]]:
    """The chunks a worker handed to its model, in order."""
    if not log.exists():
        return []
    return [line[6:].split(",") for line in log.read_text().splitlines() if line.startswith("claim ")]


def _kill_mid_chunk(proc: subprocess.Popen[bytes], log: Path, *, after: int, deadline: float) -> None:
    """SIGKILL ``proc`` while it embeds a chunk, once it has stored ``after`` chunks."""
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        stored = sum(1 for line in lines if line.startswith("stored "))
        if stored >= after and lines and lines[-1].startswith("claim "):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return
        if proc.poll() is not None:
            pytest.fail(f"the worker ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.01)
    pytest.fail("the worker never stored a chunk")


def _stored_by_runs(db: Database) -> dict[int, int]:
    """Vectors each embed job run stored, by the pid of its worker."""
    with db.reader() as session:
        return {int(w.rsplit(":", 1)[1]): int((c or {}).get("embedded", 0)) for w, c in session.execute(
            select(JobRun.worker, JobRun.counts).where(JobRun.kind == "embed"))}


def _committed(chunks: list[list[str]], stored: int) -> list[str]:
    """The texts of the first chunks that add up to ``stored``: what a killed worker committed."""
    out: list[str] = []
    for chunk in chunks:
        if len(out) >= stored:
            break
        out += chunk
    assert len(out) == stored, "a killed worker's job run counts whole chunks"
    return out


def _embedded(db: Database) -> Counter[str]:
    with db.reader() as session:
        return Counter(session.scalars(select(Embedding.text_hash).where(Embedding.model == HASHING_MODEL)))


def test_two_workers_share_the_backlog_and_a_killed_workers_chunk_is_taken_over(
        db_url: str, db: Database, tmp_path: Path) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one embedding worker (see the SQLite test below)")
    wanted = _statements(db)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a, b = _start(db_url, log_a), _start(db_url, log_b)
    try:
        _kill_mid_chunk(a, log_a, after=2, deadline=time.monotonic() + 60)
        _, err = b.communicate(timeout=120)
        assert b.returncode == 0, err.decode()[-2000:]
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait(10)
    assert _embedded(db) == Counter(wanted), "every distinct text has exactly one vector"
    runs = _stored_by_runs(db)
    assert sum(runs.values()) == len(wanted) and runs[a.pid] > 0 and runs[b.pid] > 0, runs
    chunks_a, chunks_b = _chunks(log_a), _chunks(log_b)
    killed_in = chunks_a[-1]
    committed_a = _committed(chunks_a[:-1], runs[a.pid])
    done_b = [h for chunk in chunks_b for h in chunk]
    assert Counter(committed_a + done_b) == Counter(wanted), "no text embedded twice, none lost"
    assert set(killed_in) <= set(done_b), "the chunk the killed worker held was taken over"
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(EmbeddingBacklog)) == 0


def test_sqlite_worker_killed_mid_chunk_resumes_without_embedding_a_stored_text_again(
        db_url: str, db: Database, tmp_path: Path) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL: the two-worker test above")
    wanted = _statements(db)
    log = tmp_path / "worker.log"
    first = _start(db_url, log)
    try:
        _kill_mid_chunk(first, log, after=2, deadline=time.monotonic() + 60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    killed_chunks = _chunks(log)
    stored = _stored_by_runs(db)[first.pid]
    log_again = tmp_path / "again.log"
    again = _start(db_url, log_again)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-2000:]
    committed = _committed(killed_chunks[:-1], stored)
    redone = [h for chunk in _chunks(log_again) for h in chunk]
    assert Counter(committed + redone) == Counter(wanted)
    assert set(killed_chunks[-1]) <= set(redone)
    assert _embedded(db) == Counter(wanted)


def test_cli_workers_side_by_side_store_each_text_once(db_url: str, db: Database, tmp_path: Path) -> None:
    """Two real ``tracker embed`` processes at once: their job runs add up to the distinct texts."""
    if db.is_sqlite:
        pytest.skip("SQLite has one embedding worker")
    wanted = _statements(db)
    env = {**os.environ, "TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": db_url, "TRACKER_DATA_DIR": str(tmp_path),
           "TRACKER_EMBEDDING_MODEL": HASHING_MODEL, "TRACKER_EMBEDDING_CHUNK_SIZE": "8"}
    procs = [subprocess.Popen([sys.executable, "-m", "tracker.cli", "embed"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    assert sum(_stored_by_runs(db).values()) == len(wanted)
    assert _embedded(db) == Counter(wanted)


def test_a_claimed_chunk_is_skipped_by_others_and_free_again_when_its_holder_rolls_back(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("claims are PostgreSQL row locks")
    wanted = _statements(db)
    backlog.fill(db, HASHING_MODEL)
    backlog.fill(db, HASHING_MODEL)  # a second fill adds nothing
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(EmbeddingBacklog)) == len(wanted)
    one = db.session()
    try:
        mine = backlog.claim(one, HASHING_MODEL, 100, lease_seconds=60).texts
        with db.session() as two, two.begin():
            theirs = backlog.claim(two, HASHING_MODEL, len(wanted), lease_seconds=60).texts
        assert len(mine) == 100 and len(theirs) == len(wanted) - 100
        assert not {h for h, _ in mine} & {h for h, _ in theirs}
    finally:
        one.rollback()  # what PostgreSQL does to the transaction of a worker killed mid-chunk
        one.close()
    with db.session() as three, three.begin():
        assert len(backlog.claim(three, HASHING_MODEL, len(wanted), lease_seconds=60).texts) == len(wanted)


def test_a_waiting_text_that_already_has_its_vector_is_cleared_not_embedded(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("the backlog table is PostgreSQL's")
    wanted = _statements(db)
    backlog.fill(db, HASHING_MODEL)
    done = sorted(wanted)[:5]
    with db.transaction() as session:  # another worker's vectors, committed after this fill read the statements
        session.execute(Embedding.__table__.insert(), [
            {"text_hash": h, "model": HASHING_MODEL, "dim": 1, "dtype": "float32", "vector": b"0000"} for h in done])
    with db.transaction() as session:
        claimed = backlog.claim(session, HASHING_MODEL, len(wanted), lease_seconds=60)
    assert claimed.cleared == 5 and not {h for h, _ in claimed.texts} & set(done)


def test_a_claim_carries_its_lease_so_a_vanished_machine_frees_its_chunk(db: Database) -> None:
    """A worker whose machine is gone never closes its connection; the server ends the claim's idle
    transaction after the lease, which frees the chunk (a killed process frees it at once)."""
    if db.is_sqlite:
        pytest.skip("claims are PostgreSQL row locks")
    _statements(db)
    backlog.fill(db, HASHING_MODEL)
    with db.session() as session, session.begin():
        backlog.claim(session, HASHING_MODEL, 10, lease_seconds=42)
        assert session.scalar(text("SHOW idle_in_transaction_session_timeout")) == "42s"
    with db.session() as session:
        assert session.scalar(text("SHOW idle_in_transaction_session_timeout")) == "0"  # only the claim's
