"""What the dashboard reads from a request: the filter form, days, numbers and page cursors.

Bad input is ignored (a filter that cannot be read is no filter), as a page should still render.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from flask import request, url_for

from tracker.service.statements import StatementFilter


def parse_day(value: str | None, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD form value as a UTC instant (the day's last instant for an inclusive end)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


def parse_int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def filter_from_request(*, with_text: bool = True) -> StatementFilter:
    args = request.args
    return StatementFilter(
        country=args.get("country"), actor=args.get("actor"), actor_id=parse_int(args.get("actor_id")),
        language=args.get("language"), since=parse_day(args.get("since")),
        until=parse_day(args.get("until"), end=True), narrative_id=parse_int(args.get("narrative_id")),
        q=args.get("q") if with_text else None)


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
