"""The narrative page over the sample corpus: waves to pick, first movers with earlier possible mentions,
flows that equal what they summarise, and numbers whose nouns agree."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.demo import build_demo, create, demo_config, demo_root, page, tags_of


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create(demo_config(build_demo(demo_root(tmp_path_factory))))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def documents(app: Flask) -> list[dict[str, Any]]:
    """Every narrative's timeline document, as the pages read it."""
    from tracker.queries import list_narratives, narrative_timeline

    state = app.extensions["tracker"]
    with state.db.reader() as session:
        docs = [narrative_timeline(session, n["id"], state.config) for n in list_narratives(session, limit=None)]
    return [d for d in docs if d is not None]


def biolabs(app: Flask) -> dict[str, Any]:
    return next(d for d in documents(app) if d["first_mover"] and d["first_mover"]["actor"] == "Dmitry Medvedev")


def followed(events: list[dict[str, Any]], src: str, dst: str, window: float) -> list[dict[str, Any]]:
    """The flow rule written out plainly: ``dst`` statements within the window after some ``src`` statement."""
    times = [(e, datetime.fromisoformat(e["published_at"])) for e in events if e["published_at"]]
    return [b for b, tb in times if b["country"] == dst and any(
        a["country"] == src and timedelta(0) < tb - ta <= timedelta(seconds=window) for a, ta in times)]


def test_flows_on_every_narrative_page_equal_the_counts_they_summarise(client: FlaskClient, app: Flask) -> None:
    checked = 0
    for doc in documents(app):
        nid = doc["narrative"]["id"]
        for wave in [None, *(w["wave"] for w in doc["waves"])]:
            html = page(client, f"/narratives/{nid}" + (f"?wave={wave}" if wave else ""))
            events = [e for e in doc["events"] if wave is None or e["wave"] == wave]
            countries: dict[str, int] = {}
            for e in events:
                if e["published_at"]:
                    countries[e["country"] or "unknown"] = countries.get(e["country"] or "unknown", 0) + 1
            shown = [a for t, a in tags_of(html).tags if t == "li" and a.get("data-from")]
            for f in shown:
                src, dst = f["data-from"] or "", f["data-to"] or ""
                truth = followed(events, src, dst, doc["window_seconds"])
                assert int(f["data-statements"] or -1) == len(truth) <= countries[dst], (nid, wave, src, dst)
                assert int(f["data-actors"] or -1) == len({e["actor"] for e in truth if e["actor"]})
                assert f"{len(truth)} of {countries[dst]} {dst} statement" in html
                checked += 1
    assert checked > 20


def test_no_page_says_one_statements(client: FlaskClient, app: Flask) -> None:
    for doc in documents(app):
        nid = doc["narrative"]["id"]
        for url in [f"/narratives/{nid}", *(f"/narratives/{nid}?wave={w['wave']}" for w in doc["waves"])]:
            text = re.sub(r"<[^>]+>", " ", page(client, url))
            assert not re.search(r"(?<![\d.,])1 (statements|actors|links|days|waves)\b", text), url


def test_the_page_offers_every_wave_and_all_of_them(client: FlaskClient, app: Flask) -> None:
    doc = biolabs(app)
    html = page(client, f"/narratives/{doc['narrative']['id']}")
    links = [a.get("href") for t, a in tags_of(html).tags if t == "a" and "wave=" in (a.get("href") or "")]
    assert {f"/narratives/{doc['narrative']['id']}?wave={n}" for n in (1, 2)} <= set(links)
    assert "Dmitry Medvedev (RU, 2020-10-12)" in html and "Igor Konashenkov (RU, 2022-03-06)" in html


def test_a_wave_page_measures_from_its_own_first_mover(client: FlaskClient, app: Flask) -> None:
    nid = biolabs(app)["narrative"]["id"]
    html = page(client, f"/narratives/{nid}?wave=2")
    assert "First mover of wave 2" in html and "Igor Konashenkov" in html
    assert "Earlier possible mentions" in html and "nobody followed it within 14 days" in html
    assert not re.search(r"\b5\d\d d\b", html)  # no "510 d 2 h": 2022 is not measured against 2020
    chart = client.get(f"/narratives/{nid}/chart.json?wave=2").get_json()
    assert {e["wave"] for e in chart["events"]} == {2}
    assert [e["actor"] for e in chart["events"] if e["first"]] == ["Igor Konashenkov"]
    assert client.get(f"/narratives/{nid}?wave=3").status_code == 404
    assert client.get(f"/narratives/{nid}/chart.json?wave=3").status_code == 404


