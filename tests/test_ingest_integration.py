"""Network ingestion end to end: real HTTP on 127.0.0.1, the real client, real SQLite and PostgreSQL.

Each test starts the fixture server (``tests/httpfixture.py``), registers sources pointing at it and
runs ``ingest_due`` as ``tracker ingest`` would. The helpers at the top (config, feed builder,
routes with validators) are shared with the crash-safety, worker and schedule tests.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from httpfixture import FixtureServer
from sqlalchemy import func, select

from tests.ingestkit import Validated, add, ingest_config, numbered_items, rss
from tracker.config import Config
from tracker.db import Database
from tracker.ingest.runner import ingest_due
from tracker.models import JobRun, Source, Statement

# ---------------------------------------------------------------- shared helpers


def statements(db: Database, *where: Any) -> list[Statement]:
    with db.reader() as session:
        query = select(Statement).where(*where).order_by(Statement.id)
        rows = list(session.scalars(query))
        for row in rows:  # load names before the session closes
            _ = (row.outlet.name if row.outlet else None, row.speaker.name if row.speaker else None)
        return rows


def source_row(db: Database, name: str) -> Source:
    with db.reader() as session:
        return session.scalars(select(Source).where(Source.name == name)).one()


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def server() -> Any:
    with FixtureServer() as srv:
        srv.trickle_interval = 0.2
        yield srv


@pytest.fixture
def cfg(db_url: str, tmp_path: Path) -> Config:
    return ingest_config(db_url, tmp_path)


# ---------------------------------------------------------------- texts for the charset cases

CP1251_PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="windows-1251">
<title>Посол назвал доклад фальшивкой</title>
<meta property="article:published_time" content="2021-03-04T10:00:00+03:00"></head><body><article>
<h1>Посол назвал доклад фальшивкой</h1>
<p>Посол заявил журналистам, что опубликованный на этой неделе доклад о биологических лабораториях является
фальшивкой, написанной по заказу иностранных спецслужб.</p>
<p>По его словам, ни одна из перечисленных в докладе лабораторий никогда не занималась военными разработками,
а все документы давно переданы международным экспертам.</p>
</article></body></html>"""

UNDECLARED_CP1251 = CP1251_PAGE.replace('<meta charset="windows-1251">', "").replace("Посол", "Дипломат").encode(
    "cp1251")

MISLABELLED_FEED_ITEMS = [
    {"guid": "ru-1", "title": "Захарова: санкции бьют по Европе", "link": "https://example.ru/1",
     "text": "Официальный представитель заявила, что новые санкции ударят прежде всего по европейским семьям."},
    {"guid": "ru-2", "title": "МИД ответил на доклад", "link": "https://example.ru/2",
     "text": "В министерстве назвали доклад о правах человека набором лжи и предубеждений."},
]

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
                  + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                            for i in range(1, 10))
                  + ']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
                    "<description>&lol9;</description></item></channel></rss>")


# ---------------------------------------------------------------- 1. a run with hostile sources


