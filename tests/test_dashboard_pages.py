"""Dashboard pages over the sample corpus as `make demo` builds it: overview, narrative, statements, actors.

The demo database (tests/demo.py) is built once per test process (about 20 s) and shared with ``test_crawl.py``.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.demo import build_demo, create, demo_config, demo_root, page, tags_of


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    cfg = demo_config(build_demo(demo_root(tmp_path_factory)))
    return create(cfg)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@functools.cache
def biolabs_id(app: Flask) -> int:
    """The narrative whose first mover is Medvedev (the bio-labs story of the sample corpus)."""
    from tracker.queries import list_narratives, narrative_timeline

    db = app.extensions["tracker"].db
    cfg = app.extensions["tracker"].config
    with db.reader() as session:
        for n in list_narratives(session, limit=100):
            doc = narrative_timeline(session, n["id"], cfg)
            if doc and doc["first_mover"] and doc["first_mover"]["actor"] == "Dmitry Medvedev":
                return int(n["id"])
    raise AssertionError("no bio-labs narrative in the demo data")


def actor_id(app: Flask, name: str) -> int:
    from sqlalchemy import select

    from tracker.models import Actor

    with app.extensions["tracker"].db.reader() as session:
        found = session.scalar(select(Actor.id).where(Actor.name == name))
    assert found is not None, name
    return int(found)


def chart_data(client: FlaskClient, html: str) -> dict[str, Any]:
    """The chart data the page's script fetches (named by #chart-data's data-src)."""
    holders = [a for _t, a in tags_of(html).tags if a.get("id") == "chart-data"]
    assert len(holders) == 1, "expected one chart data holder"
    response = client.get(holders[0]["data-src"] or "")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()  # type: ignore[no-any-return]


# ---------------------------------------------------------------- overview


def test_overview_links_every_listed_narrative_with_a_sparkline(client: FlaskClient, app: Flask) -> None:
    html = page(client, "/")
    links = set(re.findall(r'href="/narratives/(\d+)"', html))
    assert str(biolabs_id(app)) in links
    sparks = re.findall(r'<polyline points="([^"]+)"', html)
    assert len(sparks) == len(links)
    assert any(len(set(p.split(" "))) > 1 for p in sparks), "every sparkline is flat"


def test_overview_shows_burst_badges(client: FlaskClient) -> None:
    html = page(client, "/")
    assert re.search(r'class="badge (emerging|surging|resurgent|dormant)"', html)


def test_overview_country_filter_keeps_only_narratives_with_that_country(client: FlaskClient, app: Flask) -> None:
    from sqlalchemy import select

    from tracker.models import Assignment, Statement

    everything = set(re.findall(r'href="/narratives/(\d+)"', page(client, "/")))
    venezuela = set(re.findall(r'href="/narratives/(\d+)"', page(client, "/?country=VE")))
    assert venezuela and venezuela < everything
    with app.extensions["tracker"].db.reader() as session:
        with_ve = {str(n) for n in session.scalars(
            select(Assignment.narrative_id).join(Statement, Statement.id == Assignment.statement_id)
            .where(Statement.country == "VE", Assignment.state.in_(("assigned", "confirmed"))))}
    assert venezuela <= with_ve


def test_overview_date_range_outside_the_data_lists_nothing(client: FlaskClient) -> None:
    html = page(client, "/?since=1990-01-01&until=1990-12-31")
    assert "No narratives match." in html


def test_overview_pages_by_keyset_without_repeats(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.web.views import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    first = page(client, "/")
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url, "no next page link"
    second = page(client, next_url.group(1).replace("&amp;", "&"))
    ids1 = re.findall(r'href="/narratives/(\d+)"', first)
    ids2 = re.findall(r'href="/narratives/(\d+)"', second)
    assert len(ids1) == 4 and ids2 and not set(ids1) & set(ids2)


# ---------------------------------------------------------------- narrative page


def test_narrative_page_carries_chart_data_with_the_first_mover(client: FlaskClient, app: Flask) -> None:
    data = chart_data(client, page(client, f"/narratives/{biolabs_id(app)}"))
    first = [e for e in data["events"] if e["first"]]
    assert [e["actor"] for e in first] == ["Dmitry Medvedev", "Igor Konashenkov"]  # each wave's
    assert {"RU", "CN"} <= {e["country"] for e in data["events"]}
    assert data["edges"] and all(e["from"] != e["to"] for e in data["edges"])
    assert all(e["text"] for e in data["events"])


def test_chart_data_stays_out_of_the_page_and_is_served_gzipped_and_revalidated(
    client: FlaskClient, app: Flask
) -> None:
    html = page(client, f"/narratives/{biolabs_id(app)}")
    url = next(a for _t, a in tags_of(html).tags if a.get("id") == "chart-data")["data-src"] or ""
    plain = client.get(url)
    assert plain.get_json()["events"] and not tags_of(html).data_blocks  # fetched, not inlined in the page
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and len(zipped.get_data()) < len(plain.get_data())
    assert json.loads(gzip.decompress(zipped.get_data())) == plain.get_json()
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"another-version"'}).status_code == 200
    assert client.get("/narratives/999999/chart.json").status_code == 404


def test_narrative_page_lists_the_first_actors_and_points_to_the_export_for_the_rest(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker.web.views import pages

    monkeypatch.setattr(pages, "ACTORS_ON_PAGE", 3)
    nid = biolabs_id(app)
    html = page(client, f"/narratives/{nid}?page=1")  # a query string of its own: not a cached render
    table = html.split('id="h-actors"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 3
    assert re.search(r"The first 3 of (\d+) actors", table) and f"/narratives/{nid}/timeline.json" in table
    assert "Dmitry Medvedev" in table  # the first mover comes first


def test_narrative_page_loads_plotly_from_this_server(client: FlaskClient, app: Flask) -> None:
    html = page(client, f"/narratives/{biolabs_id(app)}")
    sources = [a.get("src") for t, a in tags_of(html).tags if t == "script" and a.get("src")]
    bundle = app.extensions["tracker"].assets.plotly.replace(".", r"\.").replace(r"\.js", "")
    assert any(re.fullmatch(rf"/assets/{bundle}\.[0-9a-f]{{10}}\.js", s or "") for s in sources), sources
    assert all(s and s.startswith("/") for s in sources), sources


def test_offline_plotly_route_serves_the_library(client: FlaskClient) -> None:
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200
    assert "javascript" in response.content_type
    body = response.get_data()
    assert len(body) > 1_000_000 and b"plotly" in body[:2000].lower()


def test_actors_table_gives_lags_in_human_units(client: FlaskClient, app: Flask) -> None:
    html = page(client, f"/narratives/{biolabs_id(app)}")
    row = re.search(r"Zhao Lijian</a></td>(.*?)</tr>", html, re.S)
    assert row, "Zhao Lijian missing from the actors table"
    assert re.search(r'<td data-label="Lag">\d+ d( \d+ h)? <span class="muted">· wave 1</span></td>', row.group(1))


def test_narrative_statements_are_paginated(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.web.views import pages

    monkeypatch.setattr(pages, "STATEMENTS_PER_PAGE", 10)
    nid = biolabs_id(app)
    one, two = page(client, f"/narratives/{nid}"), page(client, f"/narratives/{nid}?page=2")
    assert 'rel="next"' in one and 'rel="prev"' in two
    first_ids = set(re.findall(r'<td class="when" data-label="When"><a href="/statements/(\d+)"', one))
    second_ids = set(re.findall(r'<td class="when" data-label="When"><a href="/statements/(\d+)"', two))
    assert len(first_ids) == 10 and second_ids and not first_ids & second_ids


def test_timeline_csv_export_lists_every_event(client: FlaskClient, app: Flask) -> None:
    nid = biolabs_id(app)
    response = client.get(f"/narratives/{nid}/timeline.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    doc = json.loads(client.get(f"/narratives/{nid}/timeline.json").get_data(as_text=True))
    assert [int(r["statement_id"]) for r in rows] == [e["statement_id"] for e in doc["events"]]
    assert rows[0]["actor"] == "Dmitry Medvedev"
    assert {r["wave"] for r in rows} >= {"1", "2"} and rows[0]["level"]


def test_missing_narrative_is_404(client: FlaskClient) -> None:
    assert client.get("/narratives/999999").status_code == 404
    assert client.get("/narratives/999999/timeline.csv").status_code == 404


@pytest.mark.parametrize("url", ["/", "/statements", "/actors", "NARRATIVE", "STATEMENT", "ACTOR"])
def test_pages_have_no_inline_script_style_or_handlers(client: FlaskClient, app: Flask, url: str) -> None:
    url = {"NARRATIVE": f"/narratives/{biolabs_id(app)}", "STATEMENT": "/statements/1",
           "ACTOR": f"/actors/{actor_id(app, 'Zhao Lijian')}"}.get(url, url)
    html = page(client, url)
    for tag, attrs in tags_of(html).tags:
        assert "style" not in attrs, f"style attribute on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", "inline script"
    assert "<style" not in html


# ---------------------------------------------------------------- statements


def test_keyword_search_matches_text_and_respects_country(client: FlaskClient) -> None:
    html = page(client, "/statements?q=laborator&country=CN")
    texts = re.findall(r'<td class="text"[^>]*><a class="plain" href="/statements/\d+">(.*?)</a>', html, re.S)
    assert texts and all("laborator" in t.lower() for t in texts)
    countries = re.findall(r'<td data-label="Country">([A-Z]{2}|—)</td>', html)
    assert countries and set(countries) == {"CN"}


def test_statement_page_shows_its_narrative_score_and_similar_statements(client: FlaskClient, app: Flask) -> None:
    nid = biolabs_id(app)
    medvedev = chart_data(client, page(client, f"/narratives/{nid}"))["events"][0]["id"]
    html = page(client, f"/statements/{medvedev}")
    assert f'href="/narratives/{nid}"' in html
    assert re.search(r'<td class="num" data-label="Score">0\.\d{3}</td>', html), "no score shown"
    similar = html.split("Similar statements", 1)[1]
    similar_ids = re.findall(r'<td class="when" data-label="When"><a href="/statements/(\d+)"', similar)
    assert len(similar_ids) == 10 and str(medvedev) not in similar_ids
    assert similar.count(f'href="/narratives/{nid}"') >= 5, "similar statements mostly from other narratives"


class CountingEmbedder:
    """Stands in for the model: returns one statement's stored vector, counts calls."""

    def __init__(self, name: str, vector: np.ndarray) -> None:
        self.name, self.dim = name, vector.shape[0]
        self.vector, self.calls = vector, 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.vstack([self.vector for _ in texts])


