"""Actor and outlet names are plain text: markup that comes in with them (an API call, a file row, a
feed's channel title, an alias) is stripped before they are stored, so no page or chart can render it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.webdata import bearer, make_app, seed
from tracker.actors import add_alias
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.feeds import parse_feed
from tracker.ingest.store import clean_name, store_drafts
from tracker.models import Actor, Statement

LINK = '<a href="//ev.il">X</a>'

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel>
<title>&lt;a href="//ev.il"&gt;Evil &lt;b&gt;Wire&lt;/b&gt;&lt;/a&gt;</title><link>https://example.org/</link>
<item><title>One</title><link>https://example.org/1</link><description>Sanctions hurt Europe more than Russia, said the wire.</description></item>
</channel></rss>"""


@pytest.mark.parametrize(("given", "stored"), [
    (LINK, "X"), ("<b>TASS</b>", "TASS"), ("<i>RT</i> <br>News", "RT News"), ("<<b>b>Bold", "Bold"),
    ("AT&T <Comms", "AT&T <Comms"), ("Zhao Lijian", "Zhao Lijian"), ("<b></b>", ""),
])
def test_clean_name_strips_tags_and_keeps_text(given: str, stored: str) -> None:
    assert clean_name(given) == stored


def test_stored_actor_and_outlet_names_carry_no_markup(db: Database) -> None:
    with db.transaction() as tx:
        store_drafts(tx, [StatementDraft(text="Biolabs on the border make weapons.", actor=LINK, outlet="<b>TASS</b>",
                                         origin="t:1"),
                          StatementDraft(text="Only markup for a speaker.", actor="<i></i>", origin="t:2")])
    with db.reader() as s:
        assert sorted(s.scalars(select(Actor.name))) == ["TASS", "X"]
        speakers = {origin: sid for origin, sid in s.execute(select(Statement.origin, Statement.speaker_id))}
    assert speakers["t:2"] is None  # a name that was only markup names nobody


def test_a_feed_title_with_escaped_markup_becomes_a_plain_outlet(db: Database) -> None:
    items = parse_feed(FEED, "https://example.org/feed")
    with db.transaction() as tx:
        store_drafts(tx, items)
    with db.reader() as s:
        assert list(s.scalars(select(Actor.name))) == ["Evil Wire"]


def test_an_alias_with_markup_is_stored_plain(db: Database) -> None:
    with db.transaction() as tx:
        store_drafts(tx, [StatementDraft(text="Some text here.", actor="Zhao Lijian", origin="t:1")])
        actor_id = tx.scalar(select(Actor.id))
        assert actor_id is not None
        actor = add_alias(tx, actor_id, "<b>赵立坚</b>")
        assert sorted(a.alias for a in actor.aliases) == ["Zhao Lijian", "赵立坚"]


def test_the_api_stores_a_plain_name(db: Database, config: Config) -> None:
    data = seed(db, config)
    client = make_app(config, db).test_client()
    r = client.post("/api/statements", headers=bearer(data.tokens["researcher"]),
                    json={"text": "A claim typed in by hand.", "actor": LINK, "outlet": "<i>RT</i>",
                          "published_at": datetime(2022, 5, 1, tzinfo=UTC).isoformat()})
    assert r.status_code == 201, r.json
    assert (r.json["actor"], r.json["outlet"]) == ("X", "RT")
