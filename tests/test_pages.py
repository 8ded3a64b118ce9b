"""Article pages -> one draft (trafilatura), and character-set detection for pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.httpfixture import FIXTURES, FixtureServer
from tracker.ingest.charset import decode_body, detect_encoding
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.fetch import FetchPolicy, HostThrottle, fetch
from tracker.ingest.pages import parse_page, parse_timestamp

ARTICLE = (FIXTURES / "article.html").read_bytes()
URL = "https://courier.example.org/world/20210302/analysts-campaign.html"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as srv:
        yield srv


def loopback_policy() -> FetchPolicy:
    return FetchPolicy(total_timeout=3, allow_hosts=frozenset({"127.0.0.1"}), min_host_delay=0,
                       throttle=HostThrottle())


def page(body: bytes | str, url: str = URL, **kwargs: object) -> StatementDraft:
    draft = parse_page(body, url, **kwargs)  # type: ignore[arg-type]
    assert isinstance(draft, StatementDraft), draft
    return draft


def test_article_text_is_extracted_without_boilerplate() -> None:
    text = page(ARTICLE).text
    assert "follows a single pattern" in text
    assert "had not been answered by the time of publication" in text
    for chrome in ("Most read", "Weather turns cold", "All rights reserved", "tracking"):
        assert chrome not in text


def test_article_metadata_title_outlet_author() -> None:
    draft = page(ARTICLE)
    assert draft.title == 'Analysts see "coordinated campaign" behind vaccine criticism'
    assert draft.outlet == "Northern Courier"
    assert draft.extra["author"] == "Irina Volkova"
    assert draft.url == URL and draft.external_id == URL
    assert draft.language == "en"


def test_precise_publication_time_is_taken_from_the_page_in_utc() -> None:
    assert page(ARTICLE).published_at == datetime(2021, 3, 2, 11, 20, tzinfo=UTC)  # 14:20 +03:00


def test_day_only_date_falls_back_to_midnight_utc() -> None:
    html = ARTICLE.replace(b'<meta property="article:published_time" content="2021-03-02T14:20:00+03:00">', b"")
    assert page(html).published_at == datetime(2021, 3, 2, tzinfo=UTC)


def test_given_outlet_actor_and_country_win() -> None:
    draft = page(ARTICLE, outlet="NC", actor="Health Ministry", country="XX", actor_kind="state_media")
    assert (draft.outlet, draft.actor, draft.country, draft.actor_kind) == ("NC", "Health Ministry", "XX",
                                                                            "state_media")


def test_page_without_article_text_is_a_row_error() -> None:
    result = parse_page(b"<html><body><nav><a href='/'>Home</a></nav></body></html>", URL)
    assert isinstance(result, RowError) and result.field == "text" and result.path == URL


def test_empty_page_is_a_row_error() -> None:
    assert isinstance(parse_page(b"", URL), RowError)


def test_scripts_in_article_never_reach_the_text() -> None:
    html = ARTICLE.replace(b"<p>According", b"<p><script>alert('xss')</script><img src=x onerror=alert(1)>According")
    text = page(html).text
    assert "alert" not in text and "<script" not in text and "onerror" not in text


@pytest.mark.parametrize("value, expected", [
    ("2021-03-02T14:20:00+03:00", datetime(2021, 3, 2, 11, 20, tzinfo=UTC)),
    ("2021-03-02T14:20:00Z", datetime(2021, 3, 2, 14, 20, tzinfo=UTC)),
    ("2021-03-02", None), ("2021-03-02T14:20:00", None), ("yesterday", None)])
def test_parse_timestamp_needs_time_and_zone(value: str, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


# ---------------------------------------------------------------- character sets


RU_ARTICLE = """<html><head><title>Брифинг о ситуации на границе</title></head><body><article>
<h1>Брифинг о ситуации на границе</h1>
<p>Официальный представитель министерства заявила, что обвинения западных стран не подкреплены никакими фактами
и являются частью информационной кампании против нашей страны.</p>
<p>По её словам, доклад, на который ссылаются журналисты, был подготовлен организацией, финансируемой
иностранными правительствами, и не может считаться независимым источником.</p>
<p>Министерство призывает международные организации проверить информацию, прежде чем распространять её.</p>
</article></body></html>"""


def test_windows_1251_page_without_charset_decodes(server: FixtureServer) -> None:
    server.serve_bytes("/ru.html", RU_ARTICLE.encode("cp1251"), "text/html")
    result = fetch(server.url("/ru.html"), loopback_policy())
    assert result.text() == RU_ARTICLE
    draft = page(result.body, result.url, content_type=result.content_type)
    assert "информационной кампании" in draft.text
    assert draft.title == "Брифинг о ситуации на границе"


def test_meta_charset_is_honoured() -> None:
    html = RU_ARTICLE.replace("<head>", '<head><meta charset="windows-1251">').encode("cp1251")
    assert detect_encoding(html) == "cp1251"


def test_bom_beats_a_wrong_http_charset() -> None:
    body = "\ufeffПривет".encode("utf-8")
    assert decode_body(body, "text/html; charset=windows-1251") == ("Привет", "utf-8")


def test_http_charset_beats_the_declaration() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><x>Привет</x>'.encode("koi8-r")
    assert decode_body(body, "application/xml; charset=KOI8-R")[1] == "koi8-r"


def test_real_latin1_text_stays_latin1() -> None:
    body = "Déclaration du ministère".encode("latin-1")
    assert decode_body(body, "text/html; charset=ISO-8859-1")[0] == "Déclaration du ministère"


def test_unknown_label_falls_through_to_utf8() -> None:
    assert decode_body("Заявление".encode(), "text/html; charset=x-no-such-charset")[0] == "Заявление"
