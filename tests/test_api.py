"""The JSON API: listings with filters and keyset pages, details, semantic search, researchers' writes,
admin resources, JSON errors with the right status codes, and the per-process similarity snapshot.

The shared helpers (``make_app``, ``add_user``, ``seed``) live in tests/webdata.py.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.webdata import Seeded, add_user, bearer, make_app, seed
from tracker import accounts
from tracker.config import Config
from tracker.db import Database
from tracker.embed import HASHING_MODEL, HashingEmbedder, embed_pending
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Assignment, AuditEvent, Embedding, Narrative, NarrativeEvent, Statement
from tracker.similarity import Snapshot


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    return make_app(config, db)


@pytest.fixture
def data(db: Database, config: Config) -> Seeded:
    return seed(db, config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get(client: FlaskClient, url: str, token: str, **kw: Any) -> Any:
    response = client.get(url, headers=bearer(token), **kw)
    return response


# ---------------------------------------------------------------- narratives

def test_narratives_are_sorted_by_recent_activity(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/narratives", data.tokens["viewer"])
    assert r.status_code == 200
    assert [n["id"] for n in r.json["items"]] == [data.narratives[1], data.narratives[0]]
    assert r.json["next"] is None


def test_narratives_keyset_pages_cover_everything_once(client: FlaskClient, data: Seeded) -> None:
    first = get(client, "/api/narratives?limit=1", data.tokens["viewer"]).json
    assert len(first["items"]) == 1 and first["next"]
    second = get(client, f"/api/narratives?limit=1&cursor={first['next']}", data.tokens["viewer"]).json
    assert [n["id"] for n in first["items"] + second["items"]] == [data.narratives[1], data.narratives[0]]
    assert second["next"] is None


@pytest.mark.parametrize("query, expected", [
    ("country=CN", [1, 0]), ("country=RU&until=2022-03-31", [0]), ("since=2022-04-05", [1]), ("q=bio", [0]),
    ("status=archived", []),
])
def test_narrative_filters(client: FlaskClient, data: Seeded, query: str, expected: list[int]) -> None:
    r = get(client, f"/api/narratives?{query}", data.tokens["viewer"])
    assert [n["id"] for n in r.json["items"]] == [data.narratives[i] for i in expected]


def test_narrative_filter_by_actor(client: FlaskClient, data: Seeded) -> None:
    embassy = data.actors["Embassy"]
    r = get(client, f"/api/narratives?actor={embassy}&until=2022-03-31", data.tokens["viewer"])
    assert [n["id"] for n in r.json["items"]] == [data.narratives[0]]


def test_narrative_detail_has_counts_representatives_and_history(client: FlaskClient, data: Seeded) -> None:
    r = get(client, f"/api/narratives/{data.narratives[0]}", data.tokens["viewer"])
    assert r.status_code == 200
    body = r.json
    assert body["label"] == "Bio-labs" and body["counts"]["assigned"] == 3
    assert [s["id"] for s in body["representatives"]] == data.statements[:2]
    assert body["history"] == []


def test_unknown_narrative_is_a_json_404(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/narratives/999999", data.tokens["viewer"])
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_timeline_route_returns_the_timeline_document(client: FlaskClient, data: Seeded) -> None:
    r = get(client, f"/api/narratives/{data.narratives[0]}/timeline", data.tokens["viewer"])
    assert r.status_code == 200
    assert {e["statement_id"] for e in r.json["events"]} == set(data.statements[:3])


def test_timeline_sends_the_heaviest_edges_asked_for_and_counts_them_all(client: FlaskClient, data: Seeded) -> None:
    url = f"/api/narratives/{data.narratives[0]}/timeline"
    full = get(client, url + "?edges=all", data.tokens["viewer"]).json
    assert full["edges_total"] == len(full["edges"]) >= 1
    assert get(client, url, data.tokens["viewer"]).json == full  # under the default limit: the same document
    none = get(client, url + "?edges=0", data.tokens["viewer"]).json
    assert none["edges"] == [] and none["edges_total"] == full["edges_total"]
    assert none["flows"] == full["flows"] and none["flows"]  # flows count every edge, sent or not
    for bad in ("-1", "x", "1.5"):
        r = get(client, url + f"?edges={bad}", data.tokens["viewer"])
        assert r.status_code == 400 and r.json["error"]["field"] == "edges"


def test_timeline_is_gzipped_for_clients_that_accept_it_and_revalidated_by_etag(
    client: FlaskClient, data: Seeded
) -> None:
    url = f"/api/narratives/{data.narratives[0]}/timeline"
    plain = get(client, url, data.tokens["viewer"])
    zipped = client.get(url, headers={**bearer(data.tokens["viewer"]), "Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.get_data())) == plain.json
    assert "Accept-Encoding" in zipped.headers["Vary"] and plain.headers["ETag"] != zipped.headers["ETag"]
    for response in (plain, zipped):
        again = client.get(url, headers={**bearer(data.tokens["viewer"]), "If-None-Match": response.headers["ETag"],
                                         "Accept-Encoding": response.headers.get("Content-Encoding", "identity")})
        assert again.status_code == 304 and again.get_data() == b""
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 401  # auth first


# ---------------------------------------------------------------- statements, search, actors

def test_statements_newest_first_with_their_narrative(client: FlaskClient, data: Seeded) -> None:
    items = get(client, "/api/statements", data.tokens["viewer"]).json["items"]
    assert [s["id"] for s in items] == data.statements[::-1]
    assert items[0]["narrative"]["id"] == data.narratives[1]


@pytest.mark.parametrize("query, expected", [
    ("country=cn", [3, 2]), ("q=HEATING", [4]), ("since=2022-03-02&until=2022-03-05", [2, 1]),
    ("state=unassigned", []), ("state=assigned&language=en", [4, 3, 2, 1, 0]),
])
def test_statement_filters(client: FlaskClient, data: Seeded, query: str, expected: list[int]) -> None:
    items = get(client, f"/api/statements?{query}", data.tokens["viewer"]).json["items"]
    assert [s["id"] for s in items] == [data.statements[i] for i in expected]


def test_statements_of_one_narrative_page_by_cursor(client: FlaskClient, data: Seeded) -> None:
    seen, cursor = [], ""
    for _ in range(5):
        r = get(client, f"/api/statements?narrative={data.narratives[0]}&limit=2{cursor}", data.tokens["viewer"])
        seen += [s["id"] for s in r.json["items"]]
        if not r.json["next"]:
            break
        cursor = f"&cursor={r.json['next']}"
    assert seen == data.statements[:3][::-1]


def test_statement_detail_has_assignments_and_similar_statements(client: FlaskClient, data: Seeded) -> None:
    r = get(client, f"/api/statements/{data.statements[0]}", data.tokens["viewer"])
    assert r.status_code == 200
    body = r.json
    assert body["assignments"][0]["narrative_id"] == data.narratives[0]
    similar = [s["statement"]["id"] for s in body["similar"]]
    assert data.statements[0] not in similar
    assert similar[0] == data.statements[1]  # the near-copy about laboratories
    scores = [s["score"] for s in body["similar"]]
    assert scores == sorted(scores, reverse=True)


def test_semantic_search_ranks_the_matching_statement_first(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/search?q=heating bills and sanctions&limit=2", data.tokens["viewer"])
    assert r.status_code == 200
    assert len(r.json["items"]) == 2
    assert r.json["items"][0]["statement"]["id"] == data.statements[4]


def test_search_without_q_is_a_400_naming_the_field(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/search", data.tokens["viewer"])
    assert r.status_code == 400 and r.json["error"]["field"] == "q"


def test_actors_list_and_detail(client: FlaskClient, data: Seeded) -> None:
    names = [a["name"] for a in get(client, "/api/actors?outlet=false", data.tokens["viewer"]).json["items"]]
    assert names == ["Embassy", "Ministry Spokesperson"]
    detail = get(client, f"/api/actors/{data.actors['Embassy']}", data.tokens["viewer"]).json
    assert {n["id"] for n in detail["narratives"]} == set(data.narratives)
    assert [s["id"] for s in detail["recent_statements"]] == [data.statements[3], data.statements[2]]


@pytest.mark.parametrize("url, field", [
    ("/api/narratives?limit=0", "limit"), ("/api/narratives?since=yesterday", "since"),
    ("/api/narratives?cursor=bm9wZQ", "cursor"), ("/api/statements?state=maybe", "state"),
    ("/api/actors?outlet=perhaps", "outlet"), ("/api/statements?q=%00", "q"),
])
def test_bad_query_arguments_are_400_with_the_field(client: FlaskClient, data: Seeded, url: str, field: str) -> None:
    r = get(client, url, data.tokens["viewer"])
    assert r.status_code == 400 and r.json["error"]["field"] == field


# ---------------------------------------------------------------- the similarity snapshot
# tracker.similarity: statement vectors read once per app, reused across requests, reloaded
# when statements or vectors change.


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
        vectors_before = len(session.scalars(select(Embedding.id)).all())
    copy = add_statement(db, "The laboratories near our border make biological weapons.", "Sputnik")
    with db.reader() as session:
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


# ---------------------------------------------------------------- researchers' writes

def post(client: FlaskClient, url: str, token: str, payload: Any, method: str = "post") -> Any:
    return getattr(client, method)(url, json=payload, headers=bearer(token))


def test_manual_statement_is_stored_once(client: FlaskClient, data: Seeded, db: Database) -> None:
    payload = {"text": "A brand new claim about grain.", "actor": "Embassy", "country": "CN",
               "published_at": "2022-05-01T10:00:00Z"}
    first = post(client, "/api/statements", data.tokens["researcher"], payload)
    assert first.status_code == 201 and first.json["created"] is True
    assert first.json["actor_id"] == data.actors["Embassy"]
    again = post(client, "/api/statements", data.tokens["researcher"], payload)
    assert again.status_code == 200 and again.json["id"] == first.json["id"] and again.json["created"] is False
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Statement)) == len(data.statements) + 1


@pytest.mark.parametrize("payload, field", [
    ({}, "text"), ({"text": "   "}, "text"), ({"text": "x", "url": "javascript:alert(1)"}, "url"),
    ({"text": "x", "actor_kind": "spy"}, "actor_kind"), ({"text": "x", "colour": "red"}, "colour"),
    ({"text": "x", "published_at": "soon"}, "published_at"),
])
def test_manual_statement_validation_names_the_field(client: FlaskClient, data: Seeded, payload: dict[str, Any],
                                                      field: str) -> None:
    r = post(client, "/api/statements", data.tokens["researcher"], payload)
    assert r.status_code == 422 and r.json["error"]["field"] == field


def test_non_json_body_is_415_and_broken_json_400(client: FlaskClient, data: Seeded) -> None:
    r = client.post("/api/statements", data="text=hi", headers=bearer(data.tokens["researcher"]),
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    r = client.post("/api/statements", data="{nope", headers=bearer(data.tokens["researcher"]),
                    content_type="application/json")
    assert r.status_code == 400


def test_oversized_body_is_413_json(client: FlaskClient, data: Seeded) -> None:
    r = post(client, "/api/statements", data.tokens["researcher"], {"text": "x" * (3 * 1024 * 1024)})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_confirm_then_undo_restores_the_previous_tags(client: FlaskClient, data: Seeded, db: Database) -> None:
    sid = data.statements[0]
    r = post(client, f"/api/statements/{sid}/assignment", data.tokens["researcher"],
             {"action": "reassign", "narrative_id": data.narratives[1]})
    assert r.status_code == 200
    assert {(a["narrative_id"], a["state"]) for a in r.json["assignments"]} == {
        (data.narratives[0], "rejected"), (data.narratives[1], "confirmed")}
    undo = post(client, f"/api/statements/{sid}/assignment/undo", data.tokens["researcher"],
                {"audit_id": r.json["audit_id"]})
    assert undo.status_code == 200
    with db.reader() as s:
        rows = s.execute(select(Assignment.narrative_id, Assignment.state).where(Assignment.statement_id == sid)).all()
    assert [tuple(r) for r in rows] == [(data.narratives[0], "assigned")]


def test_undo_after_a_later_change_is_a_409(client: FlaskClient, data: Seeded) -> None:
    sid, token = data.statements[0], data.tokens["researcher"]
    first = post(client, f"/api/statements/{sid}/assignment", token, {"action": "confirm"})
    post(client, f"/api/statements/{sid}/assignment", token, {"action": "clear"})
    r = post(client, f"/api/statements/{sid}/assignment/undo", token, {"audit_id": first.json["audit_id"]})
    assert r.status_code == 409


def test_nobody_undoes_another_researchers_tag(client: FlaskClient, data: Seeded, db: Database,
                                                config: Config) -> None:
    """The same ownership rule as the tagging queue's undo: a decision is undone by the one who made it."""
    sid = data.statements[0]
    mine = post(client, f"/api/statements/{sid}/assignment", data.tokens["researcher"],
                {"action": "reassign", "narrative_id": data.narratives[1]})
    other = add_user(db, config, "rosa", "researcher")
    refused = post(client, f"/api/statements/{sid}/assignment/undo", other, {"audit_id": mine.json["audit_id"]})
    assert refused.status_code == 403 and refused.json["error"]["field"] == "audit_id"
    with db.reader() as s:
        rows = s.execute(select(Assignment.narrative_id, Assignment.state).where(Assignment.statement_id == sid)).all()
    assert {tuple(r) for r in rows} == {(data.narratives[0], "rejected"), (data.narratives[1], "confirmed")}
    assert post(client, f"/api/statements/{sid}/assignment/undo", data.tokens["researcher"],
                {"audit_id": mine.json["audit_id"]}).status_code == 200


