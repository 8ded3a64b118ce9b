"""Dashboard: admins look after sources (add, edit, fetch now, delete, each one's fetch log), job runs,
accounts and their tokens, and the activity log (``/admin/sources``, ``/admin/jobs``, ``/admin/users``,
``/admin/activity``).

Sources are added, paused, resumed and edited through ``tracker.service.sources`` (network kinds only:
the web never names a path on the server), which writes the audit event in the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for

from tracker.errors import Refused
from tracker.service import accounts, pipeline
from tracker.service import sources as source_cases
from tracker.vocabulary import NETWORK_SOURCE_KINDS
from tracker.web.auth import access, current_user
from tracker.web.context import read_session, workspace
from tracker.web.requests import ID, parse_int

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

JOBS_SHOWN = 100
FETCHES_SHOWN = 50
ACTIVITY_SHOWN = 100
ADD_FIELDS = ("url", "kind", "name", "actor", "outlet", "country", "every")
ACTIVITY_KINDS = ("narrative", "statement", "source", "actor", "user")
EDIT_FIELDS = {"name": 200, "url": 2000, "actor": 300, "outlet": 300, "every": 40, "country": 8}


@bp.get("/sources")
@access("admin")
def sources(error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    """The sources and the form to add one; shown again with the reason when an addition is refused."""
    return render_template("admin_sources.html", sources=source_cases.list_sources(read_session()), error=error,
                           form=form or {}, kinds=NETWORK_SOURCE_KINDS, every_text=source_cases.every_text,
                           messages=get_flashed_messages(with_categories=True)), status


@bp.post("/sources")
@access("admin")
def add() -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in ADD_FIELDS}
    if form["kind"] not in NETWORK_SOURCE_KINDS:
        return sources(f"kind: choose one of {', '.join(NETWORK_SOURCE_KINDS)}", form, 422)
    too_long = [k for k in ADD_FIELDS if len(form[k]) > (2000 if k == "url" else 300)]
    if too_long:
        return sources(f"{too_long[0]}: too long", form, 422)
    try:
        added = source_cases.add(workspace(), current_user(), form["url"], form["kind"], name=form["name"] or None,
                            actor=form["actor"] or None, outlet=form["outlet"] or None,
                            country=form["country"] or None, every=form["every"] or None,
                            fetch_full_text=request.form.get("fetch_full_text") == "on", network_only=True)
    except Refused as exc:
        return sources(str(exc), form, 422)
    flash(f"Added the source \u201c{added['name']}\u201d; it is fetched on the next scheduled run.", "ok")
    return redirect(url_for("admin.sources"), 303)


@bp.post(f"/sources/<{ID}:source_id>/enabled")
@access("admin")
def toggle(source_id: int) -> Any:
    wanted = request.form.get("enabled")
    if wanted not in ("0", "1"):
        abort(400)
    try:
        view, _ = source_cases.edit(workspace(), current_user(), source_id, {"enabled": wanted == "1"})
    except Refused:
        abort(404)
    flash(f"\u201c{view['name']}\u201d {'resumed' if wanted == '1' else 'paused'}.", "ok")
    return redirect(url_for("admin.sources"), 303)


def _edit_page(source: dict[str, Any], error: str | None = None, form: dict[str, str] | None = None,
               status: int = 200) -> Any:
    return render_template("admin_source.html", s=source, error=error, form=form or {},
                           every_text=source_cases.every_text, editable_url=source["kind"] in NETWORK_SOURCE_KINDS,
                           fetches=source_cases.fetch_log(read_session(), source["id"], limit=FETCHES_SHOWN),
                           messages=get_flashed_messages(with_categories=True)), status


def _source_or_404(source_id: int) -> dict[str, Any]:
    found = source_cases.get(read_session(), source_id)
    if found is None:
        abort(404)
    return found


@bp.get(f"/sources/<{ID}:source_id>")
@access("admin")
def source(source_id: int) -> Any:
    return _edit_page(_source_or_404(source_id))


@bp.post(f"/sources/<{ID}:source_id>")
@access("admin")
def edit(source_id: int) -> Any:
    form = {k: (request.form.get(k) or "").strip()[:limit] for k, limit in EDIT_FIELDS.items() if k in request.form}
    changes: dict[str, Any] = {**form, "fetch_full_text": request.form.get("fetch_full_text") == "on",
                               "enabled": request.form.get("enabled") == "on"}
    try:
        view, changed = source_cases.edit(workspace(), current_user(), source_id, changes, network_only=True)
    except Refused as exc:
        found = _source_or_404(source_id)
        return _edit_page(found, str(exc), form, 422)
    flash(f"Saved \u201c{view['name']}\u201d." if changed else f"Nothing changed for \u201c{view['name']}\u201d.", "ok")
    return redirect(url_for("admin.sources"), 303)


@bp.post(f"/sources/<{ID}:source_id>/fetch")
@access("admin")
def fetch(source_id: int) -> Any:
    """Fetch one source now (paused ones too), wait for it, and say what it brought."""
    try:
        result = source_cases.fetch_one(workspace(), source_id)
    except Refused:
        abort(404)
    if result["status"] == "failed" or result["status"] == "busy":
        flash(f"Fetching \u201c{result['source']}\u201d failed: {result['error']}", "error")
    elif result["status"] == "not_modified":
        flash(f"\u201c{result['source']}\u201d has not changed since the last fetch.", "ok")
    else:
        flash(f"Fetched \u201c{result['source']}\u201d: {result['inserted']:,} new, {result['updated']:,} updated, "
              f"{result['unchanged']:,} unchanged statements"
              + (f", {result['errors']:,} bad items" if result["errors"] else "") + ". The next scheduled run embeds "
              "and assigns them.", "ok")
    return redirect(url_for("admin.source", source_id=source_id), 303)


@bp.post(f"/sources/<{ID}:source_id>/delete")
@access("admin")
def delete(source_id: int) -> Any:
    """Delete a source after a confirmation page (``confirm=yes``); its statements stay."""
    found = _source_or_404(source_id)
    if request.form.get("confirm") != "yes":
        return render_template("admin_source_delete.html", s=found)
    gone = source_cases.delete(workspace(), current_user(), source_id)
    flash(f"Deleted the source \u201c{gone['name']}\u201d; the statements it brought stay.", "ok")
    return redirect(url_for("admin.sources"), 303)


@bp.get("/jobs")
@access("admin")
def jobs() -> Any:
    session = read_session()
    kind = (request.args.get("kind") or "")[:40] or None
    return render_template("admin_jobs.html", runs=pipeline.job_runs(session, limit=JOBS_SHOWN, kind=kind),
                           names=source_cases.source_names(session), kinds=pipeline.job_kinds(session), kind=kind,
                           limit=JOBS_SHOWN)


@bp.get("/users")
@access("admin")
def users() -> Any:
    """Accounts and their API tokens (never the secrets), with a button to revoke each live token."""
    session = read_session()
    return render_template("admin_users.html", users=accounts.list_users(session),
                           tokens=accounts.list_tokens(session), messages=get_flashed_messages(with_categories=True))


@bp.post(f"/tokens/<{ID}:token_id>/revoke")
@access("admin")
def revoke_token(token_id: int) -> Any:
    try:
        revoked = accounts.revoke_token(workspace(), current_user(), token_id)
    except Refused:
        abort(404)
    flash(f"Revoked token {revoked['id']} of {revoked['user']}: requests bearing it are refused from now on.", "ok")
    return redirect(url_for("admin.users"), 303)


@bp.get("/activity")
@access("admin")
def activity() -> Any:
    """Who changed what, newest first: researchers' tags, merges, splits and moves, sources, accounts."""
    kind = request.args.get("kind") or None
    kind = kind if kind in ACTIVITY_KINDS else None
    before = parse_int(request.args.get("before"), "before")
    events = accounts.list_audit(read_session(), object_type=kind, limit=ACTIVITY_SHOWN + 1, before_id=before)
    more = len(events) > ACTIVITY_SHOWN
    events = events[:ACTIVITY_SHOWN]
    next_url = url_for("admin.activity", kind=kind, before=events[-1]["id"]) if more and events else None
    return render_template("admin_activity.html", events=events, kind=kind, kinds=ACTIVITY_KINDS, next_url=next_url)

