"""Telegram Desktop channel exports: one draft per text message, streamed."""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.files import FileFormatError, read_statements
from tracker.ingest.telegram import read_telegram_export

FIXTURE = Path(__file__).parent / "fixtures" / "files" / "telegram_channel.json"


def _split(items):
    items = list(items)
    return (
        [i for i in items if isinstance(i, StatementDraft)],
        [i for i in items if isinstance(i, RowError)],
    )


def _export(tmp_path: Path, messages: list, **header) -> Path:
    document = {"name": "Test Channel", "type": "public_channel", "id": 77, **header, "messages": messages}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _message(message_id: int, text, **fields) -> dict:
    return {"id": message_id, "type": "message", "date": "2021-02-01T12:00:00", "text": text, **fields}


def test_json_extension_is_read_as_a_telegram_export():
    drafts, errors = _split(read_statements(FIXTURE))
    assert [d.external_id for d in drafts] == [f"telegram:1500123456:{n}" for n in (2, 3, 5, 6, 8)]
    assert [(e.field, e.line) for e in errors] == [("text", 123)]


def test_service_and_empty_messages_are_skipped():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    ids = {d.extra["telegram_message_id"] for d in drafts}
    assert "1" not in ids and "4" not in ids


def test_outlet_is_the_channel_name():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    assert {d.outlet for d in drafts} == {"Example State Wire"}


def test_text_made_of_strings_and_entities_is_joined():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    labs = drafts[1]
    assert labs.text == (
        "Официально: западные лаборатории опять скрывают данные. Подробности: https://example.org/news/labs"
    )
    assert labs.extra["links"] == ["https://example.org/news/labs"]
    assert labs.actor == "Press Desk"


def test_text_link_targets_are_kept_as_links():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    assert drafts[2].text == "Read the full briefing here."
    assert drafts[2].extra["links"] == ["https://example.org/briefings/2021-02-03"]
    assert drafts[2].extra["telegram_forwarded_from"] == "Foreign Ministry Spokesperson"


def test_unix_time_gives_the_utc_date():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    assert drafts[0].published_at == datetime.fromtimestamp(1612182600, UTC)
    assert drafts[0].extra["telegram_date"] == "2021-02-01T12:30:00"


def test_local_date_without_unix_time_is_read_as_utc():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    assert drafts[3].published_at == datetime(2021, 2, 4, 7, tzinfo=UTC)


def test_origin_names_the_line_where_the_message_starts():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    for draft in drafts:
        number = int(draft.origin.rsplit(":", 1)[1])
        assert lines[number - 1].strip() == "{"
        assert f'"id": {draft.extra["telegram_message_id"]},' in lines[number]


def test_url_needs_a_known_username():
    drafts, _ = _split(read_telegram_export(FIXTURE))
    assert all(d.url is None for d in drafts)
    drafts, _ = _split(read_telegram_export(FIXTURE, username="@example_wire"))
    assert drafts[0].url == "https://t.me/example_wire/2"


def test_username_in_the_export_is_used(tmp_path):
    path = _export(tmp_path, [_message(9, "hello")], username="state_wire")
    (draft,) = read_telegram_export(path)
    assert draft.url == "https://t.me/state_wire/9"


def test_header_after_messages_is_still_found(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"messages": [_message(1, "hi")], "name": "Late", "id": 5}, sort_keys=True))
    (draft,) = read_telegram_export(path)
    assert (draft.outlet, draft.external_id) == ("Late", "telegram:5:1")


def test_message_that_is_not_an_object_is_a_row_error(tmp_path):
    path = _export(tmp_path, ["just a string", _message(2, "fine")])
    drafts, errors = _split(read_telegram_export(path))
    assert [d.text for d in drafts] == ["fine"]
    assert "not a JSON object" in errors[0].reason


def test_message_without_id_is_a_row_error(tmp_path):
    path = _export(tmp_path, [{"type": "message", "text": "no id"}])
    (error,) = read_telegram_export(path)
    assert error.field == "id"


def test_invalid_utf8_in_a_message_is_a_row_error(tmp_path):
    path = _export(tmp_path, [_message(1, "PLACEHOLDER"), _message(2, "good")])
    path.write_bytes(path.read_bytes().replace(b"PLACEHOLDER", b"caf\xe9"))
    drafts, errors = _split(read_telegram_export(path))
    assert [d.text for d in drafts] == ["good"]
    assert errors[0].field == "text" and "UTF-8" in errors[0].reason


def test_bom_is_accepted(tmp_path):
    path = _export(tmp_path, [_message(1, "hello")])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    (draft,) = read_telegram_export(path)
    assert draft.text == "hello"


def test_not_an_object_is_refused_at_once(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(FileFormatError, match="not a Telegram export"):
        read_telegram_export(path)


def test_full_account_export_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"about": "x", "chats": {"list": []}}))
    with pytest.raises(FileFormatError, match="full-account"):
        list(read_telegram_export(path))


def test_missing_channel_id_is_refused(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "x", "messages": [_message(1, "a")]}))
    with pytest.raises(FileFormatError, match="'id'"):
        list(read_telegram_export(path))


def test_truncated_file_yields_good_messages_then_names_the_line(tmp_path):
    path = _export(tmp_path, [_message(1, "first"), _message(2, "second")])
    data = path.read_text()
    path.write_text(data[: data.index('"second"')])
    items = []
    with pytest.raises(FileFormatError, match=r"line \d+"):
        for item in read_telegram_export(path):
            items.append(item)
    assert [i.text for i in items] == ["first"]


def test_file_over_the_cap_is_refused(tmp_path):
    path = _export(tmp_path, [_message(1, "hello")])
    with pytest.raises(FileFormatError, match="limit"):
        read_telegram_export(path, max_bytes=10)


def test_large_export_is_streamed(tmp_path):
    text = "Официальное заявление о ситуации в регионе. " * 20
    messages = [_message(n, text, date_unixtime=str(1612182600 + n)) for n in range(1, 20_001)]
    path = _export(tmp_path, messages)
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        count = 0
        for item in read_telegram_export(path):
            assert isinstance(item, StatementDraft)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 8 * 1024 * 1024


FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def _outcomes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.json"
        path.write_bytes(data)
        try:
            for item in read_telegram_export(path):
                assert isinstance(item, StatementDraft | RowError)
                if isinstance(item, StatementDraft):
                    item.text.encode("utf-8")
        except FileFormatError:
            pass


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data):
    _outcomes(data)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_bytes_after_a_valid_start(data):
    _outcomes(b'{"name": "x", "id": 1, "messages": [' + data)


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_messages = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers() | st.text(max_size=5) | _values,
        "type": st.sampled_from(["message", "service"]) | _values,
        "date": st.sampled_from(["2021-02-01T12:00:00", "garbage"]) | _values,
        "date_unixtime": st.sampled_from(["1612182600", "-99999999999999", "x"]) | st.integers() | _values,
        "text": st.text(max_size=30)
        | st.lists(st.text(max_size=10) | st.fixed_dictionaries({"type": st.just("link"), "text": _values}))
        | _values,
        "text_entities": _values,
        "author": _values,
    },
)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"messages": st.lists(_messages | _values, max_size=6)},
        optional={"id": _values, "name": _values, "username": _values},
    )
)
def test_fuzz_random_exports(document):
    _outcomes(json.dumps(document).encode())