def test_tag_with_unknown_narrative_is_422(client: FlaskClient, data: Seeded) -> None:
    r = post(client, f"/api/statements/{data.statements[0]}/assignment", data.tokens["researcher"],
             {"action": "reassign", "narrative_id": 987654})
    assert r.status_code == 422 and r.json["error"]["field"] == "narrative_id"


def test_tag_of_unknown_statement_is_404(client: FlaskClient, data: Seeded) -> None:
    r = post(client, "/api/statements/987654/assignment", data.tokens["researcher"], {"action": "clear"})
    assert r.status_code == 404


def test_seeded_narrative_pulls_in_matching_statements(client: FlaskClient, data: Seeded) -> None:
    r = post(client, "/api/narratives", data.tokens["researcher"],
             {"label": "Heating bills", "examples": ["European households pay for sanctions with their heating bills"]})
    assert r.status_code == 201
    assert r.json["origin"] == "seeded" and r.json["assigned"] >= 1


def test_rename_and_status_write_history(client: FlaskClient, data: Seeded, db: Database) -> None:
    nid = data.narratives[0]
    r = post(client, f"/api/narratives/{nid}", data.tokens["researcher"],
             {"label": "US bio-labs", "status": "dormant", "description": "Claims of secret labs."}, method="patch")
    assert r.status_code == 200
    assert (r.json["label"], r.json["status"], r.json["locked"]) == ("US bio-labs", "dormant", True)
    assert [h["kind"] for h in r.json["history"]] == ["renamed", "status"]
    with db.reader() as s:
        assert s.get(Narrative, nid).label_edited is True  # type: ignore[union-attr]


