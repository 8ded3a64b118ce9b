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


#: What a job run's counts mean, in words: key -> (what one of it is called, plural).
COUNT_WORDS = {
    "sources": ("source fetched", "sources fetched"), "failed": ("failed", "failed"),
    "not_modified": ("unchanged feed", "unchanged feeds"), "inserted": ("new statement", "new statements"),
    "updated": ("statement updated", "statements updated"), "unchanged": ("statement already known",
                                                                        "statements already known"),
    "errors": ("bad row", "bad rows"), "embedded": ("statement embedded", "statements embedded"),
    "candidates": ("statement considered", "statements considered"), "assigned": ("placed", "placed"),
    "suggested": ("suggested", "suggested"), "unassigned": ("left unassigned", "left unassigned"),
    "statements": ("statement", "statements"), "clusters": ("cluster", "clusters"),
    "kept": ("narrative kept", "narratives kept"), "created": ("narrative created", "narratives created"),
    "split": ("split", "split"), "merged": ("merged", "merged"), "retired": ("retired", "retired"),
    "emerging_created": ("emerging narrative", "emerging narratives"), "refreshed": ("refreshed", "refreshed"),
    "pool": ("waiting in the pool", "waiting in the pool"),
}
_HIDDEN_COUNTS = ("pool_signature", "results", "previously_assigned", "kept_assignment")


def counts_text(counts: Any) -> list[str]:
    """A job run's counts as phrases ("3 sources fetched", "120 new statements", "embed: 118 statements
    embedded"): numbers with separators, timings and internal keys left out, stages named."""
    if not isinstance(counts, dict):
        return []
    out: list[str] = []
    for key, value in counts.items():
        if key in _HIDDEN_COUNTS or key.startswith("seconds"):
            continue
        if isinstance(value, dict):
            inner = counts_text(value)
            if inner:
                out.append(f"{key}: {', '.join(inner)}")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            one, many = COUNT_WORDS.get(key, (key.replace("_", " "), key.replace("_", " ")))
            out.append(f"{value:,} {one if value == 1 else many}" if isinstance(value, int) else f"{value:,.1f} {many}")
        elif key in ("mode", "model", "file", "reason"):
            out.append(f"{key} {str(value).rsplit('/', 1)[-1]}")
    return out


#: Audit actions as the activity log says them.
ACTION_WORDS = {
    "narrative.seed": "seeded a narrative", "narrative.update": "edited a narrative",
    "narrative.merge": "merged a narrative", "narrative.unmerge": "undid a merge", "narrative.split": "split a narrative",
    "narrative.move": "moved statements", "narrative.examples": "changed a seeded narrative's examples",
    "statement.confirm": "confirmed a statement", "statement.reject": "rejected a statement",
    "statement.reassign": "reassigned a statement", "statement.clear": "cleared a statement's tags",
    "statement.undo": "undid a decision", "statement.add": "added a statement", "statement.update": "updated a statement",
    "source.add": "added a source", "source.update": "edited a source", "source.pause": "paused a source",
    "source.enable": "resumed a source", "source.delete": "deleted a source", "actor.alias": "added a spelling",
    "actor.merge": "merged actors", "user.add": "added a user", "user.update": "changed a user",
    "token.issue": "issued an API token", "token.revoke": "revoked an API token",
}


def activity_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace(".", " ").replace("_", " "))


def activity_details(event: dict[str, Any]) -> str:
    """What an audit event changed, in a line: "into #4, 12 statements", "label: NATO expansion"."""
    new = event.get("new") if isinstance(event.get("new"), dict) else {}
    assert isinstance(new, dict)
    parts = []
    if "into" in new:
        moved = new.get("statement_ids")
        count = len(moved) if isinstance(moved, list) else new.get("statements")
        parts.append(f"into #{new['into']}" + (f", {count:,} statements" if isinstance(count, int) else ""))
    for key, value in new.items():
        if key in ("into", "statements", "statement_ids", "moved", "assignments") or value is None:
            continue
        if isinstance(value, str | int | float | bool):
            parts.append(f"{key.replace('_', ' ')}: {str(value)[:80]}")
        elif isinstance(value, list):
            parts.append(f"{key.replace('_', ' ')}: {len(value)}")
    return "; ".join(parts)[:300]


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """"1 statement", "2 statements": numbers on the pages agree with their nouns."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _asset_url(name: str) -> str:
    """``/assets/<name with its content hash>``: kept by browsers for a year, renamed when it changes."""
    return url_for("assets.asset", name=state().assets.url_path(name))


def register(app: Flask) -> None:
    app.jinja_env.globals["asset"] = _asset_url
    app.jinja_env.globals["plotly_map_style_id"] = lambda: state().assets.plotly_map_style_id()
    app.jinja_env.globals["plotly_bundle"] = lambda: state().assets.plotly
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = lambda v: _date(v, "%Y-%m-%d %H:%M UTC")
    app.jinja_env.filters["lag"] = human_lag
    app.jinja_env.filters["count_of"] = count_of
    app.jinja_env.filters["days"] = lambda seconds: count_of(round(seconds / 86400), "day")
    app.jinja_env.filters["reject_keys"] = _reject_keys
    app.jinja_env.filters["counts_text"] = counts_text
    app.jinja_env.filters["activity_words"] = activity_words
    app.jinja_env.filters["activity_details"] = activity_details
