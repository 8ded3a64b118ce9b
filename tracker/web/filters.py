"""Jinja filters for dates, numbers, lags and query arguments (all output stays autoescaped), and the
globals that name static assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, url_for

from tracker.web.charts import human_lag
from tracker.web.context import state


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


def _asset_url(name: str) -> str:
    """``/assets/<name with its content hash>``: kept by browsers for a year, renamed when it changes."""
    return url_for("assets.asset", name=state().assets.url_path(name))


def register(app: Flask) -> None:
    app.jinja_env.globals["asset"] = _asset_url
    app.jinja_env.globals["plotly_map_style_id"] = lambda: state().assets.plotly_map_style_id()
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = lambda v: _date(v, "%Y-%m-%d %H:%M UTC")
    app.jinja_env.filters["lag"] = human_lag
    app.jinja_env.filters["reject_keys"] = _reject_keys