def test_patch_with_bad_status_is_422(client: FlaskClient, data: Seeded) -> None:
    r = post(client, f"/api/narratives/{data.narratives[0]}", data.tokens["researcher"], {"status": "merged"},
             method="patch")
    assert r.status_code == 422 and r.json["error"]["field"] == "status"


def test_merge_moves_statements_and_marks_the_source_merged(client: FlaskClient, data: Seeded, db: Database) -> None:
    src, dst = data.narratives
    r = post(client, f"/api/narratives/{src}/merge", data.tokens["researcher"], {"into": dst})
    assert r.status_code == 200 and r.json["id"] == dst and r.json["size"] == 5
    with db.reader() as s:
        gone = s.get(Narrative, src)
        assert gone is not None and (gone.status, gone.merged_into_id) == ("merged", dst)
        kinds = set(s.scalars(select(NarrativeEvent.kind)))
    assert {"merged_into", "merged_from"} <= kinds
    again = post(client, f"/api/narratives/{src}/merge", data.tokens["researcher"], {"into": dst})
    assert again.status_code == 409


def test_a_merge_is_undone_through_the_api_by_who_made_it(client: FlaskClient, data: Seeded, db: Database,
                                                          config: Config) -> None:
    src, dst = data.narratives
    assert post(client, f"/api/narratives/{src}/merge", data.tokens["researcher"], {"into": dst}).status_code == 200
    assert post(client, f"/api/narratives/{src}/unmerge", data.tokens["admin"], {}).status_code == 403
    undone = post(client, f"/api/narratives/{src}/unmerge", data.tokens["researcher"], {})
    assert undone.status_code == 200 and undone.json["status"] == "active" and undone.json["size"] == 3
    assert post(client, f"/api/narratives/{src}/unmerge", data.tokens["researcher"], {}).status_code == 409


