"""A small hand-written corpus bundled with the package.

It lets a new user, a notebook or an end-to-end test run the whole pipeline (import, embed,
discover, timeline) without fetching anything. Each line is one statement; ``narrative_hint``
is gold provenance for evaluation and is ignored by the importer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS_FILENAME = "corpus.jsonl"


def corpus_path() -> Path:
    """Return the path of the bundled JSONL corpus (a file shipped inside this package)."""
    return Path(__file__).resolve().parent / CORPUS_FILENAME


def read_records(path: Path | None = None) -> list[dict[str, Any]]:
    """Read the corpus as plain dicts, one per line, for notebooks and tests.

    This is not the importer (that one is ``tracker.ingest.files``); it does no validation beyond
    JSON syntax and says which line broke when a line is not a JSON object.
    """
    source = path or corpus_path()
    records: list[dict[str, Any]] = []
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{source}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{source}:{number}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
    return records
