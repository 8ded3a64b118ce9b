"""CSV and JSON Lines importers: good rows become drafts, bad rows become RowErrors with lines."""

from __future__ import annotations

import os
import tempfile
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.files import MAX_FIELD_CHARS, FileFormatError, read_statements

FIXTURES = Path(__file__).parent / "fixtures" / "files"
SHARED_DATA = Path(
    os.environ.get("TRACKER_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)
EUVSDISINFO = SHARED_DATA / "euvsdisinfo-cases-2018-2021.csv"


def _split(items):
    items = list(items)
    drafts = [i for i in items if isinstance(i, StatementDraft)]
    errors = [i for i in items if isinstance(i, RowError)]
    assert len(drafts) + len(errors) == len(items)
    return drafts, errors


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- CSV: columns


def test_csv_fixture_gives_drafts_for_good_rows_and_errors_for_bad_ones():
    drafts, errors = _split(read_statements(FIXTURES / "statements.csv"))
    assert [d.external_id for d in drafts] == ["brief-2021-03-01-1", "wire-884", None, None]
    assert [(e.line, e.field) for e in errors] == [(6, "text"), (8, "published_at"), (9, "actor_kind")]


def test_csv_maps_every_known_column():
    first = next(read_statements(FIXTURES / "statements.csv"))
    assert first == StatementDraft(
        text="The West is preparing a provocation, the spokesperson said.",
        external_id="brief-2021-03-01-1",
        published_at=datetime(2021, 3, 1, tzinfo=UTC),
        actor="Foreign Ministry Spokesperson",
        actor_kind="official",
        outlet="MFA website",
        country="RU",
        language="en",
        url="https://example.org/briefings/1",
        title="Briefing of 1 March",
        origin=f"{FIXTURES / 'statements.csv'}:2",
        extra={"reach": "12000"},
    )


def test_header_names_match_ignoring_case_and_surrounding_spaces(tmp_path):
    path = _write(tmp_path, "a.csv", "  TEXT  , Actor_Kind \nhello,STATE MEDIA\n")
    (draft,) = read_statements(path)
    assert (draft.text, draft.actor_kind) == ("hello", "state_media")


def test_unknown_columns_go_to_extra_and_empty_ones_are_dropped(tmp_path):
    path = _write(tmp_path, "a.csv", "text,Reach,notes\nhello,12, \n")
    (draft,) = read_statements(path)
    assert draft.extra == {"reach": "12"}


def test_values_are_stripped_and_empty_values_are_missing(tmp_path):
    path = _write(tmp_path, "a.csv", "text,actor,outlet\n  hello  ,  ,  TASS \n")
    (draft,) = read_statements(path)
    assert (draft.text, draft.actor, draft.outlet) == ("hello", None, "TASS")


def test_multiline_record_reports_the_line_where_it_starts():
    drafts, _ = _split(read_statements(FIXTURES / "statements.csv"))
    wire = drafts[1]
    assert wire.text.startswith("Западные СМИ") and "\n" in wire.text
    assert wire.origin.endswith("statements.csv:3")
    assert drafts[2].origin.endswith("statements.csv:5")


def test_semicolon_separated_file_is_read(tmp_path):
    path = _write(tmp_path, "a.csv", "text;outlet\nhello, world;RT\n")
    (draft,) = read_statements(path)
    assert (draft.text, draft.outlet) == ("hello, world", "RT")


def test_row_with_more_values_than_columns_is_an_error(tmp_path):
    path = _write(tmp_path, "a.csv", "text,outlet\na,b,c\ngood,RT\n")
    drafts, errors = _split(read_statements(path))
    assert [d.text for d in drafts] == ["good"]
    assert errors[0].line == 2 and "3 values" in errors[0].reason


def test_windows_line_endings_keep_line_numbers(tmp_path):
    path = _write(tmp_path, "a.csv", 'text,outlet\r\n"two\r\nlines",RT\r\n,RT\r\nlast,RT\r\n')
    drafts, errors = _split(read_statements(path))
    assert [(d.text, d.origin.rsplit(":", 1)[1]) for d in drafts] == [("two\r\nlines", "2"), ("last", "5")]
    assert [e.line for e in errors] == [4]


def test_blank_lines_are_skipped_without_errors(tmp_path):
    path = _write(tmp_path, "a.csv", "text\n\none\n,\n\ntwo\n")
    drafts, errors = _split(read_statements(path))
    assert [d.text for d in drafts] == ["one", "two"]
    assert errors == []


# --------------------------------------------------------------------------- CSV: values


def test_date_only_means_midnight_utc(tmp_path):
    (draft,) = read_statements(_write(tmp_path, "a.csv", "text,published_at\nx,2020-05-09\n"))
    assert draft.published_at == datetime(2020, 5, 9, tzinfo=UTC)


def test_naive_datetime_is_utc(tmp_path):
    (draft,) = read_statements(_write(tmp_path, "a.csv", "text,published_at\nx,2020-05-09 13:45:00\n"))
    assert draft.published_at == datetime(2020, 5, 9, 13, 45, tzinfo=UTC)


def test_datetime_with_offset_is_converted_to_utc(tmp_path):
    (draft,) = read_statements(_write(tmp_path, "a.csv", "text,published_at\nx,2020-05-09T13:45:00+03:00\n"))
    assert draft.published_at == datetime(2020, 5, 9, 10, 45, tzinfo=UTC)
    assert draft.published_at.utcoffset() == timedelta(0)
    assert draft.published_at == datetime(2020, 5, 9, 13, 45, tzinfo=timezone(timedelta(hours=3)))


def test_unparseable_date_quotes_the_value_truncated(tmp_path):
    value = "sometime in spring " * 10
    (error,) = read_statements(_write(tmp_path, "a.csv", f"text,published_at\nx,{value}\n"))
    assert error.field == "published_at" and error.line == 2
    assert "'sometime in spring" in error.reason
    assert value.strip() not in error.reason and len(error.reason) < 200


def test_empty_text_is_an_error_naming_path_line_and_field(tmp_path):
    path = _write(tmp_path, "a.csv", "text,outlet\n   ,RT\n")
    (error,) = read_statements(path)
    assert (error.path, error.line, error.field, error.reason) == (str(path), 2, "text", "empty text")


def test_unknown_actor_kind_is_an_error_on_that_field(tmp_path):
    (error,) = read_statements(_write(tmp_path, "a.csv", "text,actor_kind\nx,blogger\n"))
    assert error.field == "actor_kind" and "'blogger'" in error.reason


def test_url_that_is_not_http_is_refused(tmp_path):
    (error,) = read_statements(_write(tmp_path, "a.csv", "text,url\nx,javascript:alert(1)\n"))
    assert error.field == "url"


def test_language_code_is_normalised_and_a_name_is_kept_in_extra(tmp_path):
    path = _write(tmp_path, "a.csv", "text,language\nx,RU\ny,en-GB\nz,Russian\n")
    drafts, _ = _split(read_statements(path))
    assert [d.language for d in drafts] == ["ru", "en", None]
    assert drafts[2].extra == {"language_given": "Russian"}


def test_oversized_field_is_an_error_and_the_next_row_imports(tmp_path):
    big = "x" * (MAX_FIELD_CHARS + 10)
    path = _write(tmp_path, "a.csv", f"text,outlet\n{big},RT\nafter,RT\n")
    drafts, errors = _split(read_statements(path))
    assert [d.text for d in drafts] == ["after"]
    assert errors[0].line == 2 and "field" in errors[0].reason


def test_nul_characters_are_refused(tmp_path):
    (error,) = read_statements(_write(tmp_path, "a.csv", "text\nab\x00cd\n"))
    assert error.field == "text" and "NUL" in error.reason


# --------------------------------------------------------------------------- encodings and size


@pytest.mark.parametrize("encoding", ["windows-1251", "latin-1"])
def test_rows_that_are_not_utf8_are_reported_and_good_rows_import(tmp_path, encoding):
    foreign = "Запад лжёт" if encoding == "windows-1251" else "Déjà vu à Genève"
    data = (
        b"text,outlet\n"
        + "первая строка,RT\n".encode()
        + f"{foreign},RT\n".encode(encoding)
        + b"third,RT\n"
        + f"ok,{foreign}\n".encode(encoding)
    )
    drafts, errors = _split(read_statements(_write(tmp_path, "a.csv", data)))
    assert [d.text for d in drafts] == ["первая строка", "third"]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (3, "text", "not valid UTF-8"),
        (5, "outlet", "not valid UTF-8"),
    ]


def test_utf8_bom_is_ignored(tmp_path):
    path = _write(tmp_path, "a.csv", b"\xef\xbb\xbftext\nhello\n")
    (draft,) = read_statements(path)
    assert draft.text == "hello"


def test_fifty_megabyte_line_is_reported_and_the_following_rows_import(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:
        fh.write(b"text,outlet\nbefore,RT\n")
        chunk = b"y" * (1024 * 1024)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b",RT\nafter,RT\nlast,RT\n")
    tracemalloc.start()
    try:
        drafts, errors = _split(read_statements(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [d.text for d in drafts] == ["before", "after", "last"]
    assert [e.line for e in errors] == [3] and "longer than" in errors[0].reason
    assert peak < 10 * 1024 * 1024


def test_long_line_inside_a_quoted_field_skips_that_record_only(tmp_path):
    data = 'text,outlet\nfirst,RT\n"starts here\n' + "x" * 2_000_000 + '\nends here",RT\nafter,RT\n'
    drafts, errors = _split(read_statements(_write(tmp_path, "a.csv", data)))
    assert [d.text for d in drafts] == ["first", "after"]
    assert [e.line for e in errors] == [3] and "line 4 of this record" in errors[0].reason


def test_quoted_field_over_the_csv_limit_does_not_swallow_the_next_rows(tmp_path):
    data = 'text,outlet\n"' + ("x" * 90_000 + "\n") * 2 + '",RT\nafter,RT\nlast,RT\n'
    drafts, errors = _split(read_statements(_write(tmp_path, "a.csv", data)))
    assert [d.text for d in drafts] == ["after", "last"]
    assert [e.line for e in errors] == [2] and "field limit" in errors[0].reason


def test_file_over_the_cap_is_refused(tmp_path):
    path = _write(tmp_path, "a.csv", "text\n" + "x\n" * 100)
    with pytest.raises(FileFormatError, match="limit"):
        read_statements(path, max_bytes=50)


# --------------------------------------------------------------------------- whole-file errors


def test_csv_without_text_column_names_the_columns_it_found(tmp_path):
    path = _write(tmp_path, "a.csv", "Body,Date\nhello,2020-01-01\n")
    with pytest.raises(FileFormatError) as caught:
        read_statements(path)
    assert "'Body'" in caught.value.reason and "'Date'" in caught.value.reason
    assert caught.value.path == str(path)


def test_missing_file_is_a_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_statements(tmp_path / "absent.csv")


def test_unknown_extension_is_a_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="extension"):
        read_statements(_write(tmp_path, "a.xlsx", "text\nx\n"))


def test_format_argument_overrides_the_extension(tmp_path):
    path = _write(tmp_path, "export.txt", '{"text": "hello"}\n')
    (draft,) = read_statements(path, fmt="jsonl")
    assert draft.text == "hello"


def test_empty_csv_is_a_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="header"):
        read_statements(_write(tmp_path, "a.csv", ""))


def test_duplicate_column_is_a_file_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="more than once"):
        read_statements(_write(tmp_path, "a.csv", "text,Text\na,b\n"))


