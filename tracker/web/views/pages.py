"""Dashboard pages: narratives ranked by activity, and a narrative's statements in time order."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from tracker import queries
from tracker.web import read_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def overview() -> str:
    session = read_session()
    q = request.args.get("q") or None
    return render_template("overview.html", narratives=queries.list_narratives(session, q=q, limit=200), q=q)


@bp.get("/narratives/<int:narrative_id>")
def narrative(narrative_id: int) -> str:
    session = read_session()
    detail = queries.narrative_detail(session, narrative_id)
    if detail is None:
        abort(404)
    statements = queries.narrative_statements(session, narrative_id, limit=500)
    return render_template("narrative.html", n=detail, statements=statements)