def test_statements_move_into_an_existing_narrative_through_the_api(client: FlaskClient, data: Seeded,
                                                                     db: Database) -> None:
    src, dst = data.narratives
    r = post(client, f"/api/narratives/{src}/move", data.tokens["researcher"],
             {"statement_ids": [data.statements[0]], "into": dst})
    assert r.status_code == 200 and r.json["id"] == dst and r.json["size"] == 3
    with db.reader() as s:
        row = s.execute(select(Assignment.narrative_id, Assignment.state)
                        .where(Assignment.statement_id == data.statements[0])).one()
    assert tuple(row) == (dst, "confirmed")
    assert post(client, f"/api/narratives/{src}/move", data.tokens["researcher"],
                {"statement_ids": [data.statements[4]], "into": dst}).status_code == 422


def test_a_seeded_narratives_examples_are_replaced_through_the_api(client: FlaskClient, data: Seeded) -> None:
    seeded = post(client, "/api/narratives", data.tokens["researcher"],
                  {"label": "Labs", "examples": ["laboratories near the border"]}).json["id"]
    r = post(client, f"/api/narratives/{seeded}/examples", data.tokens["researcher"],
             {"examples": ["sanctions hurt European households"]}, method="put")
    assert r.status_code == 200 and r.json["examples"] == ["sanctions hurt European households"]
    assert post(client, f"/api/narratives/{data.narratives[0]}/examples", data.tokens["researcher"],
                {"examples": ["x"]}, method="put").status_code == 409


