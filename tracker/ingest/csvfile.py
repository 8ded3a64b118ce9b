"""Read a CSV (or TSV) file into drafts and per-record RowErrors, recovering after broken records.

The header is read up front so a file without a usable header fails as a whole; after that each
record is parsed on its own, and a malformed or over-long record is reported with the physical
line it began on while reading resumes at the next record.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.file_checks import FileFormatError
from tracker.ingest.lines import physical_lines, too_long_error
from tracker.ingest.presets import Preset
from tracker.ingest.records import SURROGATE, build_draft, normalise_name


class _CsvLines:
    """The physical lines handed to csv.reader, with the bookkeeping needed to recover from errors.

    Tracks the physical line number where the current record began, replaces over-long lines,
    and after an error inside a quoted field skips to the line that closes it, so the next
    record does not start in the middle of the broken one.
    """

    def __init__(self, fh: IO[bytes], max_line_bytes: int) -> None:
        self._lines = physical_lines(fh, max_line_bytes)
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


def read_csv(path: Path, preset: Preset | None, max_line_bytes: int) -> Iterator[StatementDraft | RowError]:
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
                yield too_long_error(path, start, lines.long_lines[0], max_line_bytes)
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
    names = [normalise_name(cell) for cell in row]
    if any(SURROGATE.search(name) for name in names):
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
        if SURROGATE.search(cell):
            return RowError(where, line, "not valid UTF-8", name or None)
        if name:
            record[name] = cell
    if preset is not None:
        record = preset.transform(record)
    return build_draft(record, where, line)
