"""The tagging queue's JSON calls (``/tag/api/...``) over a copy of the demo database: order of the
queue, decisions with their audit rows, CSRF, roles, undo of one decision and of a bulk action."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from tests.demo import build_demo, demo_config, demo_root
from tracker import accounts
from tracker.db import Database
from tracker.embed import HashingEmbedder
from tracker.models import Assignment, AuditEvent, Statement
from tracker.web import create_app

PASSWORD = "a long enough passphrase"


@pytest.fixture
def app(tmp_path_factory: pytest.TempPathFactory, tmp_path: Any) -> Flask:
    folder = tmp_path / "data"
    shutil.copytree(build_demo(demo_root(tmp_path_factory)), folder)
    cfg = demo_config(folder).replace(auth={"public_read": False})
    db = Database(cfg.database_url)
    with db.transaction() as tx:
        for name, role in (("rita", "researcher"), ("ross", "researcher"), ("vera", "viewer")):
            accounts.create_user(tx, name, role, PASSWORD, cfg.auth)
    return create_app(cfg, db=db)


def db_of(app: Flask) -> Database:
    return app.extensions["tracker"].db  # type: ignore[no-any-return]


def login(app: Flask, name: str) -> tuple[FlaskClient, dict[str, str]]:
    """A logged-in client and the headers its page script would send (the CSRF token)."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 302
    page = client.get("/tag").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    return client, {"X-CSRFToken": meta.group(1) if meta else ""}


def queue(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/tag/api/queue")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def rows_of(app: Flask, sid: int) -> set[tuple[int, str]]:
    with db_of(app).reader() as s:
        return {(a.narrative_id, a.state) for a in s.scalars(select(Assignment).where(Assignment.statement_id == sid))}


def audit_actions(app: Flask) -> list[tuple[str, str | None]]:
    with db_of(app).reader() as s:
        return [(e.action, e.object_id) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "statement").order_by(AuditEvent.id))]


def test_suggested_statements_come_first_closest_to_the_auto_level_first(app: Flask) -> None:
    client, _ = login(app, "rita")
    unassigned = [i["statement"]["id"] for i in queue(client)["items"]]
    far, near = unassigned[0], unassigned[1]
    auto = app.extensions["tracker"].config.narratives.auto_level
    with db_of(app).transaction() as tx:
        for sid, nid, score in ((far, 1, auto - 0.12), (near, 2, auto - 0.02), (near, 3, auto - 0.1)):
            tx.add(Assignment(statement_id=sid, narrative_id=nid, state="suggested", method="suggest", score=score))
    data = queue(client)
    kinds = [i["kind"] for i in data["items"]]
    assert [i["statement"]["id"] for i in data["items"][:2]] == [near, far]
    assert kinds[:2] == ["suggested", "suggested"] and set(kinds[2:]) == {"unassigned"}
    assert [c["id"] for c in data["items"][0]["candidates"][:2]] == [2, 3]
    assert data["progress"]["suggested"] == 2


def test_each_item_offers_at_most_nine_numbered_narratives_without_rejected_ones(app: Flask) -> None:
    client, headers = login(app, "rita")
    item = queue(client)["items"][0]
    assert 1 <= len(item["candidates"]) <= 9
    refused = item["candidates"][0]["id"]
    sid = item["statement"]["id"]
    assert client.post("/tag/api/decide", json={"statement_id": sid, "action": "reject", "narrative_id": refused},
                       headers=headers).status_code == 200
    again = client.get(f"/tag/api/queue?statement={sid}").get_json()["items"][0]
    assert refused not in [c["id"] for c in again["candidates"]]


