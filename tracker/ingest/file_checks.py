"""Whole-file problems: the one error that stops a file import, and the check made before reading.

Everything else that can go wrong in a researcher's file is reported per row as a RowError; this
module holds what refuses a file as a whole. It depends on nothing else in ``tracker.ingest`` so
the CSV reader, the Telegram reader and the public entry (``files``) can all share it.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # whole-file cap


class FileFormatError(Exception):
    """The file as a whole cannot be read (missing, unknown format, no text column, too big)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


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
