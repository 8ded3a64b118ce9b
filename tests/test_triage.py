"""Triage of narratives (candidate, tracked, not a narrative) and a tagging queue that respects it: the
same state in the API, CLI, dashboard and exports; "not a narrative" keeps statements out of the
queue; dismissed statements leave it; tracked narratives' uncertain statements come first; after a
reload the page gets its decisions back from the audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, update

from tests.test_tagging import app, db_of, login, queue  # noqa: F401 - the app fixture and its helpers
from tracker import accounts
from tracker.cli import main
from tracker.models import Assignment, Narrative, NarrativeEvent, Statement, User


def _bearer(app: Flask, name: str) -> dict[str, str]:  # noqa: F811
    """API calls carry a token, not the session cookie."""
    with db_of(app).transaction() as tx:
        user = tx.scalar(select(User).where(User.name == name))
        assert user is not None
        return {"Authorization": f"Bearer {accounts.issue_token(tx, user)}"}


def _narratives(app: Flask) -> list[int]:  # noqa: F811
    with db_of(app).reader() as s:
        return list(s.scalars(select(Narrative.id).where(Narrative.status.in_(("active", "emerging")))
                              .order_by(Narrative.id)))


def _set_triage(client: Any, headers: dict[str, str], nid: int, state: str) -> Any:
    return client.patch(f"/api/narratives/{nid}", json={"triage": state}, headers=headers)


def _researcher(app: Flask) -> tuple[Any, dict[str, str], dict[str, str]]:  # noqa: F811
    """A logged-in researcher's client, its page's CSRF headers, and API token headers."""
    client, headers = login(app, "rita")
    return client, headers, _bearer(app, "rita")


def test_discovered_narratives_start_as_candidates_and_a_researcher_triages_them(app: Flask) -> None:  # noqa: F811
    client, _, headers = _researcher(app)
    listed = client.get("/api/narratives?limit=200").get_json()["items"]
    assert listed and {n["triage"] for n in listed} == {"candidate"}
    nid = listed[0]["id"]
    answer = _set_triage(client, headers, nid, "tracked")
    assert answer.status_code == 200 and answer.get_json()["triage"] == "tracked"
    with db_of(app).reader() as s:
        event = s.scalar(select(NarrativeEvent).where(NarrativeEvent.narrative_id == nid,
                                                      NarrativeEvent.kind == "triage"))
        assert event is not None and event.detail == {"old": "candidate", "new": "tracked"}
    assert _set_triage(client, headers, nid, "important").status_code == 422


def test_not_a_narrative_is_hidden_by_default_and_shown_on_request_in_api_and_overview(app: Flask) -> None:  # noqa: F811
    client, _, headers = _researcher(app)
    nid = _narratives(app)[0]
    assert _set_triage(client, headers, nid, "not_narrative").status_code == 200
    shown = {n["id"] for n in client.get("/api/narratives?limit=200").get_json()["items"]}
    hidden = {n["id"] for n in client.get("/api/narratives?limit=200&triage=not_narrative").get_json()["items"]}
    every = {n["id"] for n in client.get("/api/narratives?limit=200&triage=all").get_json()["items"]}
    assert nid not in shown and hidden == {nid} and every == shown | {nid}
    assert client.get("/api/narratives?triage=nonsense").status_code == 400
    assert f'href="/narratives/{nid}"' not in client.get("/").get_data(as_text=True)
    assert f'href="/narratives/{nid}"' in client.get("/?triage=not_narrative").get_data(as_text=True)


def test_cli_and_exports_carry_the_same_state(app: Flask, tmp_path: Any) -> None:  # noqa: F811
    cfg = app.extensions["tracker"].config
    nid = _narratives(app)[0]
    env = {"TRACKER_DATA_DIR": cfg.data.dir, "TRACKER_DATABASE_URL": cfg.database_url, "TRACKER_CONFIG": ""}
    runner = CliRunner()
    out = runner.invoke(main, ["narratives", "triage", str(nid), "tracked"], env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    listing = runner.invoke(main, ["narratives", "list", "--triage", "tracked"], env=env).output.splitlines()
    assert len(listing) == 1 and listing[0].split()[0] == str(nid) and " tracked " in listing[0]
    assert runner.invoke(main, ["narratives", "list", "--triage", "maybe"], env=env).exit_code != 0
    target = tmp_path / "n.csv"
    runner.invoke(main, ["export", "narratives", "--format", "csv", "-o", str(target)], env=env, catch_exceptions=False)
    rows = {r["narrative_id"]: r for r in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))}
    assert rows[str(nid)]["triage"] == "tracked"
    target = tmp_path / "s.jsonl"
    runner.invoke(main, ["export", "statements", "--format", "jsonl", "-o", str(target)], env=env,
                  catch_exceptions=False)
    statements = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["narrative_triage"] for r in statements if r["narrative_id"] == nid} == {"tracked"}


def test_statements_suggested_only_for_a_not_a_narrative_leave_the_queue(app: Flask) -> None:  # noqa: F811
    client, _, headers = _researcher(app)
    nids = _narratives(app)
    sid = queue(client)["items"][0]["statement"]["id"]
    with db_of(app).transaction() as tx:
        tx.add(Assignment(statement_id=sid, narrative_id=nids[0], state="suggested", method="suggest", score=0.5))
    assert sid in {i["statement"]["id"] for i in queue(client)["items"]}
    before = queue(client)["progress"]["remaining"]
    assert _set_triage(client, headers, nids[0], "not_narrative").status_code == 200
    data = queue(client)
    assert sid not in {i["statement"]["id"] for i in data["items"]}
    assert data["progress"]["remaining"] == before - 1
    one = client.get(f"/tag/api/queue?statement={data['items'][0]['statement']['id']}").get_json()["items"][0]
    assert nids[0] not in {c["id"] for c in one["candidates"]}


def test_uncertain_statements_about_tracked_narratives_come_first(app: Flask) -> None:  # noqa: F811
    client, _, headers = _researcher(app)
    nids = _narratives(app)
    first, second = [i["statement"]["id"] for i in queue(client)["items"][:2]]
    with db_of(app).transaction() as tx:
        tx.add(Assignment(statement_id=first, narrative_id=nids[0], state="suggested", method="suggest", score=0.9))
        tx.add(Assignment(statement_id=second, narrative_id=nids[1], state="suggested", method="suggest", score=0.3))
    assert [i["statement"]["id"] for i in queue(client)["items"][:2]] == [first, second]  # nearer the auto level
    assert _set_triage(client, headers, nids[1], "tracked").status_code == 200
    assert [i["statement"]["id"] for i in queue(client)["items"][:2]] == [second, first]


def test_candidates_below_the_suggest_level_are_flagged(app: Flask) -> None:  # noqa: F811
    client, _ = login(app, "rita")
    level = app.extensions["tracker"].config.narratives.suggest_level
    for item in queue(client)["items"]:
        for c in item["candidates"]:
            assert c["below"] == (c["score"] is None or c["score"] < level)
    assert any(c["below"] for i in queue(client)["items"] for c in i["candidates"])


def test_dismissing_takes_a_statement_out_and_the_session_remembers_decisions_not_undone(app: Flask) -> None:  # noqa: F811
    client, headers = login(app, "rita")
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    items = queue(client)["items"]
    a, b = items[0]["statement"]["id"], items[1]["statement"]["id"]
    first = client.post("/tag/api/decide", json={"statement_id": a, "action": "dismiss"}, headers=headers)
    assert first.status_code == 200
    second = client.post("/tag/api/decide", json={"statement_id": b, "action": "dismiss"}, headers=headers)
    with db_of(app).reader() as s:
        assert s.get(Statement, a).off_topic is True  # type: ignore[union-attr]
    assert a not in {i["statement"]["id"] for i in queue(client)["items"]}
    assert queue(client)["progress"]["done"] >= 2
    undo_b = second.get_json()["audit_ids"]
    assert client.post("/tag/api/undo", json={"audit_ids": undo_b}, headers=headers).status_code == 200
    log = client.get("/tag/api/session", query_string={"since": since}).get_json()["decisions"]
    assert [(d["statement_id"], d["action"]) for d in log] == [(a, "dismiss")]
    assert first.get_json()["audit_ids"] == [log[0]["audit_id"]]
    other, _ = login(app, "ross")
    assert other.get("/tag/api/session", query_string={"since": since}).get_json()["decisions"] == []
    assert client.get("/tag/api/session?since=yesterday").status_code == 422


def test_merging_a_tracked_narrative_keeps_the_result_tracked(app: Flask) -> None:  # noqa: F811
    client, _, headers = _researcher(app)
    a, b = _narratives(app)[:2]
    assert _set_triage(client, headers, a, "tracked").status_code == 200
    assert client.post(f"/api/narratives/{a}/merge", json={"into": b}, headers=headers).status_code == 200
    with db_of(app).reader() as s:
        assert s.get(Narrative, b).triage == "tracked"  # type: ignore[union-attr]
    with db_of(app).transaction() as tx:  # keep the fixture's other tests independent
        tx.execute(update(Narrative).where(Narrative.id == b).values(triage="candidate"))