def test_semantic_search_uses_the_embedder_and_other_pages_never_load_it(app: Flask) -> None:
    from tracker.narratives.vectors import load_vectors
    from tracker.web import create_app

    st = app.extensions["tracker"]
    with st.db.reader() as session:
        ids, vectors = load_vectors(session, st.config.embedding.model)
    fake = CountingEmbedder(st.config.embedding.model, vectors[5])
    client = create_app(st.config, db=st.db, embedder=fake).test_client()
    for url in ("/", "/statements", "/statements/1", "/actors", f"/narratives/{biolabs_id(app)}"):
        page(client, url)
    assert fake.calls == 0, "a page other than semantic search used the model"
    html = page(client, "/statements?mode=semantic&q=anything")
    hits = re.findall(r'<td class="when" data-label="When"><a href="/statements/(\d+)"', html)
    assert fake.calls == 1 and hits and hits[0] == str(int(ids[5]))


# ---------------------------------------------------------------- actors


def test_actor_page_shows_aliases_narratives_and_activity(client: FlaskClient, app: Flask) -> None:
    html = page(client, f"/actors/{actor_id(app, 'Zhao Lijian')}")
    assert "赵立坚" in html
    assert f'href="/narratives/{biolabs_id(app)}"' in html
    assert html.count("<rect ") >= 1


