"""Dashboard: actors (speakers and outlets), the narratives they pushed, and their spellings.

Reading is open to readers; adding a spelling is a researcher's change, CSRF-protected by the app's
Flask-WTF setup and audited by ``tracker.actors.add_alias`` in the same transaction.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tracker import queries
from tracker.actors import ActorError, actor_view, add_alias
from tracker.analysis.spread import to_utc
from tracker.models import ACTOR_KINDS, Actor
from tracker.web import read_session, state
from tracker.web.auth import access, current_user
from tracker.web.views.pages import bars, histogram

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
        after = (args["after_name"], int(args["after_id"]))
    rows = queries.actor_list(session, q=args.get("q"), country=args.get("country") or None,
                              kind=args.get("kind") if args.get("kind") in ACTOR_KINDS else None,
                              limit=PAGE_SIZE + 1, after=after)
    next_args = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_args = {k: v for k, v in args.items() if v and k not in ("after_name", "after_id")}
        next_args.update(after_name=rows[-1]["name"], after_id=rows[-1]["id"])
    return render_template("actors.html", rows=rows, args=args, kinds=ACTOR_KINDS, next_args=next_args,
                           choices=queries.filter_choices(session), paged=after is not None)


@bp.get("/actors/<int:actor_id>")
@access("read")
def actor(actor_id: int) -> str:
    session = read_session()
    found = session.get(Actor, actor_id)
    if found is None:
        abort(404)
    view = actor_view(session, found)
    dates = sorted(to_utc(d) for d in queries.actor_dates(session, actor_id))
    activity = None
    if dates:
        activity = {"rects": bars(histogram(dates, dates[0], dates[-1], ACTIVITY_BINS)),
                    "first": dates[0], "last": dates[-1], "total": len(dates)}
    recent = queries.search_statements(session, queries.StatementFilter(actor_id=actor_id), limit=RECENT)
    return render_template("actor.html", a=view, narratives=queries.actor_narratives(session, actor_id),
                           activity=activity, recent=recent, user=current_user(),
                           messages=get_flashed_messages(with_categories=True))


@bp.post("/actors/<int:actor_id>/aliases")
@access("researcher")
def add_actor_alias(actor_id: int) -> Response:
    """Teach another spelling of this actor; a separate actor already known by it is merged in."""
    alias = (request.form.get("alias") or "").strip()
    if not alias or len(alias) > 300:
        flash("Give a spelling of 1 to 300 characters.", "error")
        return redirect(url_for("actors.actor", actor_id=actor_id))
    try:
        with state().db.transaction() as session:
            kept = add_alias(session, actor_id, alias, user=current_user())
            kept_id = kept.id
    except ActorError as exc:
        flash(str(exc), "error")
        return redirect(url_for("actors.actor", actor_id=actor_id))
    flash(f"Added the spelling \u201c{alias}\u201d.", "ok")
    return redirect(url_for("actors.actor", actor_id=kept_id))
