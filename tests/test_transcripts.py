"""Briefing transcripts -> one draft per answer / headed section, speakers named, questions as context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.httpfixture import FIXTURES, FixtureServer
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.fetch import FetchPolicy, HostThrottle, fetch
from tracker.ingest.transcripts import find_date, parse_transcript, speaker_from_title

CN = (FIXTURES / "transcript_cn_en.html").read_bytes()
RU_EN = (FIXTURES / "transcript_ru_en.html").read_bytes()
RU_RU = (FIXTURES / "transcript_ru_ru.html").read_bytes()
CN_URL = "https://mfa.example.cn/eng/xwfw/202103/t20210302_1.html"
RU_URL = "https://mid.example.ru/en/briefings/4567"


def drafts(items: list[StatementDraft | RowError]) -> list[StatementDraft]:
    assert items and all(isinstance(i, StatementDraft) for i in items), items
    return items  # type: ignore[return-value]


def answers(items: list[StatementDraft]) -> list[StatementDraft]:
    return [d for d in items if d.extra["part"] == "answer"]


# ---------------------------------------------------------------- Chinese MFA, English


def test_cn_each_answer_is_one_statement_by_the_spokesperson() -> None:
    items = drafts(parse_transcript(CN, CN_URL))
    assert len(items) == 5
    assert {d.actor for d in items} == {"Zhao Lijian"}
    assert {d.actor_kind for d in items} == {"official"}
    assert [d.external_id for d in items] == [f"{CN_URL}#a{n}" for n in range(1, 6)]


def test_cn_question_is_the_context_and_the_outlet_is_kept() -> None:
    items = drafts(parse_transcript(CN, CN_URL))
    assert items[1].context is not None and items[1].context.startswith("Some American politicians said")
    assert items[1].extra["asked_by"] == "CCTV"
    assert items[2].extra["asked_by"] == "Reuters"


def test_cn_opening_announcement_has_no_question() -> None:
    first = drafts(parse_transcript(CN, CN_URL))[0]
    assert first.context is None and first.text.startswith("At the invitation of")


def test_cn_follow_up_is_credited_to_the_previous_asker() -> None:
    follow = drafts(parse_transcript(CN, CN_URL))[3]
    assert follow.context == "Can you tell us what kind of response?"
    assert follow.text == "Please stay tuned."
    assert follow.extra["asked_by"] == "Reuters"


def test_cn_answer_continues_over_unlabelled_paragraphs() -> None:
    text = drafts(parse_transcript(CN, CN_URL))[1].text
    assert text.startswith("Origins tracing is a scientific matter")
    assert "Fort Detrick" in text
    assert "Zhao Lijian:" not in text and "Reuters" not in text


def test_cn_date_comes_from_the_title_and_page_chrome_is_not_text() -> None:
    items = drafts(parse_transcript(CN, CN_URL))
    assert {d.published_at for d in items} == {datetime(2021, 3, 2, tzinfo=UTC)}
    assert not any("Copyright" in d.text or "Spokesperson's Remarks" in d.text for d in items)
    assert items[0].title == "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on March 2, 2021"


def test_outlet_and_country_are_stamped() -> None:
    items = drafts(parse_transcript(CN, CN_URL, outlet="MFA of China", country="CN"))
    assert {(d.outlet, d.country) for d in items} == {("MFA of China", "CN")}


# ---------------------------------------------------------------- Russian MFA, English and Russian


def test_ru_en_sections_and_answers_are_separate_statements() -> None:
    items = drafts(parse_transcript(RU_EN, RU_URL))
    assert [d.extra["part"] for d in items] == ["section", "section", "answer", "answer"]
    assert [d.context for d in items[:2]] == ["Update on the coronavirus situation",
                                             "The so-called chemical weapons report"]
    assert [d.external_id for d in items] == [f"{RU_URL}#s1", f"{RU_URL}#s2", f"{RU_URL}#a1", f"{RU_URL}#a2"]


def test_ru_en_answers_carry_question_and_speaker_from_title() -> None:
    items = answers(drafts(parse_transcript(RU_EN, RU_URL)))
    assert {d.actor for d in items} == {"Maria Zakharova"}
    assert items[0].context.startswith("How would you comment on the statement by the NATO")
    assert items[0].text.endswith("Those who speak about threats should look at the map.")
    assert not any("Answers to media questions" in d.text for d in items)


def test_ru_en_date_and_site_name() -> None:
    first = drafts(parse_transcript(RU_EN, RU_URL))[0]
    assert first.published_at == datetime(2021, 3, 3, tzinfo=UTC)
    assert first.outlet == "The Ministry of Foreign Affairs of the Russian Federation"
    assert first.language == "en"


def test_ru_ru_questions_answers_and_nominative_speaker() -> None:
    items = drafts(parse_transcript(RU_RU, "https://mid.example.ru/ru/briefings/4567"))
    assert [d.extra["part"] for d in items] == ["section", "section", "answer", "answer"]
    assert {d.actor for d in items} == {"М.В.Захарова"}
    assert answers(items)[1].context.startswith("Западные СМИ сообщают")
    assert answers(items)[0].text.endswith("стоит посмотреть на карту.")
    assert {d.published_at for d in items} == {datetime(2021, 3, 3, tzinfo=UTC)}
    assert {d.language for d in items} == {"ru"}


# ---------------------------------------------------------------- variants


def test_default_speaker_is_used_when_the_title_names_nobody() -> None:
    html = ("<html><head><title>Briefing, 5 April 2022</title></head><body>"
            "<p>Question: Will the talks continue?</p><p>Answer: We are ready, but the other side is not.</p>"
            "</body></html>")
    item = drafts(parse_transcript(html, "https://m.example/b", default_speaker="Maria Zakharova"))[0]
    assert (item.actor, item.context) == ("Maria Zakharova", "Will the talks continue?")
    assert item.published_at == datetime(2022, 4, 5, tzinfo=UTC)


def test_bold_unlabelled_question_before_an_answer_becomes_the_context() -> None:
    html = ("<html><head><title>Briefing by Foreign Ministry Spokeswoman Maria Zakharova, March 3, 2021</title>"
            "</head><body><p><b>What about the new sanctions</b></p>"
            "<p><b>Answer:</b> They will not achieve their goal.</p></body></html>")
    item = drafts(parse_transcript(html, "https://m.example/b"))[0]
    assert item.context == "What about the new sanctions" and item.text == "They will not achieve their goal."


def test_spokesperson_is_inferred_from_label_frequency_without_a_title() -> None:
    html = ("<html><body><p>AFP: First question?</p><p>Hua Chunying: First answer.</p>"
            "<p>Bloomberg: Second question?</p><p>Hua Chunying: Second answer.</p></body></html>")
    items = drafts(parse_transcript(html, "https://m.example/c"))
    assert [(d.actor, d.context, d.text) for d in items] == [
        ("Hua Chunying", "First question?", "First answer."), ("Hua Chunying", "Second question?", "Second answer.")]


def test_page_without_questions_or_sections_is_one_row_error() -> None:
    items = parse_transcript("<html><body><p>Nothing to see here.</p></body></html>", "https://m.example/d")
    assert len(items) == 1 and isinstance(items[0], RowError) and items[0].path == "https://m.example/d"


@pytest.mark.parametrize("title, speaker", [
    ("Foreign Ministry Spokesperson Wang Wenbin's Regular Press Conference on May 6, 2021", "Wang Wenbin"),
    ("Briefing by Foreign Ministry Spokeswoman Maria Zakharova, Moscow, March 3, 2021", "Maria Zakharova"),
    ("Брифинг официального представителя МИД России М.В.Захаровой, Москва, 3 марта 2021 года", "М.В.Захарова"),
    ("Брифинг заместителя директора Департамента информации и печати МИД России А.А.Зайцева", None),
    ("Брифинг официального представителя МИД России А.А.Зайцева, Москва", "А.А.Зайцев"),
    ("Press conference", None)])
def test_speaker_from_title(title: str, speaker: str | None) -> None:
    assert speaker_from_title(title) == speaker


@pytest.mark.parametrize("text, day", [
    ("Regular Press Conference on March 2, 2021", datetime(2021, 3, 2, tzinfo=UTC)),
    ("Moscow, 3 March 2021 - 16:30", datetime(2021, 3, 3, tzinfo=UTC)),
    ("Москва, 3 марта 2021 года", datetime(2021, 3, 3, tzinfo=UTC)),
    ("Updated 2021-03-02 19:45", datetime(2021, 3, 2, tzinfo=UTC)),
    ("03.03.2021", datetime(2021, 3, 3, tzinfo=UTC)),
    ("2021年3月2日外交部发言人", datetime(2021, 3, 2, tzinfo=UTC)),
    ("February 30, 2021", None), ("no date", None)])
def test_find_date_forms(text: str, day: datetime | None) -> None:
    assert find_date(text) == day


def test_transcript_fetched_over_http_end_to_end() -> None:
    with FixtureServer() as server:
        server.serve_file("/briefing", "transcript_ru_ru.html", "text/html")  # no charset: detected
        policy = FetchPolicy(total_timeout=3, allow_hosts=frozenset({"127.0.0.1"}), min_host_delay=0,
                             throttle=HostThrottle())
        result = fetch(server.url("/briefing"), policy)
    items = drafts(parse_transcript(result.body, result.url, content_type=result.content_type))
    assert len(answers(items)) == 2 and items[0].url == result.url


# ---------------------------------------------------------------- fuzzing


def _only_expected(items: object) -> None:
    assert isinstance(items, list) and items
    assert all(isinstance(i, StatementDraft | RowError) for i in items)


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_fuzz_random_bytes_give_only_drafts_or_row_errors(body: bytes) -> None:
    _only_expected(parse_transcript(body, "https://m.example/fuzz"))


_PIECES = st.sampled_from(["<p>", "</p>", "<b>", "</b>", "<h3>", "</h3>", "Question:", "Answer:", "Вопрос:",
                           "Ответ:", "CCTV:", "Zhao Lijian:", "Follow-up:", "<title>", "</title>", "<div>",
                           "</div>", ": ", "：", "March 2, 2021", "\x00", "<script>", "<!--", "&amp;", "<br>"])


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES | st.text(max_size=15), max_size=60))
def test_fuzz_transcript_shaped_html_gives_only_drafts_or_row_errors(parts: list[str]) -> None:
    _only_expected(parse_transcript("".join(parts), "https://m.example/fuzz"))