def test_actor_list_filters_by_kind(client: FlaskClient) -> None:
    html = page(client, "/actors?kind=state_media")
    kinds = re.findall(r'<td data-label="Kind">([a-z ]+)</td>', html)
    assert kinds and set(kinds) == {"state media"}


def _login(app: Flask, client: FlaskClient, role: str) -> None:
    from tracker import accounts

    st = app.extensions["tracker"]
    with st.db.transaction() as session:
        user = accounts.get_user(session, f"dash-{role}") or accounts.create_user(
            session, f"dash-{role}", role, "a long enough password", st.config.auth)
        sid = accounts.start_session(session, user, st.config.auth)
    with client.session_transaction() as s:
        s["sid"] = sid


def _aliases(app: Flask, aid: int) -> set[str]:
    from tracker.models import Actor

    with app.extensions["tracker"].db.reader() as session:
        return {a.alias for a in session.get(Actor, aid).aliases}


def test_alias_form_is_for_researchers_only(app: Flask) -> None:
    aid = actor_id(app, "Global Times")
    for who in (None, "viewer"):
        client = app.test_client()
        if who:
            _login(app, client, who)
        assert 'name="alias"' not in page(client, f"/actors/{aid}")
        assert client.post(f"/actors/{aid}/aliases", data={"alias": "GT anonymous"}).status_code in (400, 401, 403)
    assert "GT anonymous" not in _aliases(app, aid)