def test_split_makes_a_new_narrative_with_history(client: FlaskClient, data: Seeded, db: Database) -> None:
    src = data.narratives[0]
    r = post(client, f"/api/narratives/{src}/split", data.tokens["researcher"],
             {"statement_ids": [data.statements[2]], "label": "Labs, Chinese telling"})
    assert r.status_code == 201
    new = r.json["id"]
    assert r.json["size"] == 1 and r.json["history"][0]["kind"] == "split_from"
    with db.reader() as s:
        assert s.scalar(select(Assignment.narrative_id).where(Assignment.statement_id == data.statements[2])) == new
        assert s.get(Narrative, src).size == 2  # type: ignore[union-attr]


def test_split_of_statements_outside_the_narrative_is_422(client: FlaskClient, data: Seeded) -> None:
    r = post(client, f"/api/narratives/{data.narratives[0]}/split", data.tokens["researcher"],
             {"statement_ids": [data.statements[4]], "label": "x"})
    assert r.status_code == 422 and r.json["error"]["field"] == "statement_ids"


# ---------------------------------------------------------------- admin

def test_admin_adds_pauses_and_lists_sources(client: FlaskClient, data: Seeded) -> None:
    token = data.tokens["admin"]
    r = post(client, "/api/sources", token, {"url": "https://example.org/feed.xml", "kind": "rss", "every": "2h"})
    assert r.status_code == 201 and r.json["every_seconds"] == 7200
    r2 = post(client, f"/api/sources/{r.json['id']}", token, {"enabled": False}, method="patch")
    assert r2.status_code == 200 and r2.json["enabled"] is False
    assert [s["id"] for s in get(client, "/api/sources", token).json["items"]] == [r.json["id"]]


