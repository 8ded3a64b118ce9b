"""What the dashboard draws: sparklines and bar charts as inline SVG, and the narrative page's chart data
for plotly.js (served offline from the installed plotly wheel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

CHART_EDGES = 400  # heaviest links sent to the amplification graph (it draws GRAPH_EDGES of them at first)
GRAPH_EDGES = 25  # strongest links drawn before the reader asks for more
FOLLOWS_ROWS = 50  # rows of the "who followed whom" table (strongest links first)
CHART_ACTORS = 150  # earliest actors drawn besides those the drawn links need
HOVER_CHARS = 200  # of a statement's text in its chart hover (a click opens the statement)
SPARK_BINS = 40


def human_lag(seconds: float | None) -> str:
    """3 d 4 h, 5 h 12 min, 40 s: the two largest units, for lags and gaps."""
    if seconds is None:
        return "—"
    if seconds < 0:
        return f"{human_lag(-seconds)} before (earlier possible mention)"
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


def sparkline_points(counts: list[int], width: int = 120, height: int = 24, top: int | None = None) -> str:
    """SVG polyline points for counts (numbers only, so safe inside an attribute); ``top`` is the count
    drawn at full height, shared by every row of a list so their heights compare (default: their own)."""
    if not counts:
        return ""
    top = max(top or max(counts), 1)
    step = width / max(len(counts) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 1 - c / top * (height - 2):.1f}" for i, c in enumerate(counts))


def bars(counts: list[int], width: int = 600, height: int = 80) -> list[dict[str, float]]:
    """Rectangles of a bar chart (x, y, w, h) for an inline SVG."""
    top = max(max(counts, default=0), 1)
    w = width / max(len(counts), 1)
    return [{"x": round(i * w, 2), "w": round(max(w - 1, 0.5), 2), "h": round(c / top * (height - 2), 2),
             "y": round(height - c / top * (height - 2), 2), "n": c} for i, c in enumerate(counts)]


def chart_data(doc: dict[str, Any]) -> dict[str, Any]:
    """What charts.js draws (for the whole narrative or one wave, see ``wave_view``): events with lanes and
    hover text, the first mover of each wave shown, earlier possible mentions, actors and edges."""
    shown = [w for w in doc["waves"] if doc.get("selected_wave") in (None, w["wave"])]
    firsts = {w["first_mover"]["statement_id"] for w in shown}
    earlier = {m["statement_id"] for w in shown for m in w["earlier_mentions"]}
    events = [
        {"id": e["statement_id"], "t": e["published_at"], "actor": e["actor"] or e["outlet"] or "unknown",
         "country": e["country"] or "unknown", "wave": e["wave"],
         "text": e["text"][:HOVER_CHARS] + ("…" if len(e["text"]) > HOVER_CHARS else ""),
         "first": e["statement_id"] in firsts, "earlier": e["statement_id"] in earlier,
         "copy": e["syndicated_from"] is not None}
        for e in doc["events"] if e["published_at"] is not None
    ]
    links = graph_links(doc)
    edges = [{"from": e["from_id"], "to": e["to_id"], "weight": e["weight"], "lag": human_lag(e["lag_seconds"])}
             for e in links[:CHART_EDGES]]
    linked = {e["from"] for e in edges} | {e["to"] for e in edges}
    actors = [{"id": node, "name": a["actor"], "country": a["country"] or "unknown", "kind": a["kind"] or "unknown",
               "first_seen": a["first_seen"], "statements": a["statements"], "lag": human_lag(a["lag_seconds"])}
              for i, (node, a) in enumerate(_graph_nodes(doc)) if a["first_seen"] and (i < CHART_ACTORS or node in linked)]
    breaks = [[a["end"], b["start"]] for a, b in zip(shown, shown[1:], strict=False)]
    return {"events": events, "actors": actors, "edges": edges, "edges_total": links_total(doc), "breaks": breaks,
            "graph_edges": GRAPH_EDGES, "window_days": round(doc["window_seconds"] / 86400, 1),
            "statement_url": url_for("statements.statement", statement_id=0).rsplit("/", 1)[0] + "/"}


def _per_wave(doc: dict[str, Any]) -> bool:
    """The whole narrative over several waves: its graph is drawn wave by wave (an actor once per wave, placed
    by when it joined that wave), never measuring 2022 against 2020."""
    return doc.get("selected_wave") is None and len(doc.get("waves", [])) > 1


def graph_links(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The links the graph and the "who followed whom" table show, strongest first, each with the graph
    node ids it joins (the actor's name, or "wave:name" when drawn wave by wave) and its wave."""
    if not _per_wave(doc):
        return [{**e, "from_id": e["from"], "to_id": e["to"], "wave": doc.get("selected_wave")} for e in doc["edges"]]
    links = [{**e, "from_id": f"{w['wave']}:{e['from']}", "to_id": f"{w['wave']}:{e['to']}", "wave": w["wave"]}
             for w in doc["waves"] for e in w["edges"]]
    return sorted(links, key=lambda e: (-e["weight"], e["first_at"] or "", e["wave"]))


def links_total(doc: dict[str, Any]) -> int:
    """How many links there are in all (a wave's document keeps its heaviest; ``edges_total`` counts all)."""
    if not _per_wave(doc):
        return int(doc.get("edges_total", len(doc["edges"])))
    return sum(int(w.get("edges_total", len(w["edges"]))) for w in doc["waves"])


def _graph_nodes(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if not _per_wave(doc):
        return [(a["actor"], a) for a in doc["actors"]]
    return [(f"{w['wave']}:{a['actor']}", a) for w in doc["waves"] for a in w["actors"]]


def chart_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page itself says about its charts (whether to draw, how many links of how many);
    the data they draw is chart.json's, so the page never builds it."""
    total = links_total(doc)
    held = len(doc["edges"]) if not _per_wave(doc) else sum(len(w["edges"]) for w in doc["waves"])
    sent = min(CHART_EDGES, held)  # as many as graph_links returns, without building and sorting them
    return {"drawn": any(e["published_at"] is not None for e in doc["events"]),
            "edges_shown": min(GRAPH_EDGES, sent), "edges_sent": sent, "edges_total": total,
            "per_wave": _per_wave(doc), "window_days": round(doc["window_seconds"] / 86400, 1)}


def follows_table(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The "who followed whom, after how long" rows: the strongest links first (as the graph draws them)."""
    return [{"from": e["from"], "to": e["to"], "from_country": e["from_country"], "to_country": e["to_country"],
             "statements": e["weight"], "lag_seconds": e["lag_seconds"], "first_at": e["first_at"], "wave": e["wave"]}
            for e in graph_links(doc)[:FOLLOWS_ROWS]]
