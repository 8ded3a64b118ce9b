"""Dashboard: actors (speakers and outlets), the narratives they pushed, and their spellings.

Reading is open to readers; adding a spelling is a researcher's change, CSRF-protected by the app's
Flask-WTF setup and audited by the use case in the same transaction.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tracker.errors import Refused
from tracker.service import actors as actor_cases
from tracker.service import statements
from tracker.vocabulary import ACTOR_KINDS
from tracker.web.auth import access, current_user
from tracker.web.charts import bars, histogram
from tracker.web.context import data_version, read_session, workspace
from tracker.web.requests import ID, arg_text, parse_int
from tracker.web.timelines import mark_copies

log = logging.getLogger(__name__)

bp = Blueprint("actors", __name__)

PAGE_SIZE = 100
ACTIVITY_BINS = 48
RECENT = 20


@bp.get("/actors")
@access("read")
def actors() -> str:
    session = read_session()
    args = request.args
    after = None
    if args.get("after_name") is not None and (args.get("after_id") or "").isdigit():
        after = (arg_text("after_name", 300) or "", parse_int(args["after_id"], "after_id") or 0)
    rows = actor_cases.list_actors(session, q=arg_text("q", 300), country=arg_text("country", 8) or None,
                              kind=args.get("kind") if args.get("kind") in ACTOR_KINDS else None,
                              limit=PAGE_SIZE + 1, after=after)
    next_args = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_args = {k: v for k, v in args.items() if v and k not in ("after_name", "after_id")}
        next_args.update(after_name=rows[-1]["name"], after_id=rows[-1]["id"])
    return render_template("actors.html", rows=rows, args=args, kinds=ACTOR_KINDS, next_args=next_args,
                           choices=statements.filter_choices(session), paged=after is not None)


@bp.get(f"/actors/<{ID}:actor_id>")
@access("read")
def actor(actor_id: int) -> str:
    session = read_session()
    version = data_version(session)
    detail = actor_cases.actor_detail(session, actor_id, recent=RECENT, narratives=None)
    if detail is None:
        abort(404)
    dates = sorted(actor_cases.actor_dates(session, actor_id))
    activity = None
    if dates:
        activity = {"rects": bars(histogram(dates, dates[0], dates[-1], ACTIVITY_BINS)),
                    "first": dates[0], "last": dates[-1], "total": len(dates)}
    return render_template("actor.html", a=detail, narratives=detail["narratives"], activity=activity,
                           recent=mark_copies(session, version, detail["recent_statements"]), user=current_user(),
                           messages=get_flashed_messages(with_categories=True))


@bp.post(f"/actors/<{ID}:actor_id>/aliases")
@access("researcher")
def add_actor_alias(actor_id: int) -> Response:
    """Teach another spelling of this actor; a separate actor already known by it is merged in."""
    alias = (request.form.get("alias") or "").strip()
    if not alias or len(alias) > 300:
        flash("Give a spelling of 1 to 300 characters.", "error")
        return redirect(url_for("actors.actor", actor_id=actor_id))
    try:
        kept = actor_cases.add_alias(workspace(), current_user(), actor_id, alias)
    except Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for("actors.actor", actor_id=actor_id))
    flash(f"Added the spelling \u201c{alias}\u201d.", "ok")
    return redirect(url_for("actors.actor", actor_id=kept["id"]))
