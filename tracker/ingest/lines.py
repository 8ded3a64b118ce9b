"""Physical-line reading with a per-line byte cap, shared by the CSV and JSON Lines readers.

A stray 50 MB cell must not be held in memory: lines over the cap are drained and reported as a
RowError, and reading carries on with the next line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tracker.ingest.drafts import RowError

MAX_LINE_BYTES = 1024 * 1024  # one physical line; longer lines are skipped with a RowError

_BOM = b"\xef\xbb\xbf"
_CHUNK = 64 * 1024


def physical_lines(fh: IO[bytes], max_line_bytes: int) -> Iterator[tuple[bytes, bool]]:
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


def too_long_error(path: Path, start: int, long_line: int, max_line_bytes: int) -> RowError:
    which = "line" if start == long_line else f"line {long_line} of this record"
    return RowError(str(path), start, f"{which} is longer than {max_line_bytes:,} bytes; skipped")
