"""`kill -9` in the middle of an ingest, several times, then a run to the end: nothing lost, nothing twice.

A real `tracker ingest` process fetches large feeds from the fixture server and a 20,000-row file
source; the test polls the database and sends SIGKILL once the run has committed at least one
source and while another source's batch is in flight. Each source is stored in one transaction
together with its validators and due time (RELIABILITY 19), and the lease a killed worker held is
taken over at once by the next run on this host, so the final run completes the set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpfixture import FixtureServer
from sqlalchemy import func, select

from tests.ingestkit import Validated, add, ingest_config, ingest_env, numbered_items, rss
from tracker.db import Database
from tracker.ingest.leases import claim_next
from tracker.models import Source, Statement

ROOT = Path(__file__).resolve().parent.parent
FEEDS = 6
FEED_ITEMS = 500
FILE_ROWS = 20_000
KILLS = 3


def _write_file_source(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("external_id,text,outlet,language\n")
        for i in range(rows):
            fh.write(f"row-{i},Row {i}: the ministry denied every claim made about case {i},Archive Outlet,en\n")
    return path


def _counts(db: Database) -> tuple[int, str | None]:
    """(statements stored, the source a worker holds that has not been stored yet: a batch in flight)."""
    with db.reader() as session:
        stored = session.scalar(select(func.count(Statement.id))) or 0
        held = session.scalar(select(Source.name).where(Source.locked_by.is_not(None),
                                                        Source.last_fetched_at.is_(None)))
        return stored, held


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tracker.cli", "ingest"], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_mid_batch(db: Database, env: dict[str, str], deadline: float) -> str | None:
    """Start an ingest, SIGKILL it after its first commit while a source is held; the source in flight."""
    baseline, _ = _counts(db)
    proc = _start(env)
    try:
        while time.monotonic() < deadline:
            stored, held = _counts(db)
            if stored > baseline and held is not None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                return held
            if proc.poll() is not None:
                return None  # finished before we could kill it
            time.sleep(0.02)
        pytest.fail("the ingest never committed a source")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return None


def test_repeated_kill_9_then_resume_loses_and_duplicates_nothing(db_url: str, tmp_path: Path) -> None:
    env = ingest_env(db_url, tmp_path, total_timeout=20, read_timeout=10)
    cfg = ingest_config(db_url, tmp_path)
    db = Database(db_url)
    expected: set[str] = set()
    with FixtureServer() as server:
        names = []
        for f in range(FEEDS):
            items = numbered_items(f"feed{f}", FEED_ITEMS)
            server.routes[f"/big/{f}"] = Validated(rss(f"Wire {f}", items, language="en").encode(), delay=0.15)
            expected |= {item["guid"] for item in items}
            names.append((server.url(f"/big/{f}"), "rss", f"feed-{f}"))
        big = _write_file_source(tmp_path / "archive.csv", FILE_ROWS)
        expected |= {f"row-{i}" for i in range(FILE_ROWS)}
        names.insert(3, (str(big), "file", "big-file"))  # three feeds, the file, three feeds
        for url, kind, name in names:
            add(db, cfg, url, kind, name)

        deadline = time.monotonic() + 120
        in_flight = [_kill_mid_batch(db, env, deadline) for _ in range(KILLS)]
        assert all(in_flight), f"a run finished before it could be killed: {in_flight}"
        assert "big-file" in in_flight  # at least one kill hit the 20k-row batch
        stored_before_resume, held = _counts(db)
        assert held is not None  # the last killed worker's lease is still in the row
        assert stored_before_resume < len(expected)

        final = subprocess.run([sys.executable, "-m", "tracker.cli", "ingest"], cwd=ROOT,
                               env={**os.environ, **env}, capture_output=True, timeout=120)
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        fetched = {path: server.hits(path) for path in (f"/big/{f}" for f in range(FEEDS))}

    with db.reader() as session:
        keys = list(session.scalars(select(Statement.external_id)))
        assert len(keys) == len(expected) == FEEDS * FEED_ITEMS + FILE_ROWS
        assert set(keys) == expected  # nothing lost, nothing foreign
        twice_by_key = session.execute(select(Statement.external_key).group_by(Statement.external_key)
                                       .having(func.count() > 1)).all()
        twice_by_content = session.execute(select(Statement.outlet_id, Statement.content_hash)
                                           .group_by(Statement.outlet_id, Statement.content_hash)
                                           .having(func.count() > 1)).all()
        assert twice_by_key == [] and twice_by_content == []
        sources = list(session.scalars(select(Source)))
        assert all(s.last_status == "ok" and s.locked_by is None for s in sources), [
            (s.name, s.last_status, s.locked_by) for s in sources]
    # a feed whose store was killed was fetched again; one committed before a kill was not
    assert all(1 <= hits <= KILLS + 1 for hits in fetched.values()), fetched
    assert sum(fetched.values()) < FEEDS * (KILLS + 1)
    db.dispose()


def test_a_lease_held_by_a_dead_local_process_is_taken_over(db: Database, tmp_path: Path, db_url: str) -> None:
    cfg = ingest_config(db_url, tmp_path)
    path = _write_file_source(tmp_path / "one.csv", 1)
    add(db, cfg, str(path), "file", "one")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    assert claim_next(db, f"{socket.gethostname()}:{dead.pid}") is not None
    alive = f"{socket.gethostname()}:{os.getpid()}"
    assert claim_next(db, "other-worker") is not None  # the dead process's lease is taken over
    with db.transaction() as session:
        source = session.scalars(select(Source)).one()
        source.locked_by = alive
    assert claim_next(db, "other-worker") is None  # a live holder keeps its lease
    with db.transaction() as session:
        session.scalars(select(Source)).one().locked_by = f"elsewhere.example:{dead.pid}"
    assert claim_next(db, "other-worker") is None  # another host's holder is trusted until the lease ends