def _serve_good_sources(server: FixtureServer, db: Database, cfg: Config) -> dict[str, int]:
    """Fifteen sources that must ingest; returns the statements each is expected to bring."""
    expected: dict[str, int] = {}
    server.serve_file("/rss", "rss_state_media.xml", "application/rss+xml")
    add(db, cfg, server.url("/rss"), "rss", "rss", outlet="Northern Courier", country="RU")
    expected["rss"] = 3
    server.serve_file("/atom", "atom_ministry.xml", "application/atom+xml")
    add(db, cfg, server.url("/atom"), "rss", "atom", actor="Ministry of Foreign Affairs", country="CN")
    expected["atom"] = 2
    server.serve_file("/article", "article.html", "text/html; charset=utf-8")
    add(db, cfg, server.url("/article"), "html", "article")
    expected["article"] = 1
    for name, file, count in (("cn", "transcript_cn_en.html", 5), ("ru-en", "transcript_ru_en.html", 4),
                              ("ru-ru", "transcript_ru_ru.html", 4)):
        server.serve_file(f"/briefing/{name}", file, "text/html")
        add(db, cfg, server.url(f"/briefing/{name}"), "transcript", name, outlet=f"MFA {name}")
        expected[name] = count
    # Wrong or missing charset labels are not hostile: windows-1251 pages declared only in their
    # <meta> or not at all, and a UTF-8 feed that the server labels ISO-8859-1.
    server.serve_bytes("/cp1251", CP1251_PAGE.encode("cp1251"), "text/html")
    add(db, cfg, server.url("/cp1251"), "html", "cp1251", outlet="Embassy news")
    expected["cp1251"] = 1
    server.serve_bytes("/undeclared", UNDECLARED_CP1251, "text/html")
    add(db, cfg, server.url("/undeclared"), "html", "undeclared", outlet="Embassy news")
    expected["undeclared"] = 1
    server.serve_bytes("/mislabelled", rss("Вестник", MISLABELLED_FEED_ITEMS).encode("utf-8"),
                       "application/rss+xml; charset=ISO-8859-1")
    add(db, cfg, server.url("/mislabelled"), "rss", "mislabelled")
    expected["mislabelled"] = 2
    server.serve_bytes("/gzipped", rss("Gzip Agency", numbered_items("gz", 4)).encode(), "application/rss+xml",
                       gzipped=True)
    add(db, cfg, server.url("/gzipped"), "rss", "gzipped")
    expected["gzipped"] = 4
    server.serve_bytes("/moved-here", rss("Moved Agency", numbered_items("mv", 3)).encode(), "application/rss+xml")
    add(db, cfg, server.url("/redirect?to=/moved-here&code=301"), "rss", "redirected")
    expected["redirected"] = 3
    for i in range(4):
        server.serve_bytes(f"/feed/{i}", rss(f"Agency {i}", numbered_items(f"ag{i}", 2 + i)).encode(),
                           "application/rss+xml")
        add(db, cfg, server.url(f"/feed/{i}"), "rss", f"agency-{i}")
        expected[f"agency-{i}"] = 2 + i
    assert len(expected) == 15
    return expected


