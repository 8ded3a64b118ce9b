"""Narrative management (``/manage``) and sources/jobs (``/admin``) as HTML forms with CSRF tokens,
over a copy of the demo database: each edit lands with its audit row, refused edits change nothing."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.demo import build_demo, demo_config, demo_root
from tracker import accounts
from tracker.db import Database
from tracker.embed import HashingEmbedder
from tracker.models import Assignment, AuditEvent, Narrative, Source
from tracker.vocabulary import CURRENT_STATES
from tracker.web import create_app

PASSWORD = "a long enough passphrase"


@pytest.fixture
def app(tmp_path_factory: pytest.TempPathFactory, tmp_path: Any) -> Flask:
    folder = tmp_path / "data"
    shutil.copytree(build_demo(demo_root(tmp_path_factory)), folder)
    cfg = demo_config(folder).replace(auth={"public_read": False})
    db = Database(cfg.database_url)
    with db.transaction() as tx:
        accounts.create_user(tx, "rita", "researcher", PASSWORD, cfg.auth)
        accounts.create_user(tx, "adam", "admin", PASSWORD, cfg.auth)
    return create_app(cfg, db=db, embedder=HashingEmbedder())


def login(app: Flask, name: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    assert client.post("/login", data={"name": name, "password": PASSWORD,
                                       "csrf_token": token.group(1)}).status_code == 302
    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/manage").get_data(as_text=True))
    return client, form.group(1) if form else ""


def audits(app: Flask, prefix: str) -> list[tuple[str, dict[str, Any] | None]]:
    with app.extensions["tracker"].db.reader() as s:
        return [(e.action, e.new) for e in s.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%"))
                                                      .order_by(AuditEvent.id))]


def narrative(app: Flask, nid: int) -> Narrative:
    with app.extensions["tracker"].db.reader() as s:
        found = s.get(Narrative, nid)
        assert found is not None
        return found


def members(app: Flask, nid: int) -> set[int]:
    with app.extensions["tracker"].db.reader() as s:
        return set(s.scalars(select(Assignment.statement_id).where(Assignment.narrative_id == nid,
                                                                   Assignment.state.in_(CURRENT_STATES))))


def test_seeded_narrative_is_created_from_the_form(app: Flask) -> None:
    client, token = login(app, "rita")
    response = client.post("/manage/narratives", data={"csrf_token": token, "label": "Grain deal", "description": "",
                                                       "examples": "The grain deal only feeds rich countries.\n\n"})
    assert response.status_code == 303
    nid = int(response.headers["Location"].rsplit("/", 1)[1])
    n = narrative(app, nid)
    assert (n.label, n.origin, n.examples) == ("Grain deal", "seeded", ["The grain deal only feeds rich countries."])
    assert [a for a, _ in audits(app, "narrative.")] == ["narrative.seed"]


def test_seed_without_examples_is_refused_with_the_input_kept(app: Flask) -> None:
    client, token = login(app, "rita")
    response = client.post("/manage/narratives", data={"csrf_token": token, "label": "Grain deal", "examples": " "})
    assert response.status_code == 422
    assert 'value="Grain deal"' in response.get_data(as_text=True)
    assert audits(app, "narrative.") == []


def test_rename_and_archive_write_audit_rows(app: Flask) -> None:
    client, token = login(app, "rita")
    assert client.post("/manage/narratives/2/rename", data={"csrf_token": token, "label": "NATO expansion",
                                                            "description": "Encirclement claims"}).status_code == 303
    assert client.post("/manage/narratives/2/status", data={"csrf_token": token, "status": "archived"}).status_code == 303
    n = narrative(app, 2)
    assert (n.label, n.description, n.status) == ("NATO expansion", "Encirclement claims", "archived")
    assert [new for _, new in audits(app, "narrative.update")] == [
        {"label": "NATO expansion", "description": "Encirclement claims"}, {"status": "archived"}]


def test_empty_label_is_refused_and_nothing_changes(app: Flask) -> None:
    client, token = login(app, "rita")
    before = narrative(app, 2).label
    response = client.post("/manage/narratives/2/rename", data={"csrf_token": token, "label": "  "})
    assert response.status_code == 422
    assert narrative(app, 2).label == before and audits(app, "narrative.") == []


def test_a_form_without_its_csrf_token_changes_nothing(app: Flask) -> None:
    client, _ = login(app, "rita")
    assert client.post("/manage/narratives/2/status", data={"status": "archived"}).status_code == 400
    assert narrative(app, 2).status != "archived"


def test_merge_asks_first_then_moves_the_statements(app: Flask) -> None:
    client, token = login(app, "rita")
    moving, staying = members(app, 3), members(app, 4)
    asked = client.post("/manage/narratives/3/merge", data={"csrf_token": token, "into": "4"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Merge #3 into #4?" in html and 'name="confirm" value="yes"' in html
    assert members(app, 3) == moving and narrative(app, 3).status != "merged"  # nothing happened yet
    response = client.post("/manage/narratives/3/merge", data={"csrf_token": token, "into": "4", "confirm": "yes"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/manage/narratives/4")
    assert members(app, 4) == moving | staying and members(app, 3) == set()
    assert narrative(app, 3).status == "merged"


def test_a_merge_is_undone_by_whoever_made_it(app: Flask) -> None:
    client, token = login(app, "rita")
    moving, staying = members(app, 3), members(app, 4)
    status = narrative(app, 3).status
    client.post("/manage/narratives/3/merge", data={"csrf_token": token, "into": "4", "confirm": "yes"})
    page = client.get("/manage/narratives/4").get_data(as_text=True)
    assert 'action="/manage/narratives/3/unmerge"' in page
    other, other_token = login(app, "adam")
    assert 'action="/manage/narratives/3/unmerge"' not in other.get("/manage/narratives/4").get_data(as_text=True)
    refused = other.post("/manage/narratives/3/unmerge", data={"csrf_token": other_token})
    assert refused.status_code == 403 and narrative(app, 3).status == "merged"
    undone = client.post("/manage/narratives/3/unmerge", data={"csrf_token": token})
    assert undone.status_code == 303
    assert members(app, 3) == moving and members(app, 4) == staying
    assert (narrative(app, 3).status, narrative(app, 3).merged_into_id) == (status, None)
    assert [a for a, _ in audits(app, "narrative.")] == ["narrative.merge", "narrative.unmerge"]
    again = client.post("/manage/narratives/3/unmerge", data={"csrf_token": token})
    assert again.status_code == 409


def test_a_merge_is_not_undone_over_a_later_decision(app: Flask) -> None:
    from tracker.service import tagging

    client, token = login(app, "rita")
    moved = sorted(members(app, 3))
    client.post("/manage/narratives/3/merge", data={"csrf_token": token, "into": "4", "confirm": "yes"})
    ws = app.extensions["tracker"].workspace
    tagging.tag(ws, None, moved[0], "reject", 4)  # someone decided about a moved statement since
    refused = client.post("/manage/narratives/3/unmerge", data={"csrf_token": token})
    assert refused.status_code == 409 and "changed in narrative 4" in refused.get_data(as_text=True)
    assert narrative(app, 3).status == "merged"


def test_statements_move_into_an_existing_narrative(app: Flask) -> None:
    client, token = login(app, "rita")
    page = client.get("/manage/narratives/2").get_data(as_text=True)
    ticked = re.findall(r'name="statement_ids" value="(\d+)"', page)[:3]
    before = members(app, 5)
    response = client.post("/manage/narratives/2/split", data={"csrf_token": token, "statement_ids": ticked,
                                                               "into": "5", "to": "existing"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/manage/narratives/5")
    assert members(app, 5) == before | {int(t) for t in ticked} and not members(app, 2) & {int(t) for t in ticked}
    with app.extensions["tracker"].db.reader() as s:
        states = set(s.scalars(select(Assignment.state).where(Assignment.narrative_id == 5,
                                                              Assignment.statement_id.in_([int(t) for t in ticked]))))
    assert states == {"confirmed"}
    assert [a for a, _ in audits(app, "narrative.")] == ["narrative.move"]
    missing = client.post("/manage/narratives/2/split", data={"csrf_token": token, "statement_ids": ticked[:1],
                                                              "to": "existing"})
    assert missing.status_code == 422 and "Choose the narrative" in missing.get_data(as_text=True)


def test_the_list_to_move_from_narrows_by_date_actor_and_language(app: Flask) -> None:
    client, _ = login(app, "rita")
    everything = re.findall(r'name="statement_ids" value="(\d+)"', client.get("/manage/narratives/1").get_data(as_text=True))
    with app.extensions["tracker"].db.reader() as s:
        from tracker.models import Statement

        langs = {sid: lang for sid, lang in s.execute(select(Statement.id, Statement.language)
                                                      .where(Statement.id.in_([int(i) for i in everything])))}
    language = sorted(set(langs.values()) - {None})[0]
    html = client.get(f"/manage/narratives/1?language={language}").get_data(as_text=True)
    narrowed = re.findall(r'name="statement_ids" value="(\d+)"', html)
    assert narrowed and set(narrowed) < set(everything)
    assert all(langs[int(i)] == language for i in narrowed)
    early = re.findall(r'name="statement_ids" value="(\d+)"',
                       client.get("/manage/narratives/1?until=1999-01-01").get_data(as_text=True))
    assert early == []
    by_actor = client.get("/manage/narratives/1?actor=zzzz-nobody").get_data(as_text=True)
    assert "No statement of this narrative matches the filter" in by_actor


def test_after_seeding_the_nearest_statements_show_and_new_examples_tune_it(app: Flask) -> None:
    from tracker.embed import embed_pending

    embed_pending(app.extensions["tracker"].db, HashingEmbedder())  # vectors in the test's model
    client, token = login(app, "rita")
    response = client.post("/manage/narratives", data={
        "csrf_token": token, "label": "Bio-labs", "examples": "Secret US biological laboratories in Ukraine"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    section = page.split('id="h-nearest"', 1)[1].split("</table>", 1)[0]
    levels = [float(x) for x in re.findall(r'data-label="Level">(-?[\d.]+)<', section)]
    assert len(levels) == 20 and levels == sorted(levels, reverse=True)
    assert "laborator" in section.lower()
    nid = int(response.headers["Location"].rsplit("/", 1)[1])
    tuned = client.post(f"/manage/narratives/{nid}/examples", data={
        "csrf_token": token, "examples": "NATO expands eastward and encircles Russia\nNATO broke its promise"})
    assert tuned.status_code == 303
    assert narrative(app, nid).examples == ["NATO expands eastward and encircles Russia", "NATO broke its promise"]
    section = client.get(f"/manage/narratives/{nid}").get_data(as_text=True).split('id="h-nearest"', 1)[1]
    assert "nato" in section.split("</table>", 1)[0].lower()
    assert [a for a, _ in audits(app, "narrative.")] == ["narrative.seed", "narrative.examples"]


def test_split_moves_the_ticked_statements_to_a_new_narrative(app: Flask) -> None:
    client, token = login(app, "rita")
    page = client.get("/manage/narratives/2").get_data(as_text=True)
    ticked = re.findall(r'name="statement_ids" value="(\d+)"', page)[:2]
    response = client.post("/manage/narratives/2/split",
                           data={"csrf_token": token, "label": "Eastward promise", "statement_ids": ticked})
    assert response.status_code == 303
    new = int(response.headers["Location"].rsplit("/", 1)[1])
    assert members(app, new) == {int(t) for t in ticked}
    assert not members(app, 2) & members(app, new)


def test_researchers_cannot_reach_sources_or_jobs(app: Flask) -> None:
    client, _ = login(app, "rita")
    assert client.get("/admin/sources").status_code == 403
    assert client.get("/admin/jobs").status_code == 403


def test_admin_adds_pauses_resumes_and_edits_a_source(app: Flask) -> None:
    client, token = login(app, "adam")
    added = client.post("/admin/sources", data={"csrf_token": token, "url": "https://example.org/feed.xml",
                                                "kind": "rss", "name": "Example feed", "every": "2h"})
    assert added.status_code == 303
    with app.extensions["tracker"].db.reader() as s:
        sid = s.scalar(select(Source.id).where(Source.name == "Example feed"))
    assert client.post(f"/admin/sources/{sid}/enabled", data={"csrf_token": token, "enabled": "0"}).status_code == 303
    assert "paused" in client.get("/admin/sources").get_data(as_text=True)
    assert client.post(f"/admin/sources/{sid}/enabled", data={"csrf_token": token, "enabled": "1"}).status_code == 303
    assert client.post(f"/admin/sources/{sid}", data={"csrf_token": token, "every": "30m", "enabled": "on",
                                                      "fetch_full_text": "on"}).status_code == 303
    with app.extensions["tracker"].db.reader() as s:
        src = s.get(Source, sid)
        assert src is not None and (src.every_seconds, src.fetch_full_text, src.enabled) == (1800, True, True)
    assert [a for a, _ in audits(app, "source.")] == ["source.add", "source.pause", "source.enable", "source.update"]


def test_bad_source_input_is_refused_with_the_field_named(app: Flask) -> None:
    client, token = login(app, "adam")
    response = client.post("/admin/sources", data={"csrf_token": token, "url": "file:///etc/passwd", "kind": "rss"})
    assert response.status_code == 422 and "url" in response.get_data(as_text=True)
    with app.extensions["tracker"].db.reader() as s:
        assert s.scalar(select(func.count(Source.id))) == 0


def test_jobs_page_lists_the_pipeline_runs(app: Flask) -> None:
    client, _ = login(app, "adam")
    html = client.get("/admin/jobs").get_data(as_text=True)
    with app.extensions["tracker"].db.reader() as s:
        from tracker.models import JobRun

        kinds = set(s.scalars(select(JobRun.kind)))
    assert kinds and all(k in html for k in kinds)
