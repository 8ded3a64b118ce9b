"""Checks on the bundled sample corpus itself: shape, coverage and the story it has to tell.

Notebooks and end-to-end tests use ``narrative_hint`` as gold, so these tests pin down the
properties they rely on (waves, first mover, reprints, aliases, languages).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from difflib import SequenceMatcher
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import pytest

from tracker.sample import corpus_path, read_records
from tracker.vocabulary import ACTOR_KINDS

REQUIRED_KEYS = ("external_id", "actor", "actor_kind", "outlet", "country", "url", "text", "narrative_hint")
CYRILLIC = re.compile("[\u0400-\u04ff]")
CJK = re.compile("[\u4e00-\u9fff]")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return read_records()


def _moment(value: str) -> datetime:
    """Parse a published_at value; a bare date counts as midnight UTC so all values compare."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _narrative(records: list[dict[str, Any]], hint: str) -> list[dict[str, Any]]:
    return [r for r in records if r["narrative_hint"] == hint]


def _dated(records: list[dict[str, Any]]) -> list[tuple[datetime, dict[str, Any]]]:
    return sorted(((_moment(r["published_at"]), r) for r in records if "published_at" in r), key=lambda p: p[0])


def test_corpus_path_points_to_the_file_inside_the_package() -> None:
    path = corpus_path()
    assert path.is_file()
    assert path.parent == Path(__file__).resolve().parents[1] / "tracker" / "sample"


def test_every_line_is_a_json_object() -> None:
    lines = corpus_path().read_text(encoding="utf-8").splitlines()
    assert lines, "corpus is empty"
    for number, line in enumerate(lines, start=1):
        assert isinstance(json.loads(line), dict), f"line {number} is not a JSON object"


def test_read_records_names_the_line_of_bad_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.jsonl:2"):
        read_records(broken)


def test_every_statement_has_the_required_keys(records: list[dict[str, Any]]) -> None:
    for record in records:
        for key in REQUIRED_KEYS:
            value = record.get(key)
            assert isinstance(value, str) and value.strip(), f"{record.get('external_id')}: missing {key}"


def test_external_ids_are_unique(records: list[dict[str, Any]]) -> None:
    counts = Counter(r["external_id"] for r in records)
    assert [eid for eid, n in counts.items() if n > 1] == []


def test_texts_are_never_exact_duplicates(records: list[dict[str, Any]]) -> None:
    counts = Counter(r["text"] for r in records)
    assert [text for text, n in counts.items() if n > 1] == []


def test_actor_kinds_are_known(records: list[dict[str, Any]]) -> None:
    assert {r["actor_kind"] for r in records} <= set(ACTOR_KINDS)


def test_country_codes_are_iso_alpha2(records: list[dict[str, Any]]) -> None:
    assert all(re.fullmatch(r"[A-Z]{2}", r["country"]) for r in records)


def test_language_codes_are_iso_639_1_when_present(records: list[dict[str, Any]]) -> None:
    assert all(re.fullmatch(r"[a-z]{2}", r["language"]) for r in records if "language" in r)


def test_urls_are_fictional_example_org_addresses(records: list[dict[str, Any]]) -> None:
    assert all(r["url"].startswith("https://example.org/") for r in records)
    assert len({r["url"] for r in records}) == len(records)


def test_narrative_hints_are_slugs(records: list[dict[str, Any]]) -> None:
    assert all(SLUG.match(r["narrative_hint"]) for r in records)


def test_dates_parse_and_datetimes_carry_an_offset(records: list[dict[str, Any]]) -> None:
    for record in records:
        if "published_at" not in record:
            continue
        parsed = datetime.fromisoformat(record["published_at"])
        if "T" in record["published_at"]:
            assert parsed.tzinfo is not None, f"{record['external_id']}: datetime without offset"
        else:
            assert isinstance(date.fromisoformat(record["published_at"]), date)


def test_a_few_statements_are_undated_on_purpose(records: list[dict[str, Any]]) -> None:
    undated = [r for r in records if "published_at" not in r]
    assert 3 <= len(undated) <= 6


def test_about_twenty_statements_leave_language_for_detection(records: list[dict[str, Any]]) -> None:
    missing = [r for r in records if "language" not in r]
    assert 15 <= len(missing) <= 30
    assert any(CYRILLIC.search(r["text"]) for r in missing)
    assert any(CJK.search(r["text"]) for r in missing)


def test_corpus_has_at_least_320_statements(records: list[dict[str, Any]]) -> None:
    assert len(records) >= 320


