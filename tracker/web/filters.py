"""Jinja filters for dates and numbers (all output stays autoescaped)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def _date(value: str | datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return "undated"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = lambda v: _date(v, "%Y-%m-%d %H:%M UTC")