def _serve_bad_sources(server: FixtureServer, db: Database, cfg: Config) -> dict[str, str]:
    """Seven hostile or broken sources; returns the words each one's recorded reason must contain."""
    server.serve_bytes("/laughs", BILLION_LAUGHS.encode(), "application/rss+xml")
    add(db, cfg, server.url("/laughs"), "rss", "billion-laughs")
    add(db, cfg, server.url("/gzip-bomb"), "rss", "gzip-bomb")
    add(db, cfg, server.url("/trickle"), "html", "trickle")
    add(db, cfg, server.url("/loop"), "rss", "redirect-loop")
    add(db, cfg, server.url("/status/404"), "rss", "not-found")
    add(db, cfg, server.url("/status/500"), "transcript", "server-error")
    add(db, cfg, server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"), "rss", "ssrf")
    return {"billion-laughs": "entities", "gzip-bomb": "cap", "trickle": "deadline",
            "redirect-loop": "redirects", "not-found": "HTTP 404", "server-error": "HTTP 500",
            "ssrf": "metadata"}


def test_hostile_sources_fail_with_reasons_while_good_ones_ingest_in_bounded_time(
        db: Database, cfg: Config, server: FixtureServer) -> None:
    good = _serve_good_sources(server, db, cfg)
    bad = _serve_bad_sources(server, db, cfg)
    start = time.monotonic()
    result = ingest_due(db, cfg)
    took = time.monotonic() - start
    assert result is not None
    # The trickle is cut at the 2 s total deadline; everything else is quick.
    assert took < 8.0, f"the run took {took:.1f} s"
    assert (result["sources"], result["failed"]) == (22, 7)
    by_name = {r["source"]: r for r in result["results"]}
    for name, count in good.items():
        assert by_name[name]["status"] == "ok" and by_name[name]["inserted"] == count, by_name[name]
        row = source_row(db, name)
        assert (row.last_status, row.last_error, row.error_count) == ("ok", None, 0), name
    with db.reader() as session:
        job = session.get(JobRun, session.scalar(select(func.max(JobRun.id)).where(JobRun.kind == "ingest")))
        assert job is not None and job.status == "partial" and job.finished_at is not None
        job_errors = list(job.errors)
        assert session.scalar(select(func.count(Statement.id))) == sum(good.values())
    for name, words in bad.items():
        row = source_row(db, name)
        assert row.last_status == "failed" and row.error_count == 1, name
        assert words in (row.last_error or ""), f"{name}: {row.last_error}"
        assert row.next_due_at is not None and row.next_due_at > datetime.now(UTC)
        assert by_name[name]["status"] == "failed" and by_name[name]["inserted"] == 0
        assert any(e.startswith(f"{name}: ") and words in e for e in job_errors), (name, job_errors)
    assert len(job_errors) == len(bad)  # one line per failed source, none for the good ones
    # the SSRF redirect was refused at the hop: the server saw the first request and nothing after it
    assert [p for p, _ in server.requests if "169.254" in p] == ["/redirect?to=http://169.254.169.254/latest/meta-data/"]


def test_wrongly_labelled_charsets_decode_to_the_right_text(db: Database, cfg: Config, server: FixtureServer) -> None:
    server.serve_bytes("/cp1251", CP1251_PAGE.encode("cp1251"), "text/html")
    add(db, cfg, server.url("/cp1251"), "html", "cp1251", outlet="Embassy news")
    server.serve_bytes("/mislabelled", rss("Вестник", MISLABELLED_FEED_ITEMS).encode("utf-8"),
                       "application/rss+xml; charset=ISO-8859-1")
    add(db, cfg, server.url("/mislabelled"), "rss", "mislabelled")
    server.serve_bytes("/undeclared", UNDECLARED_CP1251, "text/html")
    add(db, cfg, server.url("/undeclared"), "html", "undeclared")
    ingest_due(db, cfg)
    page = statements(db, Statement.url == server.url("/cp1251"))
    assert len(page) == 1 and "биологических лабораториях" in page[0].text
    assert page[0].title == "Посол назвал доклад фальшивкой" and page[0].language == "ru"
    guessed = statements(db, Statement.url == server.url("/undeclared"))
    assert guessed[0].title == "Дипломат назвал доклад фальшивкой" and "международным экспертам" in guessed[0].text
    feed = statements(db, Statement.external_id == "ru-1")
    assert feed[0].title == "Захарова: санкции бьют по Европе" and "европейским семьям" in feed[0].text
    assert feed[0].outlet is not None and feed[0].outlet.name == "Вестник"


# ---------------------------------------------------------------- 2. what each kind stores


def test_rss_entries_become_statements_with_outlet_time_url_and_title(
        db: Database, cfg: Config, server: FixtureServer) -> None:
    server.serve_file("/rss", "rss_state_media.xml", "application/rss+xml")
    add(db, cfg, server.url("/rss"), "rss", "courier", outlet="Northern Courier", country="RU")
    ingest_due(db, cfg)
    rows = {s.external_id: s for s in statements(db)}
    assert len(rows) == 3
    first = rows["courier-1234"]
    assert first.outlet is not None and first.outlet.name == "Northern Courier"
    assert first.published_at == datetime(2021, 3, 3, 8, 15, tzinfo=UTC)
    assert first.url == "https://courier.example.org/world/20210303/sanctions-hurt-europe-1234.html"
    assert first.title == 'Ministry says sanctions & export bans "hurt Europe more than anyone"'
    assert "backfire on European households" in first.text and "alert(" not in first.text
    assert first.country == "RU" and first.language == "en"
    assert first.origin == f"{server.url('/rss')}#entry1"
    # an entry without a guid is keyed by its link
    assert "https://courier.example.org/world/20210301/pipeline-political-1225.html" in rows


def test_atom_entries_keep_the_source_speaker_and_the_feed_title_as_outlet(
        db: Database, cfg: Config, server: FixtureServer) -> None:
    server.serve_file("/atom", "atom_ministry.xml", "application/atom+xml")
    add(db, cfg, server.url("/atom"), "rss", "mfa", actor="Ministry of Foreign Affairs", country="CN")
    ingest_due(db, cfg)
    rows = {s.external_id: s for s in statements(db)}
    report = rows["tag:mfa.example.org,2021:news/4471"]
    assert report.speaker is not None and report.speaker.name == "Ministry of Foreign Affairs"
    assert report.outlet is not None and report.outlet.name == "Ministry of Foreign Affairs - News"
    assert report.published_at == datetime(2021, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 +08:00
    assert report.url == "https://mfa.example.org/news/4471.html"
    assert report.title == 'Statement on the so-called "human rights report"'
    assert report.text.startswith("The so-called report is full of lies and prejudice.")
    summary_only = rows["tag:mfa.example.org,2021:news/4470"]
    assert summary_only.published_at == datetime(2021, 3, 2, 16, 45, tzinfo=UTC)  # only <updated>
    assert "global public good" in summary_only.text


def test_html_page_becomes_one_statement_without_boilerplate(db: Database, cfg: Config, server: FixtureServer) -> None:
    server.serve_file("/world/article.html", "article.html", "text/html; charset=utf-8")
    add(db, cfg, server.url("/world/article.html"), "html", "article", actor="Irina Volkova")
    ingest_due(db, cfg)
    (page,) = statements(db)
    assert page.outlet is not None and page.outlet.name == "Northern Courier"  # og:site_name
    assert page.speaker is not None and page.speaker.name == "Irina Volkova"
    assert page.published_at == datetime(2021, 3, 2, 11, 20, tzinfo=UTC)  # 14:20 +03:00
    assert page.url == server.url("/world/article.html")
    assert page.title == 'Analysts see "coordinated campaign" behind vaccine criticism'
    assert "follows a single pattern" in page.text
    assert "Most read" not in page.text and "Weather turns cold" not in page.text and "tracking" not in page.text


@pytest.mark.parametrize(("fixture", "speaker", "day", "question", "answer"), [
    ("transcript_cn_en.html", "Zhao Lijian", datetime(2021, 3, 2, tzinfo=UTC),
     "Some American politicians said recently", "Origins tracing is a scientific matter"),
    ("transcript_ru_en.html", "Maria Zakharova", datetime(2021, 3, 3, tzinfo=UTC),
     "How would you comment on the statement by the NATO Secretary General", "It is not Russia that moves"),
])
def test_transcript_answers_are_statements_by_the_spokesperson_with_the_question_as_context(
        db: Database, cfg: Config, server: FixtureServer, fixture: str, speaker: str, day: datetime,
        question: str, answer: str) -> None:
    server.serve_file("/briefing", fixture, "text/html")
    add(db, cfg, server.url("/briefing"), "transcript", "briefing", outlet="MFA website")
    ingest_due(db, cfg)
    rows = statements(db)
    assert len(rows) >= 4
    assert all(r.speaker is not None and r.speaker.name == speaker for r in rows)
    assert all(r.outlet is not None and r.outlet.name == "MFA website" for r in rows)
    assert all(r.published_at == day and r.url == server.url("/briefing") for r in rows)
    assert all(r.title and r.title.startswith(("Foreign Ministry Spokesperson", "Briefing by")) for r in rows)
    (hit,) = [r for r in rows if r.text.startswith(answer)]
    assert hit.context is not None and hit.context.startswith(question)
    assert question not in hit.text  # the question is context, not the spokesperson's words
    assert len({r.external_id for r in rows}) == len(rows)


# ---------------------------------------------------------------- 3. conditional GET


def _snapshot(db: Database) -> list[tuple[int, datetime, datetime]]:
    with db.reader() as session:
        return [(s.id, s.updated_at, s.fetched_at) for s in session.scalars(select(Statement).order_by(Statement.id))]


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_a_feed_served_again_with_the_same_validator_writes_nothing(
        db: Database, cfg: Config, server: FixtureServer, validator: str) -> None:
    modified = "Wed, 03 Mar 2021 10:00:00 GMT"
    route = Validated(rss("Agency", numbered_items("c", 5)).encode(),
                      etag='"feed-v1"' if validator == "etag" else None,
                      last_modified=modified)
    server.routes["/cond"] = route
    add(db, cfg, server.url("/cond"), "rss", "cond")
    first = ingest_due(db, cfg)
    assert first is not None and first["inserted"] == 5
    before = _snapshot(db)
    second = ingest_due(db, cfg, name="cond")
    assert second is not None and second["not_modified"] == 1 and second["inserted"] == second["updated"] == 0
    assert route.not_modified == 1
    sent = [headers for path, headers in server.requests if path == "/cond"]
    assert len(sent) == 2 and "if-none-match" not in sent[0] and "if-modified-since" not in sent[0]
    if validator == "etag":
        assert sent[1]["if-none-match"] == '"feed-v1"'
    assert sent[1]["if-modified-since"] == modified
    assert _snapshot(db) == before  # same rows, same updated_at and fetched_at
    assert source_row(db, "cond").last_status == "not_modified"


# ---------------------------------------------------------------- 4. updates, not duplicates


def test_an_edited_entry_updates_its_statement_and_a_refetched_story_is_not_duplicated(
        db: Database, cfg: Config, server: FixtureServer) -> None:
    v1 = [{"guid": "e-1", "title": "Ministry on sanctions", "link": "https://example.org/e1",
           "text": "The ministry said sanctions would hurt Europe more than anyone else."},
          {"guid": "e-2", "title": "Embassy on the report", "link": "https://example.org/e2",
           "text": "The embassy called the report a fabrication."},
          {"title": "No id at all", "text": "A story with neither guid nor link, keyed by its content."}]
    v2 = [dict(v1[0], text="The ministry said the sanctions would hurt Europe more than anyone."), v1[1],
          dict(v1[2], text="a story with neither guid nor link -- keyed by its content!")]
    route = Validated(rss("Agency", v1).encode())
    server.routes["/edits"] = route
    add(db, cfg, server.url("/edits"), "rss", "edits", outlet="Agency")
    first = ingest_due(db, cfg)
    assert first is not None and first["inserted"] == 3
    before = {s.external_key: s for s in statements(db)}
    route.body = rss("Agency", v2).encode()
    second = ingest_due(db, cfg, name="edits")
    assert second is not None
    assert (second["inserted"], second["updated"], second["results"][0]["unchanged"]) == (0, 2, 1)
    after = {s.external_key: s for s in statements(db)}
    assert set(after) == set(before)  # same keys, nothing added
    edited = next(s for s in after.values() if s.external_id == "e-1")
    old = before[edited.external_key]
    assert edited.id == old.id and edited.text == v2[0]["text"] and edited.text != old.text
    assert edited.provenance["revisions"] == 1 and edited.provenance["previous_text_hash"] == old.text_hash
    assert edited.fetched_at > old.fetched_at and edited.updated_at > old.updated_at
    untouched = next(s for s in after.values() if s.external_id == "e-2")
    assert untouched.updated_at == before[untouched.external_key].updated_at
    assert "revisions" not in untouched.provenance
    no_id = next(s for s in after.values() if s.external_id is None)
    assert no_id.id == before[no_id.external_key].id and no_id.text == v2[2]["text"]
    source_id = source_row(db, "edits").id
    for s in after.values():  # where and when each was fetched
        assert s.source_id == source_id and s.origin and s.origin.startswith(server.url("/edits") + "#entry")
        assert s.fetched_at is not None and s.fetched_at.tzinfo is not None
    assert after[edited.external_key].url == "https://example.org/e1"
    assert route.not_modified == 0


def test_the_same_story_from_two_outlets_stays_two_statements(db: Database, cfg: Config,
                                                                server: FixtureServer) -> None:
    body = rss("Syndicated", numbered_items("syn", 3)).encode()
    server.serve_bytes("/a", body, "application/rss+xml")
    server.serve_bytes("/b", body, "application/rss+xml")
    add(db, cfg, server.url("/a"), "rss", "a", outlet="Outlet A")
    add(db, cfg, server.url("/b"), "rss", "b", outlet="Outlet B")
    result = ingest_due(db, cfg)
    assert result is not None and result["inserted"] == 6  # amplification: the timeline must see both
    again = ingest_due(db, cfg, due_only=False)
    assert again is not None and again["inserted"] == 0 and again["updated"] == 0
    assert len(statements(db)) == 6

