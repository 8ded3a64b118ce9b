"""Cached pages and timelines follow the data: a committed change shows on the next request,
from this process or another writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import select, update

from tests.webdata import make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Assignment, Narrative, Statement
from tracker.web.cache import SqliteWatcher


def test_overview_and_narrative_page_show_a_rename_at_once(config: Config, db: Database) -> None:
    seeded = seed(db, config)
    client = make_app(config, db, public_read=True).test_client()
    nid = seeded.narratives[0]
    assert "Bio-labs" in client.get("/").get_data(as_text=True)
    assert "Bio-labs" in client.get(f"/narratives/{nid}").get_data(as_text=True)
    other = Database(db.url)  # another connection, as another process would write
    try:
        with other.transaction() as session:
            session.execute(update(Narrative).where(Narrative.id == nid).values(label="US military biolabs"))
    finally:
        other.dispose()
    assert "US military biolabs" in client.get("/").get_data(as_text=True)
    assert "US military biolabs" in client.get(f"/narratives/{nid}").get_data(as_text=True)


def test_api_listing_and_detail_show_a_rename_at_once(config: Config, db: Database) -> None:
    seeded = seed(db, config)
    client = make_app(config, db, public_read=True).test_client()
    nid = seeded.narratives[0]
    assert client.get(f"/api/narratives/{nid}").get_json()["label"] == "Bio-labs"
    assert "Bio-labs" in {n["label"] for n in client.get("/api/narratives").get_json()["items"]}
    other = Database(db.url)
    try:
        with other.transaction() as session:
            session.execute(update(Narrative).where(Narrative.id == nid).values(label="US military biolabs"))
    finally:
        other.dispose()
    assert client.get(f"/api/narratives/{nid}").get_json()["label"] == "US military biolabs"
    assert "US military biolabs" in {n["label"] for n in client.get("/api/narratives").get_json()["items"]}


def test_timeline_api_reflects_a_new_statement(config: Config, db: Database) -> None:
    seeded = seed(db, config)
    client = make_app(config, db, public_read=True).test_client()
    nid = seeded.narratives[0]
    before = client.get(f"/api/narratives/{nid}/timeline").get_json()
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("A late amplifier repeats the bio-labs claim.", actor="Late Speaker",
                                              outlet="Late Outlet", country="IR", origin="t:1")])
        sid = session.scalar(select(Statement.id).where(Statement.text.like("A late amplifier%")))
        session.add(Assignment(statement_id=sid, narrative_id=nid, state="confirmed", method="manual", score=0.9))
    after = client.get(f"/api/narratives/{nid}/timeline").get_json()
    assert len(after["events"]) == len(before["events"]) + 1
    assert "Late Speaker" in {a["actor"] for a in after["actors"]}
    assert client.get("/api/narratives/999999/timeline").status_code == 404


def test_watcher_never_misses_a_commit_made_before_it_was_asked(tmp_path: Path) -> None:
    """Single flight under load: every answer comes from a check that began after the question."""
    path = tmp_path / "watched.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    watcher = SqliteWatcher(str(path))
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            watcher.generation()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            before = watcher.generation()
            writer.execute("INSERT INTO t VALUES (?)", (i,))
            assert watcher.generation() > before, f"commit {i} was missed"
    finally:
        stop.set()
        for t in threads:
            t.join()
    unchanged = watcher.generation()
    assert watcher.generation() == unchanged  # no commit, no new generation
