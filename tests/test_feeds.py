"""RSS/Atom -> drafts, hostile XML, character sets, and a fuzz of parse_feed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.httpfixture import FIXTURES, FixtureServer
from tracker.db import Database
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.feeds import html_to_text, needs_full_text, parse_feed
from tracker.ingest.fetch import FetchPolicy, HostThrottle, fetch

RSS = (FIXTURES / "rss_state_media.xml").read_bytes()
ATOM = (FIXTURES / "atom_ministry.xml").read_bytes()
SRC = "https://courier.example.org/rss/world.xml"


def drafts(items: list[StatementDraft | RowError]) -> list[StatementDraft]:
    assert all(isinstance(i, StatementDraft) for i in items), items
    return items  # type: ignore[return-value]


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as srv:
        yield srv


def loopback_policy() -> FetchPolicy:
    return FetchPolicy(total_timeout=3, allow_hosts=frozenset({"127.0.0.1"}), min_host_delay=0,
                       throttle=HostThrottle())


# ---------------------------------------------------------------- good feeds


def test_rss_items_become_drafts_with_ids_titles_and_urls() -> None:
    items = drafts(parse_feed(RSS, SRC))
    assert [d.external_id for d in items] == [
        "courier-1234", "courier-1230", "https://courier.example.org/world/20210301/pipeline-political-1225.html"]
    assert items[0].title == 'Ministry says sanctions & export bans "hurt Europe more than anyone"'
    assert items[1].url == "https://courier.example.org/world/20210302/embassy-laboratories-1230.html"
    assert all(d.origin.startswith(SRC) for d in items)


def test_rss_dates_are_converted_to_utc() -> None:
    items = drafts(parse_feed(RSS, SRC))
    assert items[0].published_at == datetime(2021, 3, 3, 8, 15, tzinfo=UTC)  # 11:15 +0300
    assert items[2].published_at == datetime(2021, 3, 1, 9, 0, tzinfo=UTC)


def test_full_content_is_preferred_and_stripped_of_html() -> None:
    text = drafts(parse_feed(RSS, SRC))[0].text
    assert "backfire on European households" in text
    assert "double standards & of ignoring" in text
    assert "<" not in text and "alert(" not in text
    assert text.count("\n\n") == 2  # three paragraphs kept apart


def test_outlet_comes_from_feed_title_unless_given() -> None:
    assert drafts(parse_feed(RSS, SRC))[0].outlet == "Northern Courier - World"
    given_items = drafts(parse_feed(RSS, SRC, outlet="Northern Courier", actor="Ministry", country="XX"))
    assert {(d.outlet, d.actor, d.country) for d in given_items} == {("Northern Courier", "Ministry", "XX")}


def test_feed_language_is_reduced_to_iso_639_1() -> None:
    assert {d.language for d in drafts(parse_feed(RSS, SRC))} == {"en"}


def test_atom_entries_parse_with_html_and_xhtml_content() -> None:
    items = drafts(parse_feed(ATOM, "https://mfa.example.org/news/atom.xml"))
    assert items[0].external_id == "tag:mfa.example.org,2021:news/4471"
    assert items[0].text == ("The so-called report is full of lies and prejudice.\n\n"
                             "Its authors should look at the problems in their own country first.")
    assert items[0].published_at == datetime(2021, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 +08:00
    assert items[1].text.startswith("Our vaccines are a global public good")
    assert items[1].published_at == datetime(2021, 3, 2, 16, 45, tzinfo=UTC)  # only <updated>
    assert items[0].extra["author"] == "Press Department"


def test_needs_full_text_for_summaries_and_teasers_only() -> None:
    items = drafts(parse_feed(RSS, SRC))
    assert [needs_full_text(d) for d in items] == [False, True, True]  # content / teaser "…" / summary


def test_needs_full_text_accepts_raw_feedparser_entries() -> None:
    entries = feedparser.parse(RSS).entries
    assert [needs_full_text(e) for e in entries] == [False, True, True]


def test_needs_full_text_is_false_without_a_link() -> None:
    assert not needs_full_text(StatementDraft(text="short", url=None))


def test_entry_without_text_or_title_is_a_row_error() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
      <item><link>https://a.example/1</link></item>
      <item><title>Kept</title><description>Body text</description></item></channel></rss>"""
    items = parse_feed(body, SRC)
    assert isinstance(items[0], RowError) and items[0].line == 1 and items[0].field == "text"
    assert isinstance(items[1], StatementDraft) and items[1].text == "Body text"


