"""The audit trail: exactly one row per change, written in the change's transaction, so a change
that is rolled back leaves no row."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.webdata import Seeded, bearer, make_app, seed
from tracker import accounts, queries
from tracker.config import Config
from tracker.db import Database
from tracker.models import AuditEvent, Narrative
from tracker.narratives.manage import merge_narratives, split_narrative, update_narrative
from tracker.narratives.tags import tag_statement


class Boom(RuntimeError):
    pass


@pytest.fixture
def data(db: Database, config: Config) -> Seeded:
    return seed(db, config)


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    return make_app(config, db)


def audit_rows(db: Database) -> list[tuple[str, str | None]]:
    with db.reader() as s:
        return [tuple(r) for r in s.execute(select(AuditEvent.action, AuditEvent.object_id).order_by(AuditEvent.id))]


def count(db: Database) -> int:
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.mark.parametrize("method, path, payload, action", [
    ("post", "/api/statements/{s0}/assignment", {"action": "confirm"}, "statement.confirm"),
    ("patch", "/api/narratives/{n0}", {"label": "New name", "status": "dormant"}, "narrative.update"),
    ("post", "/api/narratives/{n0}/merge", {"into": "{n1}"}, "narrative.merge"),
    ("post", "/api/narratives/{n0}/split", {"statement_ids": ["{s0}"], "label": "Part"}, "narrative.split"),
    ("post", "/api/statements", {"text": "A statement typed in by hand."}, "statement.add"),
])
def test_each_api_change_writes_exactly_one_audit_row(app: Flask, db: Database, data: Seeded, method: str,
                                                      path: str, payload: dict[str, Any], action: str) -> None:
    ids = {"s0": data.statements[0], "n0": data.narratives[0], "n1": data.narratives[1]}

    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    token = data.tokens["researcher"]
    before = count(db)
    r = getattr(app.test_client(), method)(path.format(**ids), json={k: fill(v) for k, v in payload.items()},
                                           headers=bearer(token))
    assert r.status_code in (200, 201), r.json
    rows = audit_rows(db)[before:]
    assert [a for a, _ in rows] == [action]
    with db.reader() as s:
        event = s.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event is not None and event.actor_name == "researcher" and event.new


def test_an_edit_that_changes_nothing_writes_no_row(app: Flask, db: Database, data: Seeded) -> None:
    before = count(db)
    r = app.test_client().patch(f"/api/narratives/{data.narratives[0]}", json={"label": "Bio-labs"},
                                headers=bearer(data.tokens["researcher"]))
    assert r.status_code == 200 and count(db) == before


@pytest.mark.parametrize("change", ["tag", "rename", "merge", "split", "user"])
def test_rolled_back_change_leaves_no_audit_row(db: Database, data: Seeded, config: Config, change: str) -> None:
    before_rows, n0, n1, s0 = count(db), data.narratives[0], data.narratives[1], data.statements[0]
    with pytest.raises(Boom), db.transaction() as tx:
        if change == "tag":
            tag_statement(tx, s0, "reassign", n1)
        elif change == "rename":
            update_narrative(tx, n0, label="Never saved")
        elif change == "merge":
            merge_narratives(tx, n0, n1)
        elif change == "split":
            split_narrative(tx, n0, [s0], "Never saved")
        else:
            accounts.create_user(tx, "ghost", "viewer", None, config.auth)
        tx.flush()
        assert tx.scalar(select(func.count()).select_from(AuditEvent)) == before_rows + 1  # it was there...
        raise Boom("fail after the change, inside its transaction")
    assert count(db) == before_rows  # ...and left with the change
    with db.reader() as s:
        assert s.get(Narrative, n0).label == "Bio-labs"  # type: ignore[union-attr]
        assert s.get(Narrative, n0).status == "active"  # type: ignore[union-attr]


def test_api_failure_after_the_change_rolls_back_change_and_audit(app: Flask, db: Database, data: Seeded,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise Boom("the response could not be built")

    monkeypatch.setattr(queries, "narrative_detail", broken)
    before = count(db)
    r = app.test_client().patch(f"/api/narratives/{data.narratives[0]}", json={"label": "Lost"},
                                headers=bearer(data.tokens["researcher"]))
    assert r.status_code == 500 and r.json["error"]["code"] == "server_error"
    assert "Boom" not in r.get_data(as_text=True)  # internals are logged, not shown
    assert count(db) == before
    with db.reader() as s:
        assert s.get(Narrative, data.narratives[0]).label == "Bio-labs"  # type: ignore[union-attr]
