"""Import a Telegram Desktop channel export (``result.json``) as statement drafts.

State media and officials publish heavily on Telegram; researchers hand us the JSON that
Telegram Desktop writes for one channel. The file is read as a stream, one message object at a
time, so a large export never has to sit in memory as a whole document.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.file_checks import DEFAULT_MAX_BYTES, FileFormatError, check_file
from tracker.ingest.records import build_draft, parse_timestamp, shorten

logger = logging.getLogger(__name__)

MAX_VALUE_CHARS = 16 * 1024 * 1024  # one message (or one top-level value) may not exceed this
_CHUNK = 256 * 1024
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_WHITESPACE = " \t\n\r"


class _Stream:
    """A forward-only JSON reader over a text file that knows the current line number."""

    def __init__(self, path: Path, fh: IO[str]) -> None:
        self.path = path
        self.fh = fh
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.decoder = json.JSONDecoder(parse_constant=self._reject_constant)

    @staticmethod
    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def fail(self, reason: str) -> FileFormatError:
        return FileFormatError(self.path, f"line {self.line}: {reason}")

    def _fill(self) -> bool:
        if self.eof:
            return False
        if self.pos:
            self.buf = self.buf[self.pos :]
            self.pos = 0
        chunk = self.fh.read(max(_CHUNK, len(self.buf)))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def peek(self) -> str:
        """The next non-blank character ("" at the end of the file), without consuming it."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                if self.buf[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, allowed: str) -> str:
        char = self.peek()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            raise self.fail(f"expected {' or '.join(repr(c) for c in allowed)}, found {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode the next JSON value, reading more of the file until it is complete."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except (ValueError, RecursionError) as exc:
                if self._maybe_incomplete(exc):
                    if len(self.buf) - self.pos > MAX_VALUE_CHARS:
                        raise self.fail(
                            f"invalid JSON, or a value larger than {MAX_VALUE_CHARS:,} characters"
                        ) from None
                    if self._fill():
                        continue
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "nested too deeply"
                raise self.fail(f"invalid JSON: {reason}") from None
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self.buf) and self._fill():
                continue
            self._advance(end)
            return value

    def _maybe_incomplete(self, exc: Exception) -> bool:
        """Whether a decoding error may only mean that the value continues past the buffer."""
        if not isinstance(exc, json.JSONDecodeError):
            return False  # deep nesting or NaN/Infinity: more data would not help
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 12

    def opens_empty(self, start: str, end: str) -> bool:
        """Consume a container's opening bracket; True when it is empty (the closing one is consumed too)."""
        self.expect(start)
        if self.peek() == end:
            self.pos += 1
            return True
        return False

    def array(self) -> Iterator[tuple[int, Any]]:
        """Yield (line, element) for each element of the array that starts here."""
        if self.opens_empty("[", "]"):
            return
        while True:
            self.peek()
            line = self.line
            yield line, self.value()
            if self.expect(",]") == "]":
                return


_MESSAGES = object()


def _top_level(stream: _Stream) -> Iterator[tuple[str, Any]]:
    """Yield (key, value) for the top-level object; for "messages" the value is _MESSAGES and the
    caller must consume ``stream.array()`` before asking for the next key."""
    if stream.opens_empty("{", "}"):
        return
    while True:
        stream.peek()
        key = stream.value()
        if not isinstance(key, str):
            raise stream.fail("expected a key")
        stream.expect(":")
        if key == "messages" and stream.peek() == "[":
            yield key, _MESSAGES
        else:
            yield key, stream.value()
        if stream.expect(",}") == "}":
            break
    if stream.peek():
        raise stream.fail("unexpected data after the end of the export")


def _open(path: Path) -> IO[str]:
    return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")


def _read_header(path: Path) -> dict[str, Any]:
    """A second pass for the rare file whose channel name/id come after its messages."""
    header: dict[str, Any] = {}
    with _open(path) as fh:
        stream = _Stream(path, fh)
        for key, value in _top_level(stream):
            if value is _MESSAGES:
                for _ in stream.array():
                    pass
            else:
                header[key] = value
    return header


