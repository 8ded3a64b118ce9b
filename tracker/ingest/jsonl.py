"""Read a JSON Lines file, one object per physical line, into drafts and per-line RowErrors.

Each line is decoded and parsed on its own, so a broken line (bad UTF-8, invalid JSON, not an
object, duplicate keys) is reported with its line number and the next line is read as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.lines import physical_lines, too_long_error
from tracker.ingest.presets import Preset, apply_preset
from tracker.ingest.records import build_draft, json_type, normalise_name


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_jsonl(path: Path, preset: Preset | None, max_line_bytes: int) -> Iterator[StatementDraft | RowError]:
    where = str(path)
    with path.open("rb") as fh:
        for number, (raw, too_long) in enumerate(physical_lines(fh, max_line_bytes), start=1):
            if too_long:
                yield too_long_error(path, number, number, max_line_bytes)
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
                yield RowError(where, number, f"JSON line is not an object (got {json_type(value)})")
                continue
            record: dict[str, Any] = {}
            duplicate = None
            for key, item in value.items():
                name = normalise_name(key)
                if name in record:
                    duplicate = name
                record[name] = item
            if duplicate is not None:
                yield RowError(where, number, "given twice (names differ only in case or spaces)", duplicate)
                continue
            yield build_draft(apply_preset(record, preset), where, number)
