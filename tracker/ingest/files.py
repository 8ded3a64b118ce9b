"""Import statements from researchers' files: CSV, JSON Lines and Telegram exports.

Files come from outside and are often messy (spreadsheet exports, mixed encodings, a stray
50 MB cell), so reading is streamed and every problem is reported per row with its line number
while the good rows still come through. Only whole-file problems raise ``FileFormatError``.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tracker.ingest.drafts import ACTOR_KINDS, RowError, StatementDraft

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # whole-file cap
MAX_LINE_BYTES = 1024 * 1024  # one physical line; longer lines are skipped with a RowError
# Same as the csv module's default field limit, applied to every field of every format.
MAX_FIELD_CHARS = 131_072

STRING_FIELDS = (
    "text",
    "external_id",
    "actor",
    "actor_kind",
    "outlet",
    "country",
    "language",
    "url",
    "title",
    "context",
)
KNOWN_FIELDS = frozenset(STRING_FIELDS) | {"published_at"}

_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "telegram"}
_FORMATS = frozenset(_EXTENSIONS.values())
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")
_LANGUAGE_CODE = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]+)?$")
_CHUNK = 64 * 1024


class FileFormatError(Exception):
    """The file as a whole cannot be read (missing, unknown format, no text column, too big)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# --------------------------------------------------------------------------- presets


def _split_plus(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split("+") if part.strip()]


def _euvsdisinfo(record: dict[str, Any]) -> dict[str, Any]:
    """EUvsDisinfo's scrape: `+`-joined lists, a 'Show more' artefact in outlets, English titles."""
    for column in ("countries", "keywords", "languages"):
        if column in record:
            record[column] = _split_plus(record[column])
    if "outlets" in record:
        outlets = [o for o in _split_plus(record["outlets"]) if o.casefold() != "show more"]
        record["outlets"] = outlets
        record.setdefault("outlet", outlets[0] if outlets else None)
    # The text is EUvsDisinfo's English paraphrase of the claim, whatever language it appeared in.
    record.setdefault("language", "en")
    return record


@dataclass(frozen=True)
class Preset:
    """How a known third-party file maps onto our columns."""

    rename: Mapping[str, str]
    transform: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda record: record)


PRESETS: dict[str, Preset] = {
    "euvsdisinfo": Preset(
        rename={"title": "text", "id": "external_id", "date": "published_at"},
        transform=_euvsdisinfo,
    ),
}


# --------------------------------------------------------------------------- public entry


