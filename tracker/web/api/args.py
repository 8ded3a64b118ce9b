"""Query-string arguments checked at the edge, and the keyset pages they ask for.

Every refusal is a 400 naming the argument, so the layers below only see well-typed values; the
text and time checks are shared with JSON bodies (``fields.py``), which refuse with a 422. Cursors
are opaque to clients but checked against the key shape of the listing that hands them out.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, time
from typing import Any

from flask import request

from tracker.web.api.blueprint import MAX_ID
from tracker.web.context import state
from tracker.web.errors import ApiError
from tracker.web.requests import YEARS

MAX_LIMIT = 200


def check_text(value: Any, field: str, *, max_len: int, status: int = 422) -> str:
    """A string of at most ``max_len`` characters that the database can store (no NUL, no lone surrogate)."""
    if not isinstance(value, str):
        raise ApiError(status, f"{field} must be a string", field=field)
    if "\x00" in value:
        raise ApiError(status, f"{field} must not contain NUL characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(status, f"{field} is not valid Unicode", field=field) from exc
    if len(value) > max_len:
        raise ApiError(status, f"{field} is longer than {max_len} characters", field=field)
    return value


def arg_str(name: str, *, max_len: int = 200) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    value = check_text(value, name, max_len=max_len, status=400).strip()
    return value or None


def arg_int(name: str, *, lo: int = 1, hi: int = MAX_ID, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer", field=name) from exc
    if not lo <= value <= hi:
        raise ApiError(400, f"{name} must be between {lo} and {hi}", field=name)
    return value


def arg_choice(name: str, choices: tuple[str, ...]) -> str | None:
    value = arg_str(name)
    if value is not None and value not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def arg_bool(name: str) -> bool | None:
    value = arg_str(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ApiError(400, f"{name} must be true or false", field=name)


def parse_time(value: str, field: str, *, end_of_day: bool = False, status: int = 400) -> datetime:
    """An ISO date or date-time; no zone means UTC; a bare date until= means the end of that day."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            parsed = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value)
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ApiError(status, f"{field} must be an ISO date or date-time, e.g. 2021-03-02T10:00:00Z",
                       field=field) from exc
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ApiError(status, f"{field} must be between the years {YEARS[0]} and {YEARS[1]}", field=field)
    return parsed


def arg_time(name: str, *, end_of_day: bool = False) -> datetime | None:
    value = arg_str(name, max_len=40)
    return None if value is None else parse_time(value, name, end_of_day=end_of_day)


def edge_limit_arg() -> int | None:
    """``edges``: how many of a timeline's heaviest actor edges to send; ``all`` for every one."""
    from tracker.service.narratives import DEFAULT_EDGE_LIMIT

    if request.args.get("edges") == "all":
        return None
    return arg_int("edges", lo=0, hi=MAX_ID, default=DEFAULT_EDGE_LIMIT)


def limit_arg(default: int | None = None) -> int:
    return arg_int("limit", lo=1, hi=MAX_LIMIT, default=default or state().config.web.page_size) or 1


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(kind: str) -> Any:
    """The ``cursor`` argument checked against the key shape of this listing (``time``, ``name`` or ``id``)."""
    raw = arg_str("cursor", max_len=500)
    if raw is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
        if kind == "id":
            if isinstance(key, int) and not isinstance(key, bool) and 0 < key <= MAX_ID:
                return key
        elif isinstance(key, list) and len(key) == 2 and isinstance(key[1], int) and 0 < key[1] <= MAX_ID + 1:
            if kind == "name" and isinstance(key[0], str):
                return key[0], key[1]
            if kind == "time" and (key[0] is None or (isinstance(key[0], str)
                                                      and parse_time(key[0], "cursor") is not None)):
                return key[0], key[1]
    except (binascii.Error, ValueError, UnicodeDecodeError, ApiError):
        pass
    raise ApiError(400, "cursor is not one this listing handed out", field="cursor")


def page(items: list[dict[str, Any]], limit: int, key: Any) -> dict[str, Any]:
    """The page document: at most ``limit`` items and the cursor of the next page (or null)."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": encode_cursor(key(items[-1])) if more and items else None}


def time_key(field: str) -> Any:
    return lambda item: [item[field], item["id"]]
