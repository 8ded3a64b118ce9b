"""Import statements from researchers' files: CSV, JSON Lines and Telegram exports.

Files come from outside and are often messy (spreadsheet exports, mixed encodings, a stray
50 MB cell), so reading is streamed and every problem is reported per row with its line number
while the good rows still come through. Only whole-file problems raise ``FileFormatError``.

This module is the public entry: it picks the format and preset and hands the file to its
reader. The work lives next door: ``file_checks`` (whole-file problems), ``presets``, ``lines``
(the per-line cap), ``jsonl`` and ``csvfile`` (the readers) and ``records`` (record -> draft).
``FileFormatError`` and ``MAX_FIELD_CHARS`` are re-exported for callers that import them from here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from tracker.ingest.csvfile import read_csv
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.file_checks import DEFAULT_MAX_BYTES, FileFormatError, check_file
from tracker.ingest.jsonl import read_jsonl
from tracker.ingest.lines import MAX_LINE_BYTES
from tracker.ingest.presets import PRESETS, Preset
from tracker.ingest.records import MAX_FIELD_CHARS

# What callers import from here (the readers' own names live in their modules).
__all__ = ["DEFAULT_MAX_BYTES", "MAX_FIELD_CHARS", "FileFormatError", "check_file", "read_statements"]

logger = logging.getLogger(__name__)

_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "telegram"}
_FORMATS = frozenset(_EXTENSIONS.values())


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
        return _counted(path, read_jsonl(path, chosen, max_line_bytes))
    return _counted(path, read_csv(path, chosen, max_line_bytes))


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


def _counted(path: Path, items: Iterator[StatementDraft | RowError]) -> Iterator[StatementDraft | RowError]:
    drafts = errors = 0
    for item in items:
        if isinstance(item, RowError):
            errors += 1
        else:
            drafts += 1
        yield item
    logger.info("%s: %d statements, %d row errors", path, drafts, errors)
