"""Stored XSS: hostile text ingested as a statement, an actor name and a narrative label comes back
as plain data in JSON (names without their markup, which ingestion strips) and only escaped in every
HTML page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from tests.webdata import bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import clean_name, clean_text, store_drafts
from tracker.models import Actor, Assignment, Narrative, Statement

PAYLOADS = [
    "<script>alert('x1')</script>",
    '"><img src=x onerror=alert(2)>',
    "<svg/onload=alert(3)>",
    "javascript:alert(4)//<a href=javascript:alert(4)>x</a>",
    "</textarea><script>alert(5)</script>",
    "'';!--\"<XSS6>=&{()}",
    '<iframe srcdoc="<script>alert(7)</script>">',
    "<body onload=alert(8)>",
    "{{ 7*7 }}<scr<script>ipt>alert(9)</script>",
    "<a href=\"jav&#x09;ascript:alert(10)\">x</a>",
    "<details open ontoggle=alert(11)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(12)>",
]
DANGER = re.compile(r"<script>alert|<img src=x onerror|<svg/onload|<body onload|<details open ontoggle"
                    r"|<iframe srcdoc|<XSS6>|<a href=javascript", re.IGNORECASE)


@pytest.fixture
def hostile(db: Database, config: Config) -> dict[str, int]:
    data = seed(db, config)
    drafts = [StatementDraft(text=f"{p} statement {i}", actor=f"{p} actor {i}", outlet=f"{p} outlet {i}",
                             country="RU", published_at=datetime(2022, 6, 1, tzinfo=UTC), origin=f"xss:{i}")
              for i, p in enumerate(PAYLOADS)]
    with db.transaction() as tx:
        store_drafts(tx, drafts)
        nar = Narrative(label=PAYLOADS[0] + " label", description=PAYLOADS[1], status="active",
                        keywords=[PAYLOADS[2]])
        tx.add(nar)
        tx.flush()
        ids = list(tx.scalars(select(Statement.id).where(Statement.origin.like("xss:%")).order_by(Statement.id)))
        for sid in ids:
            tx.add(Assignment(statement_id=sid, narrative_id=nar.id, state="assigned", method="auto", score=0.9))
        nar.size, nar.representative_ids = len(ids), ids[:3]
        actor_id = tx.scalar(select(Actor.id).where(Actor.name.like("%actor 0")))
    return {"narrative": nar.id, "statement": ids[0], "actor": actor_id,
            "token": data.tokens["viewer"]}  # type: ignore[dict-item]


def test_payloads_come_back_as_exact_data_in_json(config: Config, db: Database, hostile: dict) -> None:
    app = make_app(config, db)
    client, headers = app.test_client(), bearer(hostile["token"])
    nar = client.get(f"/api/narratives/{hostile['narrative']}", headers=headers).json
    assert nar["label"] == PAYLOADS[0] + " label" and nar["description"] == PAYLOADS[1]
    st = client.get(f"/api/statements/{hostile['statement']}", headers=headers)
    assert st.json["text"] == clean_text(f"{PAYLOADS[0]} statement 0")
    assert st.json["actor"] == clean_name(f"{PAYLOADS[0]} actor 0") == "alert('x1') actor 0"  # names lose markup
    assert st.headers["Content-Type"] == "application/json"
    actor = client.get(f"/api/actors/{hostile['actor']}", headers=headers).json
    assert actor["name"] == clean_name(f"{PAYLOADS[0]} actor 0")


def html_pages(app: Flask, ids: dict) -> list[str]:
    """Every GET page route that is not the API, a static file or a download, with seeded ids filled in."""
    urls = []
    values = {"narrative_id": ids["narrative"], "statement_id": ids["statement"], "actor_id": ids["actor"],
              "source_id": 1}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/", "/assets/")):  # type: ignore[operator]
            continue
        if rule.rule.endswith((".csv", ".json", ".js", ".ico")):
            continue
        urls.append(re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule))
    return sorted(urls)


def test_payloads_are_escaped_in_every_page(config: Config, db: Database, hostile: dict) -> None:
    app = make_app(config, db, public_read=True)
    client = app.test_client()
    pages = html_pages(app, hostile)
    assert "/" in pages and f"/narratives/{hostile['narrative']}" in pages
    searches = ["/?q=script", "/statements?q=alert", f"/statements?actor={hostile['actor']}"]
    shown = 0
    for url in pages + searches:
        r = client.get(url)
        if url.startswith(("/tag", "/manage", "/admin")):  # researchers' and admins' pages: login first
            assert r.status_code == 302, url
            continue
        assert r.status_code == 200, url
        assert r.mimetype == "text/html", url
        html = r.get_data(as_text=True)
        assert not DANGER.search(html), f"{url} shows a payload unescaped: {DANGER.search(html)}"
        assert "&lt;script&gt;" in html or "&lt;" not in html  # escaped when shown at all
        shown += "&lt;script&gt;alert" in html
    assert shown >= 2  # the label and the statements really were on the pages