def test_unknown_preset_is_a_file_format_error():
    with pytest.raises(FileFormatError, match="preset"):
        read_statements(FIXTURES / "statements.csv", preset="nope")


# --------------------------------------------------------------------------- JSON Lines


def test_jsonl_fixture_reports_each_bad_line_by_number():
    drafts, errors = _split(read_statements(FIXTURES / "statements.jsonl"))
    assert [d.origin.rsplit(":", 1)[1] for d in drafts] == ["1", "3", "8"]
    assert [(e.line, e.field) for e in errors] == [(4, "text"), (5, None), (6, None), (7, "text")]
    assert "invalid JSON" in errors[1].reason
    assert "not an object" in errors[2].reason


def test_jsonl_keeps_unknown_keys_with_their_json_values():
    drafts, _ = _split(read_statements(FIXTURES / "statements.jsonl"))
    assert drafts[0].extra == {"shares": 41}
    assert drafts[2].extra == {"topics": ["energy", "gas"]}
    assert drafts[2].published_at == datetime(2021, 4, 3, 10, tzinfo=UTC)


def test_jsonl_keys_match_ignoring_case(tmp_path):
    drafts, _ = _split(read_statements(FIXTURES / "statements.jsonl"))
    assert drafts[1].text == "Spaces around the text are trimmed."
    assert drafts[1].published_at == datetime(2021, 4, 2, tzinfo=UTC)