def test_a_decision_is_stored_with_its_audit_row_and_leaves_the_queue(app: Flask) -> None:
    client, headers = login(app, "rita")
    before = queue(client)
    item = before["items"][0]
    sid, nid = item["statement"]["id"], item["candidates"][0]["id"]
    response = client.post("/tag/api/decide", json={"statement_id": sid, "action": "confirm", "narrative_id": nid},
                           headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert rows_of(app, sid) == {(nid, "confirmed")}
    assert audit_actions(app) == [("statement.confirm", str(sid))]
    assert body["progress"]["remaining"] == before["progress"]["remaining"] - 1
    assert body["progress"]["done"] == before["progress"]["done"] + 1
    assert sid not in [i["statement"]["id"] for i in queue(client)["items"]]


def test_a_decision_without_the_csrf_header_changes_nothing(app: Flask) -> None:
    client, _ = login(app, "rita")
    item = queue(client)["items"][0]
    sid = item["statement"]["id"]
    response = client.post("/tag/api/decide", json={"statement_id": sid, "action": "confirm",
                                                    "narrative_id": item["candidates"][0]["id"]})
    assert response.status_code == 400
    assert rows_of(app, sid) == set() and audit_actions(app) == []


def test_viewers_cannot_open_the_queue_or_decide(app: Flask) -> None:
    client, headers = login(app, "vera")
    assert client.get("/tag").status_code == 403
    assert client.post("/tag/api/decide", json={"statement_id": 1, "action": "clear"}, headers=headers).status_code == 403
    assert audit_actions(app) == []


def test_a_bad_narrative_is_refused_and_rolls_back(app: Flask) -> None:
    client, headers = login(app, "rita")
    sid = queue(client)["items"][0]["statement"]["id"]
    response = client.post("/tag/api/decide", json={"statement_id": sid, "action": "confirm", "narrative_id": 999999},
                           headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "narrative_id"
    assert rows_of(app, sid) == set() and audit_actions(app) == []


def test_undo_puts_the_snapshot_back_once(app: Flask) -> None:
    client, headers = login(app, "rita")
    item = queue(client)["items"][0]
    sid = item["statement"]["id"]
    decided = client.post("/tag/api/decide", json={"statement_id": sid, "action": "reject",
                                                   "narrative_id": item["candidates"][0]["id"]}, headers=headers)
    audit_ids = decided.get_json()["audit_ids"]
    undone = client.post("/tag/api/undo", json={"audit_ids": audit_ids}, headers=headers)
    assert undone.status_code == 200
    assert rows_of(app, sid) == set()
    assert [a for a, _ in audit_actions(app)] == ["statement.reject", "statement.undo"]
    assert client.post("/tag/api/undo", json={"audit_ids": audit_ids}, headers=headers).status_code == 409


def test_nobody_undoes_another_researchers_decision(app: Flask) -> None:
    rita, rita_headers = login(app, "rita")
    ross, ross_headers = login(app, "ross")
    item = queue(rita)["items"][0]
    decided = rita.post("/tag/api/decide", json={"statement_id": item["statement"]["id"], "action": "confirm",
                                                 "narrative_id": item["candidates"][0]["id"]}, headers=rita_headers)
    response = ross.post("/tag/api/undo", json={"audit_ids": decided.get_json()["audit_ids"]}, headers=ross_headers)
    assert response.status_code == 403
    assert rows_of(app, item["statement"]["id"]) == {(item["candidates"][0]["id"], "confirmed")}


def test_similar_preview_stays_above_the_threshold_and_skips_decided_statements(app: Flask) -> None:
    client, headers = login(app, "rita")
    with db_of(app).reader() as s:
        sid = s.scalar(select(Assignment.statement_id).where(Assignment.narrative_id == 1).order_by(Assignment.id))
    preview = client.get(f"/tag/api/similar?statement={sid}&threshold=0.3").get_json()["items"]
    assert preview and all(i["similarity"] >= 0.3 for i in preview)
    assert sid not in [i["statement"]["id"] for i in preview]
    other = preview[0]["statement"]["id"]
    client.post("/tag/api/decide", json={"statement_id": other, "action": "confirm", "narrative_id": 2}, headers=headers)
    again = client.get(f"/tag/api/similar?statement={sid}&threshold=0.3").get_json()["items"]
    assert other not in [i["statement"]["id"] for i in again]


def test_bulk_decision_is_one_transaction_and_one_undo(app: Flask) -> None:
    client, headers = login(app, "rita")
    ids = [i["statement"]["id"] for i in queue(client)["items"][:3]]
    refused = client.post("/tag/api/bulk", json={"action": "confirm", "narrative_id": 1,
                                                 "statement_ids": ids + [2_000_000]}, headers=headers)
    assert refused.status_code == 404
    assert all(rows_of(app, s) == set() for s in ids) and audit_actions(app) == []
    applied = client.post("/tag/api/bulk", json={"action": "confirm", "narrative_id": 1, "statement_ids": ids},
                          headers=headers)
    assert applied.status_code == 200
    assert all(rows_of(app, s) == {(1, "confirmed")} for s in ids)
    undone = client.post("/tag/api/undo", json={"audit_ids": applied.get_json()["audit_ids"]}, headers=headers)
    assert undone.status_code == 200
    assert all(rows_of(app, s) == set() for s in ids)
    assert sorted(a for a, _ in audit_actions(app)) == ["statement.confirm"] * 3 + ["statement.undo"] * 3


def test_new_narrative_from_a_statement_holds_it(app: Flask) -> None:
    # The hashing embedder is instant; the new narrative's centroid lives in its space.
    app = create_app(app.extensions["tracker"].config, db=db_of(app), embedder=HashingEmbedder())
    client, headers = login(app, "rita")
    sid = queue(client)["items"][0]["statement"]["id"]
    response = client.post("/tag/api/seed", json={"statement_id": sid, "label": "Victory Day ceremonies"},
                           headers=headers)
    assert response.status_code == 201
    nid = response.get_json()["narrative"]["id"]
    assert rows_of(app, sid) == {(nid, "confirmed")}
    with db_of(app).reader() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["narrative.seed", "statement.confirm"]


def test_queue_page_shows_the_keys_and_loads_its_script_without_inline_code(app: Flask) -> None:
    client, _ = login(app, "rita")
    html = client.get("/tag").get_data(as_text=True)
    for key in ("<kbd>1</kbd>", "<kbd>a</kbd>", "<kbd>r</kbd>", "<kbd>n</kbd>", "<kbd>u</kbd>", "<kbd>j</kbd>",
                "<kbd>k</kbd>"):
        assert key in html
    assert re.search(r'src="/assets/tagging\.[0-9a-f]{10}\.js"', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son\w+=", html) and "style=" not in html


def test_statements_removed_meanwhile_are_skipped(app: Flask) -> None:
    client, _ = login(app, "rita")
    first = queue(client)["items"][0]["statement"]["id"]
    with db_of(app).transaction() as tx:
        tx.execute(delete(Statement).where(Statement.id == first))
    assert first not in [i["statement"]["id"] for i in queue(client)["items"]]
