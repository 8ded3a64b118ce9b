"""Dashboard: researchers manage narratives (``/manage``): seed, rename, archive, merge, split.

Plain HTML forms with CSRF tokens; each edit is one call into :mod:`tracker.narratives.manage` (or
``add_seeded_narrative``) inside one transaction, which writes the history and the audit row. A
refused edit shows the page again with the message and the researcher's input, status 422.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from sqlalchemy import func, select

from tracker import queries
from tracker.models import EDITABLE_STATUSES, LIVE_STATUSES, Narrative
from tracker.narratives.manage import ManageError, merge_narratives, split_narrative, update_narrative
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.seeds import SeedError as TagError
from tracker.narratives.seeds import add_seeded_narrative
from tracker.web import read_session, state
from tracker.web.auth import access, current_user

log = logging.getLogger(__name__)

bp = Blueprint("manage", __name__, url_prefix="/manage")

SPLIT_LIST = 300
MAX_EXAMPLES = 50


def _live_narratives() -> list[dict[str, Any]]:
    rows = read_session().execute(
        select(Narrative.id, Narrative.label, Narrative.status, Narrative.size, Narrative.origin)
        .where(Narrative.status.in_(LIVE_STATUSES)).order_by(func.lower(Narrative.label), Narrative.id))
    return [{"id": i, "label": label, "status": status, "size": size, "origin": origin}
            for i, label, status, size, origin in rows]


def _index(error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("manage_index.html", narratives=_live_narratives(), error=error, form=form or {},
                           messages=get_flashed_messages(with_categories=True)), status


@bp.get("")
@access("researcher")
def index() -> Any:
    return _index()


@bp.post("/narratives")
@access("researcher")
def create() -> Any:
    form = {k: request.form.get(k, "") for k in ("label", "description", "examples")}
    label = form["label"].strip()
    examples = [line.strip() for line in form["examples"].splitlines() if line.strip()]
    if not label or len(label) > 300:
        return _index("Give a label of 1 to 300 characters.", form, 422)
    if not examples or len(examples) > MAX_EXAMPLES:
        return _index(f"Give 1 to {MAX_EXAMPLES} example statements, one a line.", form, 422)
    if len(form["description"]) > 5000:
        return _index("The description is longer than 5000 characters.", form, 422)
    st = state()
    try:
        nid, report = add_seeded_narrative(st.db, st.config.narratives, st.embedder, label,
                                           form["description"].strip() or None, examples, user=current_user())
    except TagError as exc:
        return _index(str(exc), form, 422)
    flash(f"Created \u201c{label}\u201d: {report.assigned} statements joined it, {report.suggested} are suggested "
          "for review in the tagging queue.", "ok")
    return redirect(url_for("manage.narrative", narrative_id=nid), 303)


def _narrative_page(narrative_id: int, error: str | None = None, form: dict[str, Any] | None = None,
                    status: int = 200) -> Any:
    session = read_session()
    detail = queries.narrative_detail(session, narrative_id)
    if detail is None:
        abort(404)
    members = queries.narrative_statements(session, narrative_id, limit=SPLIT_LIST)
    others = [n for n in _live_narratives() if n["id"] != narrative_id]
    return render_template("manage_narrative.html", n=detail, members=members, others=others, error=error,
                           form=form or {}, statuses=EDITABLE_STATUSES, editable=detail["status"] in EDITABLE_STATUSES,
                           split_limit=SPLIT_LIST, messages=get_flashed_messages(with_categories=True)), status


@bp.get("/narratives/<int:narrative_id>")
@access("researcher")
def narrative(narrative_id: int) -> Any:
    return _narrative_page(narrative_id)


def _edit(narrative_id: int, form: dict[str, Any], change: Any, done: str) -> Any:
    """Run one edit in one transaction; on a refused edit show the page again with the reason."""
    try:
        with state().db.transaction() as tx:
            result = change(tx)
    except ManageError as exc:
        if exc.kind == "not_found":
            abort(404)
        return _narrative_page(narrative_id, str(exc), form, 409 if exc.kind == "conflict" else 422)
    flash(done, "ok")
    return result


def _refresh(ids: set[int]) -> None:
    """Keywords, representatives and centroids after a merge or split, outside the edit's transaction."""
    st = state()
    with st.db.reader() as session:
        models = {m for m in session.scalars(select(Narrative.model).where(Narrative.id.in_(ids))) if m}
    for model in models or {st.config.embedding.model}:
        refresh_narratives(st.db, st.config.narratives, model, ids)


@bp.post("/narratives/<int:narrative_id>/rename")
@access("researcher")
def rename(narrative_id: int) -> Any:
    form = {"label": request.form.get("label", ""), "description": request.form.get("description", "")}
    out = _edit(narrative_id, form,
                lambda tx: update_narrative(tx, narrative_id, label=form["label"], description=form["description"],
                                            user=current_user()),
                "Saved the label and description.")
    return out if not isinstance(out, Narrative) else redirect(url_for("manage.narrative", narrative_id=narrative_id), 303)


@bp.post("/narratives/<int:narrative_id>/status")
@access("researcher")
def set_status(narrative_id: int) -> Any:
    status = request.form.get("status", "")
    form = {"status": status}
    if status not in EDITABLE_STATUSES:
        return _narrative_page(narrative_id, f"Status must be one of {', '.join(EDITABLE_STATUSES)}.", form, 422)
    out = _edit(narrative_id, form,
                lambda tx: update_narrative(tx, narrative_id, status=status, user=current_user()),
                "Archived: it stays readable but takes no new statements." if status == "archived"
                else f"Status set to {status}.")
    return out if not isinstance(out, Narrative) else redirect(url_for("manage.narrative", narrative_id=narrative_id), 303)


@bp.post("/narratives/<int:narrative_id>/merge")
@access("researcher")
def merge(narrative_id: int) -> Any:
    into = request.form.get("into", "")
    form = {"into": into}
    if not into.isdigit() or len(into) > 10:
        return _narrative_page(narrative_id, "Choose the narrative to merge into.", form, 422)
    out = _edit(narrative_id, form, lambda tx: merge_narratives(tx, narrative_id, int(into), user=current_user()).id,
                f"Merged #{narrative_id} into #{into}.")
    if not isinstance(out, int):
        return out
    _refresh({out})
    return redirect(url_for("manage.narrative", narrative_id=out), 303)


@bp.post("/narratives/<int:narrative_id>/split")
@access("researcher")
def split(narrative_id: int) -> Any:
    label = request.form.get("label", "")
    raw = request.form.getlist("statement_ids")
    form = {"label": label, "statement_ids": raw}
    if not raw or any(not s.isdigit() or len(s) > 10 for s in raw):
        return _narrative_page(narrative_id, "Tick the statements that go to the new narrative.", form, 422)
    out = _edit(narrative_id, form,
                lambda tx: split_narrative(tx, narrative_id, [int(s) for s in raw], label, user=current_user()).id,
                f"Split {len(raw)} statements off into a new narrative.")
    if not isinstance(out, int):
        return out
    _refresh({narrative_id, out})
    return redirect(url_for("manage.narrative", narrative_id=out), 303)