def test_jsonl_number_as_external_id_becomes_text(tmp_path):
    (draft,) = read_statements(_write(tmp_path, "a.jsonl", '{"text": "x", "external_id": 12}\n'))
    assert draft.external_id == "12"


def test_jsonl_invalid_utf8_line_is_reported(tmp_path):
    data = b'{"text": "ok"}\n{"text": "caf\xe9"}\n{"text": "fine"}\n'
    drafts, errors = _split(read_statements(_write(tmp_path, "a.jsonl", data)))
    assert [d.text for d in drafts] == ["ok", "fine"]
    assert errors[0].line == 2 and "not valid UTF-8" in errors[0].reason


def test_jsonl_lone_surrogate_escape_is_refused(tmp_path):
    (error,) = read_statements(_write(tmp_path, "a.jsonl", '{"text": "bad \\udc80 char"}\n'))
    assert error.field == "text"


def test_jsonl_nan_is_not_json(tmp_path):
    (error,) = read_statements(_write(tmp_path, "a.jsonl", '{"text": "x", "score": NaN}\n'))
    assert "invalid JSON" in error.reason


def test_jsonl_deep_nesting_is_an_error_not_a_crash(tmp_path):
    data = '{"text": "x", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + '{"text": "y"}\n'
    drafts, errors = _split(read_statements(_write(tmp_path, "a.jsonl", data)))
    assert [d.text for d in drafts] == ["y"]
    assert errors[0].line == 1


