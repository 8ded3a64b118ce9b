"""What the dashboard draws: sparklines and bar charts as inline SVG, and the narrative page's chart data
for plotly.js (served offline from the installed plotly wheel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

CHART_EDGES = 400  # heaviest links drawn in the amplification graph
CHART_ACTORS = 150  # earliest actors drawn besides those the drawn links need
HOVER_CHARS = 200  # of a statement's text in its chart hover (a click opens the statement)
SPARK_BINS = 40


def human_lag(seconds: float | None) -> str:
    """3 d 4 h, 5 h 12 min, 40 s: the two largest units, for lags and gaps."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def histogram(dates: list[datetime], start: datetime, end: datetime, bins: int = SPARK_BINS) -> list[int]:
    """How many of ``dates`` (UTC) fall in each of ``bins`` equal spans from ``start`` to ``end``."""
    counts = [0] * bins
    span = max((end - start).total_seconds(), 1.0)
    for d in dates:
        i = int((d - start).total_seconds() / span * bins)
        if 0 <= i <= bins:  # outside the axis: not drawn
            counts[min(i, bins - 1)] += 1
    return counts


def sparkline_points(counts: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for counts (numbers only, so safe inside an attribute)."""
    if not counts:
        return ""
    top = max(max(counts), 1)
    step = width / max(len(counts) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 1 - c / top * (height - 2):.1f}" for i, c in enumerate(counts))


def bars(counts: list[int], width: int = 600, height: int = 80) -> list[dict[str, float]]:
    """Rectangles of a bar chart (x, y, w, h) for an inline SVG."""
    top = max(max(counts, default=0), 1)
    w = width / max(len(counts), 1)
    return [{"x": round(i * w, 2), "w": round(max(w - 1, 0.5), 2), "h": round(c / top * (height - 2), 2),
             "y": round(height - c / top * (height - 2), 2), "n": c} for i, c in enumerate(counts)]


def chart_data(doc: dict[str, Any]) -> dict[str, Any]:
    """What charts.js draws: events with lanes and hover text, first mover, actors and edges."""
    first = doc["first_mover"]["statement_id"] if doc["first_mover"] else None
    events = [
        {"id": e["statement_id"], "t": e["published_at"], "actor": e["actor"] or e["outlet"] or "unknown",
         "country": e["country"] or "unknown",
         "text": e["text"][:HOVER_CHARS] + ("…" if len(e["text"]) > HOVER_CHARS else ""),
         "first": e["statement_id"] == first, "copy": e["syndicated_from"] is not None}
        for e in doc["events"] if e["published_at"] is not None
    ]
    edges = [{"from": e["from"], "to": e["to"], "weight": e["weight"]} for e in doc["edges"][:CHART_EDGES]]
    linked = {e["from"] for e in edges} | {e["to"] for e in edges}
    actors = [{"name": a["actor"], "country": a["country"] or "unknown", "kind": a["kind"] or "unknown",
               "first_seen": a["first_seen"], "statements": a["statements"], "lag": human_lag(a["lag_seconds"])}
              for i, a in enumerate(doc["actors"]) if a["first_seen"] and (i < CHART_ACTORS or a["actor"] in linked)]
    return {"events": events, "actors": actors, "edges": edges, "edges_total": len(doc["edges"]),
            "statement_url": url_for("statements.statement", statement_id=0).rsplit("/", 1)[0] + "/"}


def chart_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page itself says about its charts (whether to draw, how many links of how many);
    the data they draw is chart.json's, so the page never builds it."""
    return {"drawn": any(e["published_at"] is not None for e in doc["events"]),
            "edges_shown": min(CHART_EDGES, len(doc["edges"])), "edges_total": len(doc["edges"])}
