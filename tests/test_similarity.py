"""The web process's statement vectors (tracker.web.similarity): read once, reused across requests,
reloaded when statements or vectors change, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.webdata import Seeded, bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.embed import HASHING_MODEL, HashingEmbedder, embed_pending
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Assignment
from tracker.web.similarity import Snapshot


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    return make_app(config, db)


@pytest.fixture
def data(db: Database, config: Config) -> Seeded:
    return seed(db, config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def similar_ids(client: FlaskClient, data: Seeded, statement_id: int) -> list[int]:
    r = client.get(f"/api/statements/{statement_id}?similar=10", headers=bearer(data.tokens["viewer"]))
    assert r.status_code == 200
    assert r.json["similar_model"] == HASHING_MODEL
    return [s["statement"]["id"] for s in r.json["similar"]]


def loads(app: Flask) -> int:
    return app.extensions["tracker"].vector_indexes[HASHING_MODEL].loads


def add_statement(db: Database, text: str, outlet: str) -> int:
    with db.transaction() as tx:
        store_drafts(tx, [StatementDraft(text=text, outlet=outlet, language="en", origin="test:new",
                                         published_at=datetime(2022, 5, 1, tzinfo=UTC))])
    embed_pending(db, HashingEmbedder())
    with db.reader() as session:
        from tracker.models import Statement

        return int(session.scalar(select(Statement.id).order_by(Statement.id.desc()).limit(1)))


def test_vectors_are_read_once_for_many_requests_and_for_writes_that_leave_them_alone(
        app: Flask, client: FlaskClient, data: Seeded, db: Database) -> None:
    first = similar_ids(client, data, data.statements[0])
    for sid in data.statements:
        similar_ids(client, data, sid)
    search = client.get("/api/search?q=biological laboratories", headers=bearer(data.tokens["viewer"]))
    assert search.status_code == 200 and search.json["items"]
    page = client.get(f"/statements/{data.statements[0]}", headers=bearer(data.tokens["viewer"]))
    assert page.status_code == 200
    assert loads(app) == 1
    with db.transaction() as tx:  # a researcher's decision: data changes, statement vectors do not
        row = tx.scalars(select(Assignment).where(Assignment.statement_id == data.statements[0])).one()
        row.state = "confirmed"
    assert similar_ids(client, data, data.statements[0]) == first
    assert loads(app) == 1


def test_a_new_statement_reusing_an_embedded_text_is_found_without_a_new_vector(
        app: Flask, client: FlaskClient, data: Seeded, db: Database) -> None:
    """The same words from another outlet add a statement but no vector: the index must still see it."""
    similar_ids(client, data, data.statements[0])
    with db.reader() as session:
        from tracker.models import Embedding

        vectors_before = len(session.scalars(select(Embedding.id)).all())
    copy = add_statement(db, "The laboratories near our border make biological weapons.", "Sputnik")
    with db.reader() as session:
        from tracker.models import Embedding

        assert len(session.scalars(select(Embedding.id)).all()) == vectors_before
    found = similar_ids(client, data, data.statements[0])
    assert found[0] == copy
    assert loads(app) == 2
    fresh = add_statement(db, "Sanctions make European heating bills soar for households.", "RT")
    assert fresh in similar_ids(client, data, data.statements[4])[:2]
    assert loads(app) == 3


def test_snapshot_nearest_ranks_excludes_and_skips_other_dimensions() -> None:
    vectors = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0, 0.8], [0, 1, 0]], dtype=np.float32)
    snap = Snapshot(np.array([10, 11, 12, 13]), vectors, {10: 0, 11: 1, 12: 2, 13: 3})
    assert snap.nearest(np.array([1, 0, 0]), 2) == [(10, 1.0), (11, 0.8)]
    assert snap.nearest(np.array([1, 0, 0]), 2, exclude=10) == [(11, 0.8), (12, 0.6)]
    assert [i for i, _ in snap.nearest(np.array([0, 1, 0]), 10)] == [13, 11, 10, 12]
    assert snap.nearest(np.array([1, 0]), 2) == []  # a query from another model's space
    assert snap.vector_of(12) is not None and snap.vector_of(99) is None
