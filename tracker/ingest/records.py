"""Records -> drafts: check one record (column name -> value) and turn it into a StatementDraft.

Both file readers hand their rows here as plain dicts, so every field is checked the same way
whatever the format, and a bad field becomes a RowError naming it instead of stopping the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tracker.ingest.drafts import RowError, StatementDraft, is_web_url
from tracker.vocabulary import ACTOR_KINDS

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

SURROGATE = re.compile("[\ud800-\udfff]")
_LANGUAGE_CODE = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]+)?$")


def normalise_name(name: Any) -> str:
    return str(name).strip().lower()


def json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


class _Refused(Exception):
    def __init__(self, field_name: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def _clean_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Refused(name, f"expected text, got {json_type(value)}")
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_FIELD_CHARS:
        raise _Refused(name, f"field too large ({len(text):,} characters; the limit is {MAX_FIELD_CHARS:,})")
    if SURROGATE.search(text):
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
    if not is_web_url(value):
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
