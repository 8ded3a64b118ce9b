"""Dashboard: admins look after sources and jobs (``/admin/sources``, ``/admin/jobs``).

Sources are added through :func:`tracker.ingest.sources.add_source` (network kinds only: the web
never names a path on the server); pausing, resuming and edits change the row and write the audit
event in the same transaction. Jobs are read from ``job_runs``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import audit
from tracker.ingest.sources import SourceError, add_source, parse_every
from tracker.models import JobRun, Source, User
from tracker.web import read_session, state
from tracker.web.auth import access, current_user

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

WEB_SOURCE_KINDS = ("rss", "html", "transcript")
JOBS_SHOWN = 100
ADD_FIELDS = ("url", "kind", "name", "actor", "outlet", "country", "every")


def every_text(seconds: int) -> str:
    """3600 -> "1h": the shortest exact form parse_every reads back."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _sources_page(error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    sources = list(read_session().scalars(select(Source).order_by(Source.name)))
    return render_template("admin_sources.html", sources=sources, error=error, form=form or {}, kinds=WEB_SOURCE_KINDS,
                           every_text=every_text, messages=get_flashed_messages(with_categories=True)), status


@bp.get("/sources")
@access("admin")
def sources() -> Any:
    return _sources_page()


@bp.post("/sources")
@access("admin")
def add() -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in ADD_FIELDS}
    full_text = request.form.get("fetch_full_text") == "on"
    if form["kind"] not in WEB_SOURCE_KINDS:
        return _sources_page(f"kind: choose one of {', '.join(WEB_SOURCE_KINDS)}", form, 422)
    too_long = [k for k in ADD_FIELDS if len(form[k]) > (2000 if k == "url" else 300)]
    if too_long:
        return _sources_page(f"{too_long[0]}: too long", form, 422)
    try:
        with state().db.transaction() as tx:
            src = add_source(tx, state().config, form["url"], form["kind"], name=form["name"] or None,
                             actor=form["actor"] or None, outlet=form["outlet"] or None,
                             country=form["country"] or None, every=form["every"] or None,
                             fetch_full_text=full_text, user=current_user())
            name = src.name
    except SourceError as exc:
        return _sources_page(str(exc), form, 422)
    flash(f"Added the source \u201c{name}\u201d; it is fetched on the next scheduled run.", "ok")
    return redirect(url_for("admin.sources"), 303)


def change_source(session: Session, source: Source, changes: dict[str, Any], user: User | None) -> dict[str, Any]:
    """Apply changed fields and write one audit event (pause, resume or update); nothing changed, nothing written."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key, value in changes.items():
        if getattr(source, key) != value:
            old[key], new[key] = getattr(source, key), value
            setattr(source, key, value)
    if new:
        action = "source.update"
        if set(new) == {"enabled"}:
            action = "source.enable" if new["enabled"] else "source.pause"
        audit.record(session, user, action, "source", source.id, old, new)
    session.flush()
    return new


@bp.post("/sources/<int:source_id>/enabled")
@access("admin")
def toggle(source_id: int) -> Any:
    wanted = request.form.get("enabled")
    if wanted not in ("0", "1"):
        abort(400)
    with state().db.transaction() as tx:
        src = tx.get(Source, source_id)
        if src is None:
            abort(404)
        change_source(tx, src, {"enabled": wanted == "1"}, current_user())
        name = src.name
    flash(f"\u201c{name}\u201d {'resumed' if wanted == '1' else 'paused'}.", "ok")
    return redirect(url_for("admin.sources"), 303)


def _edit_page(source: Source, error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("admin_source.html", s=source, error=error, form=form or {}, every_text=every_text), status


@bp.get("/sources/<int:source_id>")
@access("admin")
def source(source_id: int) -> Any:
    src = read_session().get(Source, source_id)
    if src is None:
        abort(404)
    return _edit_page(src)


@bp.post("/sources/<int:source_id>")
@access("admin")
def edit(source_id: int) -> Any:
    form = {"every": (request.form.get("every") or "").strip()[:40],
            "country": (request.form.get("country") or "").strip()[:8]}
    full_text = request.form.get("fetch_full_text") == "on"
    enabled = request.form.get("enabled") == "on"
    try:
        every = parse_every(form["every"])
    except SourceError as exc:
        src = read_session().get(Source, source_id)
        if src is None:
            abort(404)
        return _edit_page(src, str(exc), form, 422)
    with state().db.transaction() as tx:
        src = tx.get(Source, source_id)
        if src is None:
            abort(404)
        changed = change_source(tx, src, {"every_seconds": every, "fetch_full_text": full_text, "enabled": enabled,
                                          "country": form["country"].upper() or None}, current_user())
        name = src.name
    flash(f"Saved \u201c{name}\u201d." if changed else f"Nothing changed for \u201c{name}\u201d.", "ok")
    return redirect(url_for("admin.sources"), 303)


@bp.get("/jobs")
@access("admin")
def jobs() -> Any:
    session = read_session()
    kind = request.args.get("kind") or None
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(JOBS_SHOWN)
    if kind:
        query = query.where(JobRun.kind == kind[:40])
    runs = list(session.scalars(query))
    names = dict(session.execute(select(Source.id, Source.name)).all())
    kinds = list(session.scalars(select(JobRun.kind).distinct().order_by(JobRun.kind)))
    return render_template("admin_jobs.html", runs=runs, names=names, kinds=kinds, kind=kind, limit=JOBS_SHOWN)
