"""What the dashboard reads from a request: the filter form, days, numbers, texts and page cursors.

A value that cannot be used is a 400 that names it (rendered in the site's layout), never a database
error: ids and numbers stay within what the columns hold, days within the years the API accepts,
texts within lengths a LIKE search can take. A malformed page cursor starts from the top.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from flask import request, url_for
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from tracker.service.statements import StatementFilter

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
ID = f"int(min=1, max={MAX_ID})"  # the URL converter of every id in a route
YEARS = (1900, 2200)  # the dates a filter may name
MAX_TEXT = 500  # characters of a search or a name filter


def parse_day(value: str | None, *, end: bool = False, field: str = "date") -> datetime | None:
    """A YYYY-MM-DD form value as a UTC instant (the day's last instant for an inclusive end)."""
    if not value or not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        raise BadRequest(f"{field}: {value[:20]!r} is not a date like 2022-03-09") from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise BadRequest(f"{field}: give a date between the years {YEARS[0]} and {YEARS[1]}")
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


def parse_int(value: str | None, field: str = "number") -> int | None:
    """A whole number from 1 to ``MAX_ID`` (None when not given)."""
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1 <= int(value[:12]) <= MAX_ID:
        raise BadRequest(f"{field} must be a whole number from 1 to {MAX_ID}")
    return int(value)


def arg_text(name: str, max_len: int = MAX_TEXT) -> str | None:
    """A text argument of at most ``max_len`` characters (a longer search is refused, not cut)."""
    value = request.args.get(name)
    if value is not None and len(value) > max_len:
        raise BadRequest(f"{name}: at most {max_len} characters, please")
    return value


def filter_from_request(*, with_text: bool = True) -> StatementFilter:
    args = request.args
    return StatementFilter(
        country=arg_text("country", 8), actor=arg_text("actor", 300), actor_id=parse_int(args.get("actor_id"), "actor_id"),
        language=arg_text("language", 12), since=parse_day(args.get("since"), field="since"),
        until=parse_day(args.get("until"), end=True, field="until"),
        narrative_id=parse_int(args.get("narrative_id"), "narrative_id"), q=arg_text("q") if with_text else None)


def encode_cursor(moment: str | None, row_id: int) -> str:
    return f"{moment or ''}~{row_id}"


def decode_cursor(value: str | None) -> tuple[str | None, int] | None:
    """``"<iso time or empty>~<id>"`` -> (time, id); anything malformed starts from the top."""
    if not value or "~" not in value:
        return None
    moment, _, row_id = value.rpartition("~")
    try:
        if moment:
            datetime.fromisoformat(moment)
        return (moment or None, int(row_id))
    except ValueError:
        return None


def next_page_url(endpoint: str, cursor: str, **values: Any) -> str:
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "after" and v}
    args.update(values)
    return url_for(endpoint, after=cursor, **args)


class RequestJSON(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply to parse is bad JSON (a 400, or ``None`` for
    ``get_json(silent=True)``) instead of a ``RecursionError`` and a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
