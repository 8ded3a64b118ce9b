"""Jinja filters for dates, numbers, lags and query arguments (all output stays autoescaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from tracker.web.charts import human_lag


def _date(value: str | datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return "undated"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime(fmt)
        except ValueError:
            return value
    return value.strftime(fmt)


def _reject_keys(args: Any, *keys: str) -> dict[str, str]:
    """Query arguments without some keys (and without empty values), for links like "first page"."""
    return {k: v for k, v in args.items() if k not in keys and v}


def register(app: Flask) -> None:
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = lambda v: _date(v, "%Y-%m-%d %H:%M UTC")
    app.jinja_env.filters["lag"] = human_lag
    app.jinja_env.filters["reject_keys"] = _reject_keys