def read_telegram_export(
    path: Path, username: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[StatementDraft | RowError]:
    """Yield a draft per text message of a channel export, a RowError per malformed message.

    Service messages and messages without text are skipped. A file that is not a channel export
    raises FileFormatError: at once when it does not start like one, or where the JSON breaks.
    """
    path = Path(path)
    check_file(path, max_bytes)
    fh = _open(path)
    try:
        first = _Stream(path, fh).peek()
    except (OSError, UnicodeError) as exc:
        fh.close()
        raise FileFormatError(path, f"cannot read: {exc}") from None
    if first != "{":
        fh.close()
        raise FileFormatError(path, "not a Telegram export: expected a JSON object (result.json)")
    fh.seek(0)
    return _messages(path, fh, username)


def _messages(path: Path, fh: IO[str], username: str | None) -> Iterator[StatementDraft | RowError]:
    where = str(path)
    header: dict[str, Any] = {}
    counts = {"drafts": 0, "errors": 0, "skipped": 0}
    found = False
    with fh:
        stream = _Stream(path, fh)
        for key, value in _top_level(stream):
            if value is not _MESSAGES:
                header[key] = value
                continue
            found = True
            if "id" not in header or "name" not in header:
                header = {**_read_header(path), **header}
            channel = _Channel.from_header(path, header, username)
            for line, message in stream.array():
                item = _message_draft(message, channel, where, line)
                if item is None:
                    counts["skipped"] += 1
                    continue
                counts["errors" if isinstance(item, RowError) else "drafts"] += 1
                yield item
    if not found:
        hint = " (a full-account export? export one channel instead)" if "chats" in header else ""
        raise FileFormatError(path, f"no 'messages' list at the top level{hint}")
    logger.info(
        "%s: %d statements, %d row errors, %d service or empty messages skipped",
        path,
        counts["drafts"],
        counts["errors"],
        counts["skipped"],
    )


@dataclasses.dataclass(frozen=True)
class _Channel:
    id: str
    name: str | None
    username: str | None

    @classmethod
    def from_header(cls, path: Path, header: dict[str, Any], username: str | None) -> _Channel:
        channel_id = header.get("id")
        if (
            isinstance(channel_id, bool)
            or not isinstance(channel_id, int | str)
            or not str(channel_id).strip()
        ):
            raise FileFormatError(
                path, "no channel 'id' at the top level; is this a Telegram channel export?"
            )
        name = header.get("name")
        if not isinstance(name, str) or not name.strip() or re.search("[\ud800-\udfff\x00]", name):
            logger.warning("%s: the channel has no usable name; outlet left empty", path)
            name = None
        given = username or header.get("username")
        if isinstance(given, str):
            given = given.strip().removeprefix("@")
        if not isinstance(given, str) or not _USERNAME.match(given):
            given = None
        return cls(str(channel_id).strip(), name.strip() if name else None, given)


def _flatten(value: Any) -> str:
    """Telegram text: a string, or a list of strings and entity objects each with a "text"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
                parts.append(part.get("text", ""))
            else:
                raise ValueError("a text part that is neither a string nor an entity with text")
        return "".join(parts)
    raise ValueError(f"text is a {type(value).__name__}, expected a string or a list")


def _links(message: dict[str, Any]) -> list[str]:
    entities = message.get("text_entities")
    if not isinstance(entities, list):
        text = message.get("text")
        entities = text if isinstance(text, list) else []
    links: list[str] = []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        target = entity.get("href") if entity.get("type") == "text_link" else None
        if entity.get("type") == "link":
            target = entity.get("text")
        if isinstance(target, str) and target and target not in links:
            links.append(target)
    return links


def _when(message: dict[str, Any]) -> datetime | None:
    unix = message.get("date_unixtime")
    if isinstance(unix, str | int) and not isinstance(unix, bool):
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (ValueError, OverflowError, OSError):
            pass
    local = message.get("date")
    if isinstance(local, str):
        # Without date_unixtime only the exporting computer's local time is known; read it as UTC.
        return parse_timestamp(local.strip())
    return None


def _message_draft(
    message: Any, channel: _Channel, where: str, line: int
) -> StatementDraft | RowError | None:
    if not isinstance(message, dict):
        return RowError(where, line, "message is not a JSON object")
    if message.get("type", "message") != "message":
        return None
    message_id = message.get("id")
    if isinstance(message_id, bool) or not isinstance(message_id, int | str) or not str(message_id).strip():
        return RowError(where, line, "missing or invalid message id", "id")
    message_id = str(message_id).strip()
    try:
        text = _flatten(message.get("text"))
        if not text.strip():
            text = _flatten(message.get("text_entities"))
    except ValueError as exc:
        return RowError(where, line, str(exc), "text")
    if not text.strip():
        return None
    try:
        published_at = _when(message)
    except (ValueError, OverflowError):
        return RowError(where, line, f"unparseable date {shorten(str(message.get('date')))!r}", "date")
    extra: dict[str, Any] = {"telegram_message_id": message_id}
    for key in ("from", "from_id", "forwarded_from", "reply_to_message_id", "edited", "date", "media_type"):
        if message.get(key) not in (None, ""):
            extra[f"telegram_{key}"] = message[key]
    links = _links(message)
    if links:
        extra["links"] = links
    url = (
        f"https://t.me/{channel.username}/{message_id}" if channel.username and message_id.isdigit() else None
    )
    record = {
        "text": text,
        "external_id": f"telegram:{channel.id}:{message_id}",
        "outlet": channel.name,
        "actor": message.get("author"),
        "url": url,
        **extra,
    }
    draft = build_draft(record, where, line)
    if isinstance(draft, RowError):
        return draft
    return dataclasses.replace(draft, published_at=published_at)
