"""The admin's week: fetch a source now, edit and delete it, read its fetch log, read job counts in words,
and see researchers' merges and splits in the activity log. Feeds come from a loopback server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from httpfixture import FixtureServer
from sqlalchemy import select

from tests.ingestkit import Validated, ingest_config, numbered_items, rss
from tests.webdata import PASSWORD, add_user, bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.models import AuditEvent, Source, SourceFetch, Statement
from tracker.web.filters import counts_text


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as s:
        yield s


@pytest.fixture
def cfg(db_url: str, tmp_path: Path) -> Config:
    return ingest_config(db_url, tmp_path)


@pytest.fixture
def app(cfg: Config, db: Database) -> Flask:
    app = make_app(cfg, db)
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests
    return app


@pytest.fixture
def admin(app: Flask, db: Database, cfg: Config) -> FlaskClient:
    add_user(db, cfg, "ada", "admin", PASSWORD)
    client = app.test_client()
    assert client.post("/login", data={"name": "ada", "password": PASSWORD}).status_code == 302
    return client


def add_feed(admin: FlaskClient, server: FixtureServer, name: str = "wire", n: int = 3) -> int:
    server.routes[f"/{name}"] = Validated(rss(name, numbered_items(name, n), language="en").encode(), etag=f'"{name}-1"')
    r = admin.post("/admin/sources", data={"url": server.url(f"/{name}"), "kind": "rss", "name": name, "every": "1d"})
    assert r.status_code == 303
    return int(re.findall(r'/admin/sources/(\d+)"', admin.get("/admin/sources").get_data(as_text=True))[-1])


def test_fetch_now_fetches_one_source_and_says_what_it_brought(admin: FlaskClient, server: FixtureServer,
                                                               db: Database) -> None:
    sid = add_feed(admin, server)
    add_feed(admin, server, "other")
    done = admin.post(f"/admin/sources/{sid}/fetch", follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Fetched \u201cwire\u201d: 3 new, 0 updated, 0 unchanged statements" in html
    assert (server.hits("/wire"), server.hits("/other")) == (1, 0)
    with db.reader() as s:
        assert s.scalar(select(Statement.id).limit(1)) is not None
    again = admin.post(f"/admin/sources/{sid}/fetch", follow_redirects=True).get_data(as_text=True)
    assert "has not changed since the last fetch" in again  # the feed answered 304
    assert admin.post("/admin/sources/424242/fetch").status_code == 404


def test_the_fetch_log_lists_every_fetch_with_its_outcome(admin: FlaskClient, server: FixtureServer) -> None:
    sid = add_feed(admin, server)
    admin.post(f"/admin/sources/{sid}/fetch")
    server.routes["/wire"] = Validated(b"not a feed at all", content_type="text/plain")
    admin.post(f"/admin/sources/{sid}/fetch")
    html = admin.get(f"/admin/sources/{sid}").get_data(as_text=True)
    log = html.split('id="h-fetches"', 1)[1]
    results = re.findall(r'data-label="Result"><span class="status-(\w+)">', log)
    assert results == ["failed", "ok"]  # newest first
    assert "not an RSS or Atom feed" in log and '<td class="num" data-label="New">3</td>' in log


def test_an_admin_edits_every_field_of_a_source(admin: FlaskClient, server: FixtureServer, db: Database) -> None:
    sid = add_feed(admin, server)
    admin.post(f"/admin/sources/{sid}/fetch")
    r = admin.post(f"/admin/sources/{sid}", data={
        "name": "TASS wire", "url": server.url("/moved"), "actor": "Maria Zakharova", "outlet": "TASS",
        "every": "2h", "country": "ru", "enabled": "on"})
    assert r.status_code == 303
    with db.reader() as s:
        source = s.get(Source, sid)
        assert source is not None
        assert (source.name, source.url, source.every_seconds, source.country) == ("TASS wire", server.url("/moved"),
                                                                                    7200, "RU")
        assert source.etag is None and source.actor_id is not None and source.outlet_id is not None
    page = admin.get(f"/admin/sources/{sid}").get_data(as_text=True)
    assert 'value="Maria Zakharova"' in page and 'value="TASS"' in page
    taken = admin.post(f"/admin/sources/{add_feed(admin, server, 'other')}", data={"name": "TASS wire", "every": "1h"})
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    bad = admin.post(f"/admin/sources/{sid}", data={"url": "javascript:alert(1)", "every": "1h"})
    assert bad.status_code == 422 and "http(s) URL" in bad.get_data(as_text=True)


def test_deleting_a_source_asks_first_and_keeps_its_statements(admin: FlaskClient, server: FixtureServer,
                                                               db: Database) -> None:
    sid = add_feed(admin, server)
    admin.post(f"/admin/sources/{sid}/fetch")
    asked = admin.post(f"/admin/sources/{sid}/delete")
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    with db.reader() as s:
        assert s.get(Source, sid) is not None
    done = admin.post(f"/admin/sources/{sid}/delete", data={"confirm": "yes"}, follow_redirects=True)
    assert "Deleted the source \u201cwire\u201d" in done.get_data(as_text=True)
    with db.reader() as s:
        assert s.get(Source, sid) is None
        assert s.scalar(select(SourceFetch.id).where(SourceFetch.source_id == sid)) is None
        assert len(s.scalars(select(Statement.id)).all()) == 3
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "source.delete")) == "source.delete"


def test_the_api_edits_fetches_and_deletes_a_source(app: Flask, server: FixtureServer, db: Database,
                                                    cfg: Config) -> None:
    token = bearer(add_user(db, cfg, "ada", "admin"))
    client = app.test_client()
    server.routes["/wire"] = Validated(rss("wire", numbered_items("wire", 2), language="en").encode())
    sid = client.post("/api/sources", headers=token, json={"url": server.url("/wire"), "kind": "rss"}).json["id"]
    assert client.patch(f"/api/sources/{sid}", headers=token, json={"name": "Wire", "outlet": "TASS"}).status_code == 200
    fetched = client.post(f"/api/sources/{sid}/fetch", headers=token, json={})
    assert fetched.status_code == 200 and (fetched.json["status"], fetched.json["inserted"]) == ("ok", 2)
    log = client.get(f"/api/sources/{sid}/fetches", headers=token).json["items"]
    assert [(f["status"], f["inserted"]) for f in log] == [("ok", 2)]
    assert client.delete(f"/api/sources/{sid}", headers=token).json["name"] == "Wire"
    assert client.get(f"/api/sources/{sid}/fetches", headers=token).status_code == 404


def test_job_counts_read_as_words() -> None:
    run = {"ingest": {"sources": 3, "failed": 1, "not_modified": 0, "inserted": 1234, "updated": 1, "results": []},
           "embed": {"model": "usem3-multilingual", "embedded": 1233},
           "cluster": {"mode": "incremental", "assigned": 1, "seconds": 0.4, "pool_signature": "abc"}}
    assert counts_text(run) == [
        "ingest: 3 sources fetched, 1 failed, 0 unchanged feeds, 1,234 new statements, 1 statement updated",
        "embed: model usem3-multilingual, 1,233 statements embedded", "cluster: mode incremental, 1 placed"]


def test_the_jobs_page_shows_counts_as_words(admin: FlaskClient, server: FixtureServer) -> None:
    sid = add_feed(admin, server)
    admin.post(f"/admin/sources/{sid}/fetch")
    html = admin.get("/admin/jobs").get_data(as_text=True)
    assert "1 source fetched" in html and "3 new statements" in html
    assert "not_modified:" not in html and "inserted:" not in html


def test_researchers_merges_and_splits_are_in_the_activity_log(app: Flask, db: Database, cfg: Config,
                                                               admin: FlaskClient) -> None:
    data = seed(db, cfg)
    researcher = bearer(data.tokens["researcher"])
    client = app.test_client()
    split = client.post(f"/api/narratives/{data.narratives[0]}/split", headers=researcher,
                        json={"statement_ids": [data.statements[0]], "label": "Labs, first telling"})
    assert split.status_code == 201
    assert client.post(f"/api/narratives/{data.narratives[1]}/merge", headers=researcher,
                       json={"into": data.narratives[0]}).status_code == 200
    html = admin.get("/admin/activity").get_data(as_text=True)
    assert "merged a narrative" in html and "split a narrative" in html and "researcher" in html
    assert f"into #{data.narratives[0]}, 2 statements" in html
    assert f"into #{split.json['id']}, 1 statements" in html or f"into #{split.json['id']}" in html
    only = admin.get("/admin/activity?kind=source").get_data(as_text=True)
    assert "merged a narrative" not in only
