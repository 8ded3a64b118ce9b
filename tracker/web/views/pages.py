"""Dashboard pages: the overview of narratives and one narrative's page (timeline, graph, exports).

Charts are drawn in the browser by plotly.js, served from the installed plotly wheel (no CDN), fed
by the page's ``chart.json`` (fetched by static/charts.js, so the CSP can forbid inline script and
the page stays small). Sparklines are small SVGs built here. Timelines (``tracker.web.timelines``),
filter choices and the pages' own blocks are cached per process, keyed by a data version that
changes on every commit (see ``tracker.web.cache``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, request, send_file, url_for

from tracker import queries
from tracker.analysis.load import data_now
from tracker.analysis.spread import detect_bursts, to_utc
from tracker.export import neutralise
from tracker.web import read_session, state
from tracker.web.auth import access
from tracker.web.bodies import send_body
from tracker.web.cache import LRU, data_version, render_cached
from tracker.web.timelines import cached_timeline, timeline_body

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

PAGE_SIZE = 25
STATEMENTS_PER_PAGE = 50
ACTORS_ON_PAGE = 100  # the first by appearance; the timeline exports list every actor
CHART_EDGES = 400  # heaviest links drawn in the amplification graph
CHART_ACTORS = 150  # earliest actors drawn besides those the drawn links need
HOVER_CHARS = 200  # of a statement's text in its chart hover (a click opens the statement)
SPARK_BINS = 40
SPARK_YEARS = 3
BADGE_FLAGS = ("emerging", "surging", "resurgent", "dormant")


# ---------------------------------------------------------------- small shared helpers


_chart_bodies = LRU(64)  # chart.json per (narrative, data version)
_export_bodies = LRU(16)  # timeline.json downloads, likewise
_activity = LRU(256)
_axis = LRU(8)
_choices = LRU(8)


def cached_choices(session: Any, version: tuple[Any, ...]) -> dict[str, list[str]]:
    """Countries and languages for the filter forms: two scans of every statement, once per data version."""
    return _choices.get(version, lambda: queries.filter_choices(session))  # type: ignore[no-any-return]


def parse_day(value: str | None, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD form value as a UTC instant (the next midnight for an inclusive end); bad input is ignored."""
    if not value:
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1) if end else day


def parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def filter_from_request(*, with_text: bool = True) -> queries.StatementFilter:
    args = request.args
    return queries.StatementFilter(
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


@bp.app_template_filter("lag")
def _lag_filter(seconds: float | None) -> str:
    return human_lag(seconds)


def histogram(dates: list[datetime], start: datetime, end: datetime, bins: int = SPARK_BINS) -> list[int]:
    counts = [0] * bins
    span = max((end - start).total_seconds(), 1.0)
    for d in dates:
        i = int((to_utc(d) - start).total_seconds() / span * bins)
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


def data_axis(session: Any, version: tuple[Any, ...]) -> tuple[datetime, datetime]:
    """The span every sparkline shares: the first statement (at most ``SPARK_YEARS`` back) to "now" of the data."""

    def make() -> tuple[datetime, datetime]:
        from sqlalchemy import func, select

        from tracker.models import Statement

        first = session.scalar(select(func.min(Statement.published_at)))
        now = to_utc(data_now(session))
        earliest = now - timedelta(days=365 * SPARK_YEARS)
        return (max(to_utc(first), earliest) if first else now - timedelta(days=365), now)

    return _axis.get(version, make)  # type: ignore[no-any-return]


def burst_flags(dates: list[datetime], now: datetime) -> list[str]:
    t = state().config.timeline
    report = detect_bursts(dates, now=now, dormant_days=t.dormant_days, emerging_days=t.recent_days)
    return [f for f in BADGE_FLAGS if f in report.flags]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- overview


@bp.get("/")
@access("read")
def overview() -> str:
    session = read_session()
    version = data_version(session)
    return render_cached("overview.html", ("overview", version, PAGE_SIZE, request.query_string),
                         lambda: _overview_vars(session, version))


def _overview_vars(session: Any, version: tuple[Any, ...]) -> dict[str, Any]:
    flt = filter_from_request()
    after = decode_cursor(request.args.get("after"))
    rows = queries.overview_narratives(session, flt, limit=PAGE_SIZE + 1, after=after,
                                       status=request.args.get("status") or None)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    start, end = data_axis(session, version)
    ids = tuple(r["id"] for r in rows)
    dates = _activity.get(("overview", ids, flt.key(), version),
                          lambda: queries.narrative_dates(session, list(ids), flt))
    for r in rows:
        counts = histogram(dates[r["id"]], start, end)
        r["spark"] = sparkline_points(counts)
        r["matching"] = len(dates[r["id"]])
        r["flags"] = burst_flags(dates[r["id"]], end)
    next_url = next_page_url("pages.overview", encode_cursor(rows[-1]["last_seen_at"], rows[-1]["id"])) \
        if more and rows else None
    return {"narratives": rows, "flt": flt, "args": request.args, "next_url": next_url,
            "choices": cached_choices(session, version), "axis": (start, end), "paged": after is not None}


# ---------------------------------------------------------------- narrative page


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


@bp.get("/narratives/<int:narrative_id>")
@access("read")
def narrative(narrative_id: int) -> str:
    session = read_session()
    version = data_version(session)
    return render_cached("narrative.html", ("narrative", narrative_id, version, STATEMENTS_PER_PAGE,
                                             request.query_string),
                         lambda: _narrative_vars(session, narrative_id, version))


def chart_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page itself says about its charts (whether to draw, how many links of how many);
    the data they draw is chart.json's, so the page never builds it."""
    return {"drawn": any(e["published_at"] is not None for e in doc["events"]),
            "edges_shown": min(CHART_EDGES, len(doc["edges"])), "edges_total": len(doc["edges"])}


@bp.get("/narratives/<int:narrative_id>/chart.json")
@access("read")
def chart_json(narrative_id: int) -> Response:
    """The narrative page's chart data, apart from its HTML: the page stays small however many
    statements a narrative holds, and the browser revalidates this by ETag instead of downloading it."""
    body = timeline_body(_chart_bodies, narrative_id, None, lambda doc: _json_bytes(chart_data(doc)))
    if body is None:
        abort(404)
    return send_body(body, "application/json")


def _narrative_vars(session: Any, narrative_id: int, version: tuple[Any, ...]) -> dict[str, Any]:
    detail = queries.narrative_detail(session, narrative_id)
    if detail is None:
        abort(404)
    doc = cached_timeline(session, narrative_id, version)
    page = max(parse_int(request.args.get("page")) or 1, 1)
    statements = queries.narrative_statements(session, narrative_id, limit=STATEMENTS_PER_PAGE + 1,
                                              offset=(page - 1) * STATEMENTS_PER_PAGE)
    more = len(statements) > STATEMENTS_PER_PAGE
    labels = _history_labels(session, detail["history"])
    return {"n": detail, "doc": doc, "chart": chart_summary(doc) if doc else None,
            "actors_shown": doc["actors"][:ACTORS_ON_PAGE] if doc else [],
            "statements": statements[:STATEMENTS_PER_PAGE], "page": page, "more": more, "history_labels": labels}


def _history_labels(session: Any, history: list[dict[str, Any]]) -> dict[int, str]:
    from sqlalchemy import select

    from tracker.models import Narrative

    ids = {h["other_narrative_id"] for h in history if h["other_narrative_id"]}
    if not ids:
        return {}
    return dict(session.execute(select(Narrative.id, Narrative.label).where(Narrative.id.in_(ids))).all())


TIMELINE_COLUMNS = ("statement_id", "external_id", "published_at", "actor", "outlet", "country", "kind",
                    "syndicated_from", "text")


def _timeline_or_404(narrative_id: int) -> dict[str, Any]:
    session = read_session()
    doc = cached_timeline(session, narrative_id, data_version(session))
    if doc is None:
        abort(404)
    return doc


@bp.get("/narratives/<int:narrative_id>/timeline.csv")
@access("read")
def timeline_csv(narrative_id: int) -> Response:
    """The timeline's events as CSV; cells that a spreadsheet would run as formulas are neutralised."""
    doc = _timeline_or_404(narrative_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TIMELINE_COLUMNS)
    for e in doc["events"]:
        writer.writerow([neutralise(e.get(c)) if e.get(c) is not None else "" for c in TIMELINE_COLUMNS])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="narrative-{narrative_id}-timeline.csv"'})


@bp.get("/narratives/<int:narrative_id>/timeline.json")
@access("read")
def timeline_json(narrative_id: int) -> Response:
    body = timeline_body(_export_bodies, narrative_id, None, _json_bytes)
    if body is None:
        abort(404)
    return send_body(body, "application/json", headers={
        "Content-Disposition": f'attachment; filename="narrative-{narrative_id}-timeline.json"'})


# ---------------------------------------------------------------- chart library, offline


def plotly_js_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@bp.get("/assets/plotly.min.js")
@access("public")
def plotly_js() -> Response:
    """plotly.js from the installed wheel, so charts draw with no network access."""
    try:
        path = plotly_js_path()
    except FileNotFoundError:
        abort(404)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=7 * 24 * 3600, conditional=True)


@bp.app_template_filter("reject_keys")
def _reject_keys(args: Any, *keys: str) -> dict[str, str]:
    """Query arguments without some keys (and without empty values), for links like "first page"."""
    return {k: v for k, v in args.items() if k not in keys and v}
