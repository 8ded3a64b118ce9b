"""Three worker processes share one database's sources: each source fetched once, each statement stored once.

The workers are real `tracker ingest --due` commands in separate processes, each with its own
connection, released together so they really overlap. Sources are claimed row by row (PostgreSQL:
``FOR UPDATE SKIP LOCKED``; SQLite: writers queue on ``BEGIN IMMEDIATE``); the fixture server counts
the requests per path, so a source fetched twice cannot hide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpfixture import FixtureServer
from sqlalchemy import func, select

from tests.ingestkit import Validated, add, ingest_config, ingest_env, numbered_items, rss
from tracker.db import Database
from tracker.models import JobRun, Source, Statement

ROOT = Path(__file__).resolve().parent.parent
SOURCES = 30
ITEMS = 5
WORKERS = 3

# Imports first, then wait for the go file, so the three start fetching at the same moment.
WORKER = """
import sys, time
from pathlib import Path
from tracker.cli import main
import tracker.ingest.runner, tracker.ingest.feeds, tracker.ingest.fetch, feedparser
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.01)
main(["ingest", "--due"])
"""


def test_three_workers_fetch_each_source_once_and_store_each_statement_once(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, **ingest_env(db_url, tmp_path)}
    cfg = ingest_config(db_url, tmp_path)
    db = Database(db_url)
    expected: set[str] = set()
    with FixtureServer() as server:
        routes = {}
        for i in range(SOURCES):
            # the last two publish the same stories under one outlet: workers race to store them
            prefix = "shared" if i >= SOURCES - 2 else f"s{i}"
            items = numbered_items(prefix, ITEMS)
            routes[i] = server.routes[f"/w/{i}"] = Validated(rss(f"Wire {i}", items, language="en").encode(),
                                                             delay=0.1)
            expected |= {item["guid"] for item in items}
            add(db, cfg, server.url(f"/w/{i}"), "rss", f"w{i}", outlet="Shared Wire" if prefix == "shared" else None)
        go = tmp_path / "go"
        ready = [tmp_path / f"ready{n}" for n in range(WORKERS)]
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), str(ready[n])], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(WORKERS)]
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.02)
        go.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
        hits = {i: server.hits(f"/w/{i}") for i in range(SOURCES)}
        overlap = max(route.max_active for route in routes.values())

    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"database is locked" not in err and b"Traceback" not in err, err.decode()[-2000:]
    results = [json.loads(out) for out, _ in outputs]
    assert hits == {i: 1 for i in range(SOURCES)}  # every source fetched exactly once
    assert overlap == 1
    assert sum(r["sources"] for r in results) == SOURCES
    assert sum(r["failed"] for r in results) == 0
    assert sum(1 for r in results if r["sources"]) >= 2, results  # the work was shared
    with db.reader() as session:
        keys = list(session.scalars(select(Statement.external_id)))
        assert len(keys) == len(expected) == (SOURCES - 1) * ITEMS and set(keys) == expected
        twice = session.execute(select(Statement.outlet_id, Statement.content_hash)
                                .group_by(Statement.outlet_id, Statement.content_hash).having(func.count() > 1)).all()
        assert twice == []
        runs = list(session.scalars(select(JobRun).where(JobRun.kind == "ingest")))
        assert len(runs) == WORKERS and all(r.status == "ok" and r.errors == [] for r in runs)
        assert len({r.worker for r in runs}) == WORKERS
        sources = list(session.scalars(select(Source)))
        assert all(s.last_status == "ok" and s.locked_by is None for s in sources)
    db.dispose()


def test_counts_a_job_added_as_it_went_survive_its_failure(db: Database) -> None:
    """An embed job that stored chunks and then raised (a model error, Ctrl-C) still says what it stored."""
    from tracker.runs import add_count, job_run

    with pytest.raises(RuntimeError):
        with job_run(db, "embed") as job:
            job.counts = {"model": "m"}
            with db.transaction() as session:
                add_count(session, job.id, "embedded", 7)
            raise RuntimeError("the model failed")
    with db.reader() as session:
        run = session.get(JobRun, job.id)
        assert run is not None and run.status == "failed"
        assert run.counts == {"model": "m", "embedded": 7}
