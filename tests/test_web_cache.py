"""Cached pages and timelines follow the data: a committed change shows on the next request,
from this process or another writer, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.test_api import make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Assignment, Narrative, Statement


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
