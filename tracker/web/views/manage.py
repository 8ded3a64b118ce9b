"""Dashboard: researchers manage narratives (``/manage``): seed, rename, archive, merge, split.

Plain HTML forms with CSRF tokens; each edit is one use case of ``tracker.service.narratives``, which
writes the history and the audit row in one transaction. A refused edit shows the page again with
the message and the researcher's input, status 422 (409 when the narrative can no longer be edited).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for

from tracker.errors import Refused
from tracker.service import narratives
from tracker.vocabulary import EDITABLE_STATUSES
from tracker.web.auth import access, current_user
from tracker.web.context import read_session, workspace
from tracker.web.errors import STATUS_OF
from tracker.web.requests import ID

log = logging.getLogger(__name__)

bp = Blueprint("manage", __name__, url_prefix="/manage")

SPLIT_LIST = 300
MAX_EXAMPLES = 50


def _index(error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("manage_index.html", narratives=narratives.list_narratives(read_session(), limit=None, triage=None),
                           error=error, form=form or {}, messages=get_flashed_messages(with_categories=True)), status


@bp.get("")
@access("researcher")
def index() -> Any:
    """The live narratives to edit, and the form to seed a new one."""
    return _index()


@bp.post("/narratives")
@access("researcher")
def create() -> Any:
    """A seeded narrative from the form's label, description and examples (one a line)."""
    form = {k: request.form.get(k, "") for k in ("label", "description", "examples")}
    label = form["label"].strip()
    examples = [line.strip() for line in form["examples"].splitlines() if line.strip()]
    if not label or len(label) > 300:
        return _index("Give a label of 1 to 300 characters.", form, 422)
    if not examples or len(examples) > MAX_EXAMPLES:
        return _index(f"Give 1 to {MAX_EXAMPLES} example statements, one a line.", form, 422)
    if len(form["description"]) > 5000:
        return _index("The description is longer than 5000 characters.", form, 422)
    try:
        seeded = narratives.seed(workspace(), current_user(), label, form["description"].strip() or None, examples)
    except Refused as exc:
        return _index(str(exc), form, 422)
    flash(f"Created \u201c{label}\u201d: {seeded.report.assigned} statements joined it, {seeded.report.suggested} "
          "are suggested for review in the tagging queue.", "ok")
    return redirect(url_for("manage.narrative", narrative_id=seeded.narrative_id), 303)


def _narrative_page(narrative_id: int, error: str | None = None, form: dict[str, Any] | None = None,
                    status: int = 200) -> Any:
    session = read_session()
    detail = narratives.detail(session, narrative_id)
    if detail is None:
        abort(404)
    members = narratives.narrative_statements(session, narrative_id, limit=SPLIT_LIST)
    others = [n for n in narratives.list_narratives(session, limit=None, triage=None) if n["id"] != narrative_id]
    return render_template("manage_narrative.html", n=detail, members=members, others=others, error=error,
                           form=form or {}, statuses=EDITABLE_STATUSES, editable=detail["status"] in EDITABLE_STATUSES,
                           split_limit=SPLIT_LIST, messages=get_flashed_messages(with_categories=True)), status


@bp.get(f"/narratives/<{ID}:narrative_id>")
@access("researcher")
def narrative(narrative_id: int) -> Any:
    return _narrative_page(narrative_id)


def _edit(narrative_id: int, form: dict[str, Any], change: Callable[[], int], done: str) -> Any:
    """Run one edit; on success go to the narrative it leaves, on a refusal show the page again with why."""
    try:
        target = change()
    except Refused as exc:
        if exc.kind == "not_found":
            abort(404)
        return _narrative_page(narrative_id, str(exc), form, STATUS_OF[exc.kind])
    flash(done, "ok")
    return redirect(url_for("manage.narrative", narrative_id=target), 303)


def _update(narrative_id: int, **changes: str) -> int:
    narratives.edit(workspace(), current_user(), narrative_id, **changes)
    return narrative_id


@bp.post(f"/narratives/<{ID}:narrative_id>/rename")
@access("researcher")
def rename(narrative_id: int) -> Any:
    form = {"label": request.form.get("label", ""), "description": request.form.get("description", "")}
    return _edit(narrative_id, form, lambda: _update(narrative_id, **form), "Saved the label and description.")


STATUS_DONE = {status: f"Status set to {status}." for status in EDITABLE_STATUSES} | {
    "archived": "Archived: it stays readable but takes no new statements."}
TRIAGE_DONE = {"tracked": "Tracked: it stays on the overview and its statements come first in the queue.",
               "candidate": "Back to candidate.",
               "not_narrative": "Marked not a narrative: hidden from the overview, its statements leave the queue."}


def _set_word(narrative_id: int, field: str, done: dict[str, str]) -> Any:
    """Set status or triage from the form's value, which must be one of ``done``'s keys."""
    value = request.form.get(field, "")
    form = {field: value}
    if value not in done:
        return _narrative_page(narrative_id, f"{field.capitalize()} must be one of {', '.join(done)}.", form, 422)
    return _edit(narrative_id, form, lambda: _update(narrative_id, **{field: value}), done[value])


@bp.post(f"/narratives/<{ID}:narrative_id>/status")
@access("researcher")
def set_status(narrative_id: int) -> Any:
    return _set_word(narrative_id, "status", STATUS_DONE)


@bp.post(f"/narratives/<{ID}:narrative_id>/triage")
@access("researcher")
def set_triage(narrative_id: int) -> Any:
    return _set_word(narrative_id, "triage", TRIAGE_DONE)


@bp.post(f"/narratives/<{ID}:narrative_id>/merge")
@access("researcher")
def merge(narrative_id: int) -> Any:
    into = request.form.get("into", "")
    form = {"into": into}
    if not into.isdigit() or len(into) > 10:
        return _narrative_page(narrative_id, "Choose the narrative to merge into.", form, 422)
    return _edit(narrative_id, form, lambda: narratives.merge(workspace(), current_user(), narrative_id, int(into)),
                 f"Merged #{narrative_id} into #{into}.")


@bp.post(f"/narratives/<{ID}:narrative_id>/split")
@access("researcher")
def split(narrative_id: int) -> Any:
    label = request.form.get("label", "")
    raw = request.form.getlist("statement_ids")
    form = {"label": label, "statement_ids": raw}
    if not raw or any(not s.isdigit() or len(s) > 10 for s in raw):
        return _narrative_page(narrative_id, "Tick the statements that go to the new narrative.", form, 422)
    return _edit(narrative_id, form,
                 lambda: narratives.split(workspace(), current_user(), narrative_id, [int(s) for s in raw], label),
                 f"Split {len(raw)} statements off into a new narrative.")