def test_jsonl_fifty_megabyte_line_is_reported_and_the_following_lines_import(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"text": "before"}\n{"text": "')
        chunk = b"z" * (1024 * 1024)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b'"}\n{"text": "after"}\n')
    tracemalloc.start()
    try:
        drafts, errors = _split(read_statements(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [d.text for d in drafts] == ["before", "after"]
    assert [e.line for e in errors] == [2] and "longer than" in errors[0].reason
    assert peak < 10 * 1024 * 1024


# --------------------------------------------------------------------------- EUvsDisinfo preset


@pytest.fixture
def euvsdisinfo() -> Path:
    if not EUVSDISINFO.exists():
        pytest.skip(f"shared data set not found at {EUVSDISINFO} (set TRACKER_SHARED_DATA)")
    return EUVSDISINFO


def test_euvsdisinfo_every_row_gives_a_draft(euvsdisinfo):
    drafts, errors = _split(read_statements(euvsdisinfo, preset="euvsdisinfo"))
    assert errors == []
    assert len(drafts) == 7299
    assert len({d.external_id for d in drafts}) == 7299
    assert all(d.published_at is not None and d.published_at.tzinfo is UTC for d in drafts)


def test_euvsdisinfo_maps_title_id_date_and_first_outlet(euvsdisinfo):
    first = next(read_statements(euvsdisinfo, preset="euvsdisinfo"))
    assert first.text == "German special services helped Navalny"
    assert first.external_id == "https://euvsdisinfo.eu/report/german-special-services-helped-navalny/"
    assert first.published_at == datetime(2021, 2, 18, tzinfo=UTC)
    assert first.outlet == "TASS - Russian"
    assert first.extra["countries"] == ["Russia", "Germany"]
    assert first.extra["keywords"] == ["Alexei Navalny", "Vladimir Putin"]


def test_euvsdisinfo_drops_the_show_more_artefact(euvsdisinfo):
    drafts, _ = _split(read_statements(euvsdisinfo, preset="euvsdisinfo"))
    assert not any("Show more" in d.extra.get("outlets", []) for d in drafts)
    assert all(d.outlet != "Show more" for d in drafts)
    assert sum(1 for d in drafts if d.outlet) > 7000


def test_preset_applies_to_jsonl_too(tmp_path):
    line = '{"date": "2020-01-02", "id": "case-1", "title": "A claim", "outlets": "RT+Show more"}\n'
    (draft,) = read_statements(_write(tmp_path, "a.jsonl", line), preset="euvsdisinfo")
    assert (draft.text, draft.external_id, draft.outlet) == ("A claim", "case-1", "RT")
    assert draft.extra == {"outlets": ["RT"]}


def test_preset_with_a_telegram_export_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match="preset"):
        read_statements(_write(tmp_path, "result.json", "{}"), preset="euvsdisinfo")


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def _outcomes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            items = list(read_statements(path))
        except FileFormatError:
            return
        for item in items:
            assert isinstance(item, StatementDraft | RowError)
            if isinstance(item, StatementDraft):
                assert item.text and item.text == item.text.strip()
                assert item.published_at is None or item.published_at.utcoffset() == timedelta(0)
                item.text.encode("utf-8")
            else:
                assert item.line is not None and item.line >= 1


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_csv_random_bytes(data):
    _outcomes(data, ".csv")


@FUZZ
@given(st.text(alphabet='text,;"\n\r\x00é€ab 0123-:T+Z', max_size=400))
def test_fuzz_csv_structured_text(text):
    _outcomes(("text,published_at,actor_kind,url\n" + text).encode("utf-8", "surrogatepass"), ".csv")


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_jsonl_random_bytes(data):
    _outcomes(data, ".jsonl")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_records = st.dictionaries(
    st.sampled_from(
        ["text", "Text", "published_at", "actor_kind", "url", "language", "external_id", "other"]
    ),
    _json_values,
    max_size=6,
)


@FUZZ
@given(st.lists(_records | _json_values, max_size=8))
def test_fuzz_jsonl_random_records(records):
    import json

    _outcomes("\n".join(json.dumps(r) for r in records).encode(), ".jsonl")