def test_html_page_is_not_a_feed() -> None:
    items = parse_feed(b"<html><body><p>Hello</p></body></html>", SRC)
    assert len(items) == 1 and isinstance(items[0], RowError)


def test_empty_feed_gives_no_items() -> None:
    assert parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>',
                      SRC) == []


def test_html_to_text_drops_scripts_and_decodes_entities() -> None:
    assert html_to_text("<p>A &amp; B</p><script>x()</script><style>p{}</style><p>C<br>D</p>") == "A & B\n\nC\nD"


# ---------------------------------------------------------------- hostile XML


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><description>&lol9;</description>
</item></channel></rss>"""


def quadratic_blowup() -> bytes:
    big = "A" * 100_000
    refs = "&a;" * 50_000
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]><rss version="2.0"><channel>'
            f"<title>q</title><item><title>t</title><description>{refs}</description></item></channel></rss>").encode()


def file_entity(path: Path) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}">]>'
            '<rss version="2.0"><channel><title>x</title><item><title>leak</title>'
            "<description>&xxe;</description></item></channel></rss>").encode()


def assert_refused_quickly(body: bytes, secret: str | None = None) -> list[StatementDraft | RowError]:
    start = time.monotonic()
    items = parse_feed(body, SRC)
    assert time.monotonic() - start < 1.0
    assert not any(isinstance(i, StatementDraft) and len(i.text) > 1_000_000 for i in items)
    if secret is not None:
        assert not any(secret in str(i) for i in items)
    return items


def test_billion_laughs_is_refused_within_a_second() -> None:
    items = assert_refused_quickly(BILLION_LAUGHS)
    assert len(items) == 1 and isinstance(items[0], RowError) and "entities" in items[0].reason


def test_quadratic_blowup_is_refused_within_a_second() -> None:
    items = assert_refused_quickly(quadratic_blowup())
    assert isinstance(items[0], RowError)


def test_file_entity_does_not_leak_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN-1234")
    items = assert_refused_quickly(file_entity(secret), secret="TOP-SECRET-TOKEN-1234")
    assert isinstance(items[0], RowError)


def test_external_dtd_is_never_fetched(server: FixtureServer) -> None:
    server.serve_bytes("/evil.dtd", b'<!ENTITY steal "stolen-by-dtd">', "application/xml-dtd")
    body = (f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}">'
            '<rss version="2.0"><channel><title>x</title><item><title>ok</title>'
            "<description>plain text &steal;</description></item></channel></rss>").encode()
    items = assert_refused_quickly(body, secret="stolen-by-dtd")
    assert server.hits("/evil.dtd") == 0
    assert any(isinstance(i, StatementDraft) and i.title == "ok" for i in items)


def test_external_parameter_entity_is_refused(server: FixtureServer) -> None:
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % remote SYSTEM "{server.url("/evil.dtd")}"> %remote;]>'
            '<rss version="2.0"><channel><title>x</title></channel></rss>').encode()
    items = assert_refused_quickly(body)
    assert isinstance(items[0], RowError)
    assert server.hits("/evil.dtd") == 0


def test_body_that_looks_like_a_file_name_is_not_opened() -> None:
    items = assert_refused_quickly(b"/etc/passwd", secret="root:")
    assert all(isinstance(i, RowError) for i in items)


def test_billion_laughs_served_over_http_fails_only_that_feed(server: FixtureServer) -> None:
    server.serve_bytes("/bomb.xml", BILLION_LAUGHS, "application/rss+xml")
    server.serve_file("/good.xml", "rss_state_media.xml", "application/rss+xml")
    results = {}
    for path in ("/bomb.xml", "/good.xml"):
        body = fetch(server.url(path), loopback_policy()).body
        results[path] = parse_feed(body, server.url(path))
    assert isinstance(results["/bomb.xml"][0], RowError)
    assert len(drafts(results["/good.xml"])) == 3


# ---------------------------------------------------------------- character sets


RU_TITLE = "Заявление МИД о санкциях"
RU_TEXT = "Министерство считает новые ограничения незаконными и контрпродуктивными."


def ru_feed(declared: str | None) -> str:
    decl = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    return (f'{decl}<rss version="2.0"><channel><title>Вестник</title><item><title>{RU_TITLE}</title>'
            f"<description>{RU_TEXT}</description><guid>ru-1</guid></item></channel></rss>")


def test_feed_mislabelled_as_latin1_but_really_utf8_decodes(server: FixtureServer) -> None:
    server.serve_bytes("/mislabelled.xml", ru_feed("ISO-8859-1").encode("utf-8"),
                       "application/rss+xml; charset=ISO-8859-1")
    result = fetch(server.url("/mislabelled.xml"), loopback_policy())
    item = drafts(parse_feed(result.body, result.url, content_type=result.content_type))[0]
    assert (item.title, item.text, item.outlet) == (RU_TITLE, RU_TEXT, "Вестник")


def test_windows_1251_feed_with_its_declaration_decodes() -> None:
    item = drafts(parse_feed(ru_feed("windows-1251").encode("cp1251"), SRC))[0]
    assert (item.title, item.text) == (RU_TITLE, RU_TEXT)


def test_windows_1251_feed_without_any_label_decodes() -> None:
    item = drafts(parse_feed(ru_feed(None).encode("cp1251"), SRC))[0]
    assert item.text == RU_TEXT


def test_utf16_feed_with_bom_decodes() -> None:
    item = drafts(parse_feed(ru_feed("utf-16").encode("utf-16"), SRC))[0]
    assert item.title == RU_TITLE


# ---------------------------------------------------------------- fuzzing


def _only_expected(items: object) -> None:
    assert isinstance(items, list)
    assert all(isinstance(i, StatementDraft | RowError) for i in items)


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_fuzz_random_bytes_give_only_drafts_or_row_errors(body: bytes) -> None:
    _only_expected(parse_feed(body, SRC))


_XMLISH = st.sampled_from(["<rss version=\"2.0\">", "<channel>", "<item>", "</item>", "<title>", "</title>",
                           "<description>", "</description>", "<![CDATA[", "]]>", "&amp;", "&lt;p&gt;", "&#0;",
                           "<!DOCTYPE rss>", "<!ENTITY x 'y'>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
                           "<entry>", "<pubDate>", "</pubDate>", "Mon, 99 Foo 2021", "<guid>", "</guid>",
                           "\x00", "\ufeff", "é", "Ж", "<?xml version='1.0' encoding='koi8-r'?>", "<script>"])


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_XMLISH | st.text(max_size=20), max_size=60))
def test_fuzz_feed_shaped_text_gives_only_drafts_or_row_errors(parts: list[str]) -> None:
    body = "".join(parts)
    _only_expected(parse_feed(body.encode("utf-8", "surrogatepass"), SRC))
    _only_expected(parse_feed(body, SRC))


LINKS_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><guid>1</guid><title>Good</title><link>https://example.org/good</link><description>A statement with a real link here.</description></item>
<item><guid>2</guid><title>Script</title><link>javascript:alert(document.cookie)</link><description>A statement whose link runs a script.</description></item>
<item><guid>3</guid><title>Data</title><link>data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==</link><description>A statement whose link is a data URL.</description></item>
<item><guid>4</guid><title>Vb</title><link>vbscript:msgbox(1)</link><description>A statement with a vbscript link in it.</description></item>
</channel></rss>"""


def test_feed_links_must_be_http_urls_as_in_files(db: Database) -> None:
    """Stored links are only http(s), whatever the parser: an entry with a javascript:, data: or vbscript:
    link is refused with a row error naming the entry and the url field, as a file row would be."""
    from sqlalchemy import select

    from tracker.ingest.store import store_drafts
    from tracker.models import Statement

    with db.transaction() as tx:
        stats = store_drafts(tx, parse_feed(LINKS_FEED, SRC))
    with db.reader() as s:
        assert list(s.scalars(select(Statement.url))) == ["https://example.org/good"]
    assert stats.inserted == 1 and [(e.field, e.path) for e in stats.errors] == [("url", f"{SRC}#entry{n}")
                                                                               for n in (2, 3, 4)]
    assert all("not an http(s) URL" in e.reason for e in stats.errors)
