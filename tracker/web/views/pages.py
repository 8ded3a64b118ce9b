"""Dashboard pages: the overview of narratives and one narrative's page (timeline, graph, exports).

Charts are drawn in the browser by plotly.js, served from the installed plotly wheel (``tracker.web.assets``), fed
by the page's ``chart.json`` (fetched by static/charts.js, so the CSP can forbid inline script and
the page stays small). Sparklines are small SVGs (``tracker.web.charts``). Timelines
(``tracker.web.timelines``), filter choices and the pages' own blocks are cached by the app, keyed
by a data version that changes on every commit (see ``tracker.web.cache``).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, request, url_for

from tracker.errors import Refused
from tracker.service import exports, narratives, statements
from tracker.web.auth import access
from tracker.web.bodies import send_body
from tracker.web.charts import chart_data, chart_summary, follows_table, histogram, sparkline_points
from tracker.web.context import data_version, read_session, state
from tracker.web.render import render_cached
from tracker.web.requests import (
    ID,
    decode_cursor,
    encode_cursor,
    filter_from_request,
    next_page_url,
    parse_int,
)
from tracker.web.timelines import cached_timeline, mark_copies, timeline_body

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

PAGE_SIZE = 25
STATEMENTS_PER_PAGE = 50
ACTORS_ON_PAGE = 100  # the first by appearance; the timeline exports list every actor
SPARK_YEARS = 3
SORTS = ("recent", "growth")


def cached_choices(session: Session, version: tuple[Any, ...]) -> dict[str, list[str]]:
    """Countries and languages for the filter forms: two scans of every statement, once per data version."""
    found: dict[str, list[str]] = state().caches.choices.get(version, lambda: statements.filter_choices(session))
    return found


def data_axis(session: Session, version: tuple[Any, ...]) -> tuple[datetime, datetime]:
    """The span every sparkline shares: the first statement (at most ``SPARK_YEARS`` back) to "now" of the data."""

    def make() -> tuple[datetime, datetime]:
        first, now = narratives.data_span(session)
        earliest = now - timedelta(days=365 * SPARK_YEARS)
        return (max(first, earliest) if first else now - timedelta(days=365), now)

    found: tuple[datetime, datetime] = state().caches.axis.get(version, make)
    return found


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


def _overview_vars(session: Session, version: tuple[Any, ...]) -> dict[str, Any]:
    flt = filter_from_request()
    sort = request.args.get("sort") or "recent"
    if sort not in SORTS:
        abort(400)
    try:
        triage = narratives.triage_filter(request.args.get("triage"))
    except Refused:
        abort(400)
    status = request.args.get("status") or None
    start, end = _axis(data_axis(session, version), flt)
    if sort == "recent":
        after = decode_cursor(request.args.get("after"))
        rows = narratives.list_narratives(session, flt, limit=PAGE_SIZE + 1, after=after, triage=triage, status=status)
        more, rows, page = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE], 1
    else:  # by growth: every listed narrative's activity is needed to rank them; pages by number
        after, page = None, parse_int(request.args.get("page"), "page") or 1
        rows = narratives.list_narratives(session, flt, limit=None, triage=triage, status=status)
    ids = tuple(r["id"] for r in rows)
    dates: dict[int, list[datetime]] = state().caches.activity.get(
        ("overview", ids, flt.key(), version), lambda: narratives.narrative_dates(session, list(ids), flt))
    for r in rows:
        found = narratives.activity(dates[r["id"]], end, state().config.timeline, r["status"])
        r["state"], r["growth"], r["matching"] = found["status"], found["growth"], len(dates[r["id"]])
    if sort == "growth":
        rows.sort(key=lambda r: r["growth"].sort_key())
        more, rows = len(rows) > page * PAGE_SIZE, rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    hists = {r["id"]: histogram(dates[r["id"]], start, end) for r in rows}
    top = max((max(h) for h in hists.values() if h), default=1)  # one scale for every row
    for r in rows:
        r["spark"] = sparkline_points(hists[r["id"]], top=top)
    if sort == "recent":
        next_url = next_page_url("pages.overview", encode_cursor(rows[-1]["last_seen_at"], rows[-1]["id"])) \
            if more and rows else None
    else:
        values: dict[str, Any] = {**request.args.to_dict(), "page": page + 1}
        next_url = url_for("pages.overview", **values) if more else None
    return {"narratives": rows, "flt": flt, "args": request.args, "next_url": next_url, "sort": sort,
            "triage": request.args.get("triage") or "shown", "triage_choices": narratives.TRIAGE_CHOICES,
            "choices": cached_choices(session, version), "axis": (start, end), "spark_top": top,
            "paged": after is not None or page > 1, "baseline_days": state().config.timeline.growth_baseline_days}


def _axis(span: tuple[datetime, datetime], flt: Any) -> tuple[datetime, datetime]:
    """The sparklines' shared time axis: the data's span, narrowed to the date filter when there is one."""
    start, end = span
    since, until = (None if d is None else d if d.tzinfo else d.replace(tzinfo=UTC) for d in (flt.since, flt.until))
    if until is not None and start < until < end:
        end = until
    if since is not None and since < end:
        start = since
    return start, end


# ---------------------------------------------------------------- narrative page


@bp.get(f"/narratives/<{ID}:narrative_id>")
@access("read")
def narrative(narrative_id: int) -> str:
    session = read_session()
    version = data_version(session)
    return render_cached("narrative.html", ("narrative", narrative_id, version, STATEMENTS_PER_PAGE,
                                             request.query_string),
                         lambda: _narrative_vars(session, narrative_id, version))


@bp.get(f"/narratives/<{ID}:narrative_id>/chart.json")
@access("read")
def chart_json(narrative_id: int) -> Response:
    """The narrative page's chart data, apart from its HTML: the page stays small however many
    statements a narrative holds, and the browser revalidates this by ETag instead of downloading it."""
    wave = parse_int(request.args.get("wave"), "wave")

    def serialise(doc: dict[str, Any]) -> bytes:
        view = narratives.wave_view(doc, wave)
        if view is None:
            abort(404)
        return _json_bytes(chart_data(view))

    body = timeline_body(state().caches.chart_bodies, narrative_id, wave, serialise)
    if body is None:
        abort(404)
    return send_body(body, "application/json")


def _narrative_vars(session: Session, narrative_id: int, version: tuple[Any, ...]) -> dict[str, Any]:
    detail = narratives.detail(session, narrative_id)
    if detail is None:
        abort(404)
    whole = cached_timeline(session, narrative_id, version)
    wave = parse_int(request.args.get("wave"), "wave")
    doc = narratives.wave_view(whole, wave) if whole else None
    if whole and doc is None:
        abort(404)
    page = parse_int(request.args.get("page"), "page") or 1
    rows = narratives.narrative_statements(session, narrative_id, limit=STATEMENTS_PER_PAGE + 1,
                                           offset=(page - 1) * STATEMENTS_PER_PAGE)
    labels = narratives.narrative_labels(session, {h["other_narrative_id"] for h in detail["history"]
                                                   if h["other_narrative_id"]})
    return {"n": detail, "doc": doc, "chart": chart_summary(doc) if doc else None,
            "actors_shown": doc["actors"][:ACTORS_ON_PAGE] if doc else [],
            "statements": mark_copies(session, version, rows[:STATEMENTS_PER_PAGE], narrative_id),
            "page": page, "more": len(rows) > STATEMENTS_PER_PAGE,
            "history_labels": labels, "wave": wave,
            "state": narratives.one_status(whole["flags"] if whole else (), detail["status"]),
            # every wave's on the whole narrative's page, that wave's on a wave's
            "mentions": (doc["earlier_mentions"] if wave else [m for w in whole["waves"] for m in w["earlier_mentions"]])
            if doc and whole else [], "follows": follows_table(doc) if doc else []}


@bp.get(f"/narratives/<{ID}:narrative_id>/timeline.csv")
@access("read")
def timeline_csv(narrative_id: int) -> Response:
    """The timeline's events as CSV; cells that a spreadsheet would run as formulas are neutralised."""
    session = read_session()
    doc = cached_timeline(session, narrative_id, data_version(session))
    if doc is None:
        abort(404)
    out = io.StringIO()
    exports.timeline_csv(session, doc, out)
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="narrative-{narrative_id}-timeline.csv"'})


@bp.get(f"/narratives/<{ID}:narrative_id>/timeline.json")
@access("read")
def timeline_json(narrative_id: int) -> Response:
    body = timeline_body(state().caches.export_bodies, narrative_id, None, _json_bytes)
    if body is None:
        abort(404)
    return send_body(body, "application/json", headers={
        "Content-Disposition": f'attachment; filename="narrative-{narrative_id}-timeline.json"'})