def test_sources_from_local_files_cannot_be_added_over_the_web(client: FlaskClient, data: Seeded) -> None:
    r = post(client, "/api/sources", data.tokens["admin"], {"url": "/etc/passwd", "kind": "file"})
    assert r.status_code == 422 and r.json["error"]["field"] == "kind"


def test_admin_manages_users_but_not_the_last_admin(client: FlaskClient, data: Seeded, db: Database) -> None:
    token = data.tokens["admin"]
    r = post(client, "/api/users", token, {"name": "dana", "role": "viewer", "password": "x" * 12})
    assert r.status_code == 201 and r.json["role"] == "viewer"
    assert post(client, "/api/users", token, {"name": "dana", "role": "viewer"}).status_code == 409
    short = post(client, "/api/users", token, {"name": "eve", "role": "viewer", "password": "short"})
    assert short.status_code == 422 and short.json["error"]["field"] == "password"
    with db.reader() as s:
        admin_id = accounts.get_user(s, "admin").id  # type: ignore[union-attr]
    demote = post(client, f"/api/users/{admin_id}", token, {"role": "viewer"}, method="patch")
    assert demote.status_code == 409
    names = [u["name"] for u in get(client, "/api/users", token).json["items"]]
    assert names == ["viewer", "researcher", "admin", "dana"]


def test_audit_listing_is_newest_first(client: FlaskClient, data: Seeded, db: Database) -> None:
    post(client, f"/api/narratives/{data.narratives[0]}", data.tokens["researcher"], {"label": "Renamed"},
         method="patch")
    items = get(client, "/api/audit?object_type=narrative", data.tokens["admin"]).json["items"]
    assert items[0]["action"] == "narrative.update" and items[0]["user"] == "researcher"
    assert items[0]["old"] == {"label": "Bio-labs"} and items[0]["new"] == {"label": "Renamed"}
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "narrative")) == len(items)


# ---------------------------------------------------------------- errors

def test_unknown_api_path_and_wrong_method_are_json(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/nothing-here", data.tokens["viewer"])
    assert r.status_code == 404 and r.is_json
    r = client.delete("/api/narratives", headers=bearer(data.tokens["admin"]))
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed" and "GET" in r.headers["Allow"]


def test_huge_ids_are_404_not_database_errors(client: FlaskClient, data: Seeded) -> None:
    r = get(client, "/api/statements/99999999999999999999", data.tokens["viewer"])
    assert r.status_code == 404 and r.is_json


def test_admin_user_listing_pages_by_id_with_a_cursor(client: FlaskClient, data: Seeded) -> None:
    token = data.tokens["admin"]
    first = get(client, "/api/users?limit=2", token).json
    assert [u["name"] for u in first["items"]] == ["viewer", "researcher"] and first["next"]
    rest = get(client, f"/api/users?limit=2&cursor={first['next']}", token).json
    assert [u["name"] for u in rest["items"]] == ["admin"] and rest["next"] is None


def test_timeline_of_one_wave_and_a_missing_wave(client: FlaskClient, data: Seeded) -> None:
    url = f"/api/narratives/{data.narratives[0]}/timeline"
    whole = get(client, url, data.tokens["viewer"]).json
    assert whole["waves"] and whole["selected_wave"] is None
    one = get(client, url + "?wave=1", data.tokens["viewer"]).json
    assert one["selected_wave"] == 1 and one["first_mover"] == whole["waves"][0]["first_mover"]
    assert {e["wave"] for e in one["events"]} == {1}
    missing = get(client, url + f"?wave={len(whole['waves']) + 1}", data.tokens["viewer"])
    assert missing.status_code == 404 and missing.json["error"]["field"] == "wave"
    assert get(client, url + "?wave=0", data.tokens["viewer"]).status_code == 400