def test_the_whole_narrative_graph_is_drawn_wave_by_wave(client: FlaskClient, app: Flask) -> None:
    nid = biolabs(app)["narrative"]["id"]
    chart = client.get(f"/narratives/{nid}/chart.json").get_json()
    assert {a["id"].split(":")[0] for a in chart["actors"]} == {"1", "2"}
    assert all(e["from"].split(":")[0] == e["to"].split(":")[0] for e in chart["edges"])
    assert len(chart["breaks"]) == 1 and chart["graph_edges"] < chart["edges_total"]


def test_the_follows_table_lists_the_strongest_links_with_their_lags(client: FlaskClient, app: Flask) -> None:
    doc = biolabs(app)
    html = page(client, f"/narratives/{doc['narrative']['id']}?wave=1")
    cells = [a for t, a in tags_of(html).tags if t == "td" and a.get("data-label") == "Statements" and a.get("data-value")]
    weights = [int(c["data-value"] or 0) for c in cells]
    assert weights and weights == sorted(weights, reverse=True)
    assert weights[0] == doc["waves"][0]["edges"][0]["weight"]
    assert "Who followed whom, after how long" in html


# ---------------------------------------------------------------- overview: growth, one status, one scale


def overview_rows(html: str) -> list[str]:
    return re.findall(r"<tr>\s*<td class=\"label\".*?</tr>", html, flags=re.S)


def test_overview_rows_have_one_status_and_a_growth_figure(client: FlaskClient) -> None:
    rows = overview_rows(page(client, "/"))
    assert rows
    for row in rows:
        statuses = re.findall(r'<span class="badge (new|surging|resurgent|dormant|active|emerging)"', row)
        assert len(statuses) == 1, row
        assert re.search(r'class="num growth"[^>]*>.*?(×\d+\.\d|new|—).*?·', row, flags=re.S), row


def test_overview_sorts_by_growth(client: FlaskClient, app: Flask) -> None:
    from tracker.queries import list_narratives, narrative_dates
    from tracker.service.narratives import activity

    state = app.extensions["tracker"]
    html = page(client, "/?sort=growth")
    shown = [int(i) for i in re.findall(r'<td class="label"[^>]*><a href="/narratives/(\d+)"', html)]
    with state.db.reader() as session:
        rows = list_narratives(session, limit=None)
        dates = narrative_dates(session, [r["id"] for r in rows])
        from tracker.service.narratives import data_span

        now = data_span(session)[1]
    keys = {r["id"]: activity(dates[r["id"]], now, state.config.timeline, r["status"])["growth"].sort_key()
            for r in rows}
    assert shown and [keys[i] for i in shown] == sorted(keys[i] for i in shown)
    assert "fastest growing" in html


def test_overview_sparklines_share_one_scale_and_follow_the_date_filter(client: FlaskClient) -> None:
    html = page(client, "/")
    tops = []
    for points in re.findall(r'<polyline points="([^"]+)"', html):
        ys = [float(p.split(",")[1]) for p in points.split()]
        tops.append(min(ys))  # SVG y grows downwards: the highest point has the smallest y
    assert min(tops) == 1.0 and sum(t > 1.0 for t in tops) >= len(tops) // 2  # one row reaches the top, most do not
    filtered = page(client, "/?since=2022-01-01&until=2022-06-30")
    assert "2022-01-01 – 2022-06-30" in filtered and "Trends run from 2022-01-01 to 2022-06-30" in filtered


def test_the_whole_narrative_page_lists_every_waves_earlier_mentions(client: FlaskClient, app: Flask) -> None:
    doc = biolabs(app)
    mentions = [m for w in doc["waves"] for m in w["earlier_mentions"]]
    html = page(client, f"/narratives/{doc['narrative']['id']}")
    assert mentions and "Earlier possible mentions" in html
    for m in mentions:
        assert f'href="/statements/{m["statement_id"]}"' in html