def test_researcher_adds_an_alias_with_the_csrf_token(app: Flask) -> None:
    aid = actor_id(app, "Global Times")
    client = app.test_client()
    _login(app, client, "researcher")
    assert client.post(f"/actors/{aid}/aliases", data={"alias": "no token"}).status_code == 400
    html = page(client, f"/actors/{aid}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "alias form without a CSRF token"
    response = client.post(f"/actors/{aid}/aliases", data={"alias": "环球时报 GT", "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert "环球时报 GT" in _aliases(app, aid) and "no token" not in _aliases(app, aid)
    assert "环球时报 GT" in page(client, f"/actors/{aid}")


# ---------------------------------------------------------------- the researcher's week (issue 16)


def test_every_actor_search_and_filter_knows_the_other_spellings(client: FlaskClient, app: Flask) -> None:
    """赵立坚 is a spelling of Zhao Lijian (tracker/sample/aliases.toml): it finds him everywhere."""
    assert "Zhao Lijian" in page(client, "/actors?q=赵立坚")
    html = page(client, "/statements?actor=赵立坚")
    whos = re.findall(r'data-label="Who">\s*<a href="/actors/(\d+)"', html)
    assert whos and set(whos) == {str(actor_id(app, "Zhao Lijian"))}
    assert "No narratives match" not in page(client, "/?actor=赵立坚")
    assert "No statements match" not in page(client, "/statements?actor=赵立&mode=semantic&q=laboratories")


def test_the_public_statement_page_names_no_server_path(client: FlaskClient) -> None:
    from tracker.sample import corpus_path

    html = page(client, "/statements/1")
    assert "corpus.jsonl, line" in html
    assert str(corpus_path().parent) not in html and "/corpus.jsonl" not in html
    detail = client.get("/api/statements/1").json
    assert detail["origin"].startswith("corpus.jsonl, line")


def _a_copy(app: Flask) -> tuple[int, int, int, str]:
    """(narrative, copy, original, who published the original) of the first syndicated copy in the demo."""
    from tracker.queries import list_narratives, narrative_timeline

    tracker = app.extensions["tracker"]
    with tracker.db.reader() as session:
        for n in list_narratives(session, limit=100):
            doc = narrative_timeline(session, n["id"], tracker.config)
            events = {e["statement_id"]: e for e in doc["events"]} if doc else {}
            for e in events.values():
                if e["syndicated_from"] is not None:
                    original = events[e["syndicated_from"]]
                    return n["id"], e["statement_id"], original["statement_id"], original["actor"] or original["outlet"]
    raise AssertionError("the demo has no syndicated copy")


def test_syndicated_copies_are_marked_on_the_statement_and_in_tables(client: FlaskClient, app: Flask) -> None:
    nid, copy, original, who = _a_copy(app)
    mark = f'copy of <a href="/statements/{original}">#{original}</a>, {who}'
    assert mark in page(client, f"/statements/{copy}")
    narrative_html = "".join(page(client, f"/narratives/{nid}?page={p}") for p in (1, 2, 3, 4))
    assert mark in narrative_html
    from urllib.parse import quote

    words = client.get(f"/api/statements/{copy}").json["text"][:40]
    assert mark in page(client, f"/statements?narrative_id={nid}&q={quote(words)}")
    assert "copy of" not in page(client, f"/statements/{original}").split("<h2>Narratives</h2>")[0]


def test_timeline_csv_has_each_statements_url_and_title(client: FlaskClient, app: Flask) -> None:
    from tracker.models import Statement

    nid = biolabs_id(app)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/narratives/{nid}/timeline.csv").get_data(as_text=True))))
    assert {"url", "title"} <= set(rows[0])
    with app.extensions["tracker"].db.reader() as session:
        stored = {s.id: (s.url or "", s.title or "") for s in session.query(Statement)}
    assert all((r["url"], r["title"]) == stored[int(r["statement_id"])] for r in rows)
    assert any(r["url"].startswith("https://") for r in rows)


def test_statement_text_carries_its_language(client: FlaskClient, app: Flask) -> None:
    from sqlalchemy import select

    from tracker.models import Statement

    with app.extensions["tracker"].db.reader() as session:
        ru = session.scalar(select(Statement.id).where(Statement.language == "ru").limit(1))
    assert re.search(r'<blockquote class="statement" lang="ru">', page(client, f"/statements/{ru}"))
    html = page(client, "/statements?language=zh")
    cells = re.findall(r'<td class="text" data-label="Statement"( lang="(\w+)")?>', html)
    assert cells and {lang for _, lang in cells} == {"zh"}


@pytest.mark.parametrize("url", ["/", "/statements", "/actors", "NARRATIVE", "STATEMENT", "ACTOR"])
def test_every_table_cell_names_its_column_for_small_screens(client: FlaskClient, app: Flask, url: str) -> None:
    url = {"NARRATIVE": f"/narratives/{biolabs_id(app)}", "STATEMENT": "/statements/1",
           "ACTOR": f"/actors/{actor_id(app, 'Zhao Lijian')}"}.get(url, url)
    html = page(client, url)
    bodies = re.findall(r'<table class="list[^"]*">.*?<tbody>(.*?)</tbody>', html, re.S)
    cells = [attrs for body in bodies for attrs in re.findall(r"<td([^>]*)>", body) if "colspan" not in attrs]
    assert cells and all("data-label=" in attrs for attrs in cells), url