@pytest.mark.parametrize(("field", "minimum"), [("actor", 15), ("outlet", 15), ("country", 4)])
def test_enough_distinct_values(records: list[dict[str, Any]], field: str, minimum: int) -> None:
    assert len({r[field] for r in records}) >= minimum


@pytest.mark.parametrize(("language", "script"), [("ru", CYRILLIC), ("zh", CJK)])
def test_at_least_twenty_statements_per_non_latin_language(
    records: list[dict[str, Any]], language: str, script: re.Pattern[str]
) -> None:
    tagged = [r for r in records if r.get("language") == language and script.search(r["text"])]
    assert len(tagged) >= 20


@pytest.mark.parametrize(("language", "script"), [("ru", CYRILLIC), ("zh", CJK)])
def test_non_latin_statements_are_spread_over_narratives(
    records: list[dict[str, Any]], language: str, script: re.Pattern[str]
) -> None:
    hints = {r["narrative_hint"] for r in records if script.search(r["text"])}
    assert len(hints - {"none"}) >= 5


def test_declared_language_matches_the_script(records: list[dict[str, Any]]) -> None:
    for record in records:
        text, language = record["text"], record.get("language")
        if language == "ru":
            assert CYRILLIC.search(text), record["external_id"]
        elif language == "zh":
            assert CJK.search(text), record["external_id"]
        elif language == "en":
            assert not CYRILLIC.search(text) and not CJK.search(text), record["external_id"]


def test_at_least_forty_unrelated_statements(records: list[dict[str, Any]]) -> None:
    assert len(_narrative(records, "none")) >= 40


@pytest.mark.parametrize(
    ("hint", "minimum"), [("us-biolabs", 45), ("covid-fort-detrick", 30), ("nato-encirclement", 30)]
)
def test_main_narratives_are_large_enough(records: list[dict[str, Any]], hint: str, minimum: int) -> None:
    assert len(_narrative(records, hint)) >= minimum


def test_at_least_five_further_narratives_of_fifteen_to_twenty_five(records: list[dict[str, Any]]) -> None:
    sizes = Counter(r["narrative_hint"] for r in records)
    for main in ("none", "us-biolabs", "covid-fort-detrick", "nato-encirclement"):
        sizes.pop(main, None)
    assert len([hint for hint, n in sizes.items() if 15 <= n <= 25]) >= 5


def test_first_us_biolabs_statement_is_a_russian_official_in_october_2020(records: list[dict[str, Any]]) -> None:
    moment, first = _dated(_narrative(records, "us-biolabs"))[0]
    assert (first["actor_kind"], first["country"]) == ("official", "RU")
    assert (moment.year, moment.month) == (2020, 10)


def test_zhao_lijian_carries_us_biolabs_at_the_21_october_2020_briefing(records: list[dict[str, Any]]) -> None:
    hits = [
        r
        for moment, r in _dated(_narrative(records, "us-biolabs"))
        if r["actor"] in {"Zhao Lijian", "赵立坚"} and moment.date() == date(2020, 10, 21)
    ]
    assert hits


def test_us_biolabs_resurges_in_2022_after_a_dormant_gap(records: list[dict[str, Any]]) -> None:
    moments = [moment for moment, _ in _dated(_narrative(records, "us-biolabs"))]
    assert not [m for m in moments if m.year == 2021]
    gaps = [(later - earlier, later) for earlier, later in pairwise(moments)]
    longest, resumed = max(gaps)
    assert longest.days > 300
    assert resumed.year == 2022
    assert sum(m.year == 2022 for m in moments) >= 15


def test_us_biolabs_includes_near_verbatim_wire_reprints(records: list[dict[str, Any]]) -> None:
    statements = _narrative(records, "us-biolabs")
    reprints = set()
    for a, b in combinations(statements, 2):
        similarity = SequenceMatcher(None, a["text"], b["text"], autojunk=False).ratio()
        if a["outlet"] != b["outlet"] and similarity >= 0.9:
            later = max(a, b, key=lambda r: _moment(r["published_at"]))
            reprints.add(later["external_id"])
    assert 4 <= len(reprints) <= 6


@pytest.mark.parametrize(
    ("field", "spellings"),
    [
        ("actor", {"Zhao Lijian", "赵立坚"}),
        ("actor", {"Maria Zakharova", "Mariya Zakharova", "Мария Захарова"}),
        ("actor", {"Sergey Lavrov", "Sergei Lavrov"}),
        ("actor", {"Wang Wenbin", "汪文斌"}),
        ("outlet", {"RIA Novosti", "RIA-Novosti"}),
    ],
)
def test_alias_spellings_each_appear(records: list[dict[str, Any]], field: str, spellings: set[str]) -> None:
    assert spellings <= {r[field] for r in records}