def read_statements(
    path: Path,
    fmt: str | None = None,
    preset: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[StatementDraft | RowError]:
    """Yield a draft for each good record of `path` and a RowError for each bad one.

    Whole-file problems (missing file, unknown format, file over `max_bytes`, a CSV without a
    text column) raise FileFormatError here, before the first item is read.
    """
    path = Path(path)
    kind = _resolve_format(path, fmt)
    chosen = _resolve_preset(path, preset)
    check_file(path, max_bytes)
    if kind == "telegram":
        if chosen is not None:
            raise FileFormatError(path, "presets apply to CSV and JSON Lines files, not Telegram exports")
        from tracker.ingest.telegram import read_telegram_export

        return read_telegram_export(path, max_bytes=max_bytes)
    if kind == "jsonl":
        return _counted(path, _read_jsonl(path, chosen, max_line_bytes))
    return _counted(path, _read_csv(path, chosen, max_line_bytes))


def _resolve_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        kind = fmt.strip().lower()
        if kind == "json":
            kind = "telegram"
        if kind not in _FORMATS:
            raise FileFormatError(path, f"unknown format {fmt!r}; expected one of csv, jsonl, telegram")
        return kind
    guessed = _EXTENSIONS.get(path.suffix.lower())
    if guessed is None:
        raise FileFormatError(
            path, f"cannot tell the format from extension {path.suffix!r}; use .csv, .jsonl, .ndjson or .json"
        )
    return guessed


def _resolve_preset(path: Path, preset: str | None) -> Preset | None:
    if preset is None:
        return None
    try:
        return PRESETS[preset.strip().lower()]
    except KeyError:
        raise FileFormatError(
            path, f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None


def check_file(path: Path, max_bytes: int) -> None:
    """Refuse, as a whole, a file that is missing, not a regular file, or over `max_bytes`."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileFormatError(path, "no such file") from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise FileFormatError(path, "not a regular file")
    if info.st_size > max_bytes:
        raise FileFormatError(path, f"file is {info.st_size:,} bytes; the limit is {max_bytes:,}")


def _counted(path: Path, items: Iterator[StatementDraft | RowError]) -> Iterator[StatementDraft | RowError]:
    drafts = errors = 0
    for item in items:
        if isinstance(item, RowError):
            errors += 1
        else:
            drafts += 1
        yield item
    logger.info("%s: %d statements, %d row errors", path, drafts, errors)


# --------------------------------------------------------------------------- physical lines


def _physical_lines(fh: IO[bytes], max_line_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (line, too_long) for each physical line, never holding more than `max_line_bytes`.

    A line over the cap is drained in chunks and given back with too_long=True as b"" (or b'"'
    when it held an odd number of quotes, so a CSV parser's quoting state stays right), and the
    caller can report it and carry on with the next line.
    """
    first = True
    while True:
        line = fh.readline(max_line_bytes + 1)
        if not line:
            return
        if first:
            first = False
            if line.startswith(_BOM):
                line = line[len(_BOM) :]
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            quotes = line.count(b'"')
            while True:
                rest = fh.readline(_CHUNK)
                quotes += rest.count(b'"')
                if not rest or rest.endswith(b"\n"):
                    break
            yield b'"' * (quotes % 2), True
        else:
            yield line, False


def _too_long(path: Path, start: int, long_line: int, max_line_bytes: int) -> RowError:
    which = "line" if start == long_line else f"line {long_line} of this record"
    return RowError(str(path), start, f"{which} is longer than {max_line_bytes:,} bytes; skipped")


# --------------------------------------------------------------------------- JSON Lines


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_jsonl(
    path: Path, preset: Preset | None, max_line_bytes: int
) -> Iterator[StatementDraft | RowError]:
    where = str(path)
    with path.open("rb") as fh:
        for number, (raw, too_long) in enumerate(_physical_lines(fh, max_line_bytes), start=1):
            if too_long:
                yield _too_long(path, number, number, max_line_bytes)
                continue
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RowError(
                    where, number, f"not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start})"
                )
                continue
            try:
                value = json.loads(line, parse_constant=_reject_constant)
            except json.JSONDecodeError as exc:
                yield RowError(where, number, f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            except (ValueError, RecursionError) as exc:
                reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                yield RowError(where, number, f"invalid JSON: {reason}")
                continue
            if not isinstance(value, dict):
                yield RowError(where, number, f"JSON line is not an object (got {_json_type(value)})")
                continue
            record: dict[str, Any] = {}
            duplicate = None
            for key, item in value.items():
                name = _normalise_name(key)
                if name in record:
                    duplicate = name
                record[name] = item
            if duplicate is not None:
                yield RowError(where, number, "given twice (names differ only in case or spaces)", duplicate)
                continue
            yield build_draft(_apply_preset(record, preset), where, number)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


# --------------------------------------------------------------------------- CSV


class _CsvLines:
    """The physical lines handed to csv.reader, with the bookkeeping needed to recover from errors.

    Tracks the physical line number where the current record began, replaces over-long lines,
    and after an error inside a quoted field skips to the line that closes it, so the next
    record does not start in the middle of the broken one.
    """

    def __init__(self, fh: IO[bytes], max_line_bytes: int) -> None:
        self._lines = _physical_lines(fh, max_line_bytes)
        self.line = 0  # physical number of the last line read
        self.record_start: int | None = None
        self.long_lines: list[int] = []
        self._quotes = 0  # '"' characters since the current record began
        self._resync = False

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        while True:
            raw, too_long = next(self._lines)
            self.line += 1
            if self._resync:
                if raw.count(b'"') % 2:
                    self._resync = False
                continue
            if too_long:
                self.long_lines.append(self.line)
                text = raw.decode() + "\n"
            else:
                # Undecodable bytes survive as lone surrogates and are reported per record.
                text = raw.decode("utf-8", errors="surrogateescape")
            if self.record_start is None:
                self.record_start = self.line
            self._quotes += text.count('"')
            return text

    def start_record(self) -> None:
        self.record_start = None
        self._quotes = 0
        self.long_lines.clear()

    def abandon_record(self) -> None:
        """After a parse error: if the record stopped inside quotes, skip to where they close."""
        self._resync = self._quotes % 2 == 1


def _read_csv(path: Path, preset: Preset | None, max_line_bytes: int) -> Iterator[StatementDraft | RowError]:
    """Read the header now (so header problems raise at once) and return the rows as a stream."""
    fh = path.open("rb")
    try:
        lines = _CsvLines(fh, max_line_bytes)
        first = next(lines, None)
        if first is None or not first.strip():
            raise FileFormatError(path, "empty file or empty first line; expected a header row")
        delimiter = max(",;\t|", key=first.count)
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
        header = _read_header(path, reader, preset, lines.long_lines)
    except BaseException:
        fh.close()
        raise
    return _csv_rows(path, fh, reader, lines, header, preset, max_line_bytes)


def _csv_rows(
    path: Path,
    fh: IO[bytes],
    reader: Iterator[list[str]],
    lines: _CsvLines,
    header: list[str],
    preset: Preset | None,
    max_line_bytes: int,
) -> Iterator[StatementDraft | RowError]:
    where = str(path)
    with fh:
        while True:
            lines.start_record()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.abandon_record()
                yield RowError(where, lines.record_start or lines.line, f"malformed CSV: {exc}")
                continue
            start = lines.record_start or lines.line
            if lines.long_lines:
                yield _too_long(path, start, lines.long_lines[0], max_line_bytes)
                continue
            if not row or not any(cell.strip() for cell in row):
                continue
            yield _csv_row(header, row, preset, where, start)


def _read_header(
    path: Path, reader: Iterable[list[str]], preset: Preset | None, long_lines: list[int]
) -> list[str]:
    try:
        row = next(iter(reader))
    except csv.Error as exc:
        raise FileFormatError(path, f"unreadable header row: {exc}") from None
    if long_lines:
        raise FileFormatError(path, "the header row is longer than the line limit")
    names = [_normalise_name(cell) for cell in row]
    if any(_SURROGATE.search(name) for name in names):
        raise FileFormatError(path, "the header row is not valid UTF-8")
    renamed = [(preset.rename.get(name, name) if preset else name) for name in names]
    seen: set[str] = set()
    for name in renamed:
        if name and name in seen:
            raise FileFormatError(path, f"column {name!r} appears more than once in the header")
        seen.add(name)
    if "text" not in seen:
        found = ", ".join(repr(cell.strip()) for cell in row) or "none"
        raise FileFormatError(path, f"no 'text' column; found columns: {found}")
    return renamed


def _csv_row(
    header: list[str], row: list[str], preset: Preset | None, where: str, line: int
) -> StatementDraft | RowError:
    if len(row) > len(header):
        return RowError(where, line, f"row has {len(row)} values but the header has {len(header)} columns")
    record: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=False):
        if _SURROGATE.search(cell):
            return RowError(where, line, "not valid UTF-8", name or None)
        if name:
            record[name] = cell
    if preset is not None:
        record = preset.transform(record)
    return build_draft(record, where, line)


# --------------------------------------------------------------------------- records -> drafts


def _normalise_name(name: Any) -> str:
    return str(name).strip().lower()


def _apply_preset(record: dict[str, Any], preset: Preset | None) -> dict[str, Any]:
    if preset is None:
        return record
    renamed = {preset.rename.get(key, key): value for key, value in record.items()}
    return preset.transform(renamed)


class _Refused(Exception):
    def __init__(self, field_name: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def _clean_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Refused(name, f"expected text, got {_json_type(value)}")
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_FIELD_CHARS:
        raise _Refused(name, f"field too large ({len(text):,} characters; the limit is {MAX_FIELD_CHARS:,})")
    if _SURROGATE.search(text):
        raise _Refused(name, "not valid UTF-8 (undecodable bytes or a lone surrogate)")
    if "\x00" in text:
        raise _Refused(name, "contains NUL characters (binary data?)")
    return text


def shorten(value: str, limit: int = 60) -> str:
    """A value cut to `limit` characters for an error message."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 date or datetime -> UTC-aware datetime (dates are midnight UTC, naive times are UTC)."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _clean_when(value: Any) -> datetime | None:
    text = _clean_text("published_at", value)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError):
        raise _Refused(
            "published_at",
            f"unparseable date {shorten(text)!r}; expected ISO 8601 such as 2021-02-18T10:30:00+03:00",
        ) from None


def _clean_actor_kind(value: str | None) -> str | None:
    if value is None:
        return None
    kind = re.sub(r"[\s-]+", "_", value.lower())
    if kind not in ACTOR_KINDS:
        raise _Refused(
            "actor_kind", f"unknown actor kind {shorten(value)!r}; expected one of {', '.join(ACTOR_KINDS)}"
        )
    return kind


def _clean_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"^https?://[^\s/]", value, re.IGNORECASE) or re.search(r"\s", value):
        raise _Refused("url", f"not an http(s) URL: {shorten(value)!r}")
    return value


def _clean_extra(record: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key in KNOWN_FIELDS or value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str):
            extra[key] = _clean_text(key, value)
            continue
        try:
            json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
            raise _Refused(key, "cannot be kept as JSON (lone surrogate or non-finite number)") from None
        extra[key] = value
    return extra


def build_draft(record: Mapping[str, Any], where: str, line: int | None) -> StatementDraft | RowError:
    """Turn one record (column name -> value) into a draft, or the RowError naming the bad field."""
    try:
        values = {name: _clean_text(name, record.get(name)) for name in STRING_FIELDS}
        published_at = _clean_when(record.get("published_at"))
        if values["text"] is None:
            reason = (
                "empty text" if "text" in record else f"no 'text' field; found: {', '.join(sorted(record))}"
            )
            raise _Refused("text", shorten(reason, 200))
        values["actor_kind"] = _clean_actor_kind(values["actor_kind"])
        values["url"] = _clean_url(values["url"])
        extra = _clean_extra(record)
    except _Refused as refused:
        return RowError(where, line, refused.reason, refused.field_name)
    language = values["language"]
    if language is not None:
        match = _LANGUAGE_CODE.match(language.lower())
        if match is None:
            # Not a code (e.g. "Russian"): keep what was given, let detection fill it in later.
            extra.setdefault("language_given", language)
            language = None
        else:
            language = match.group(1)
    text = values.pop("text")
    assert text is not None
    values["language"] = language
    origin = where if line is None else f"{where}:{line}"
    return StatementDraft(text=text, published_at=published_at, origin=origin, extra=extra, **values)
