"""Dashboard: researchers manage narratives (``/manage``): seed and tune, rename, archive, merge (after a
confirmation, and undo it), split into a new narrative or move statements into an existing one.

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
from tracker.service import narratives, statements
from tracker.vocabulary import EDITABLE_STATUSES
from tracker.web.auth import access, current_user
from tracker.web.context import read_session, state, workspace
from tracker.web.errors import STATUS_OF
from tracker.web.requests import ID, filter_from_request

log = logging.getLogger(__name__)

bp = Blueprint("manage", __name__, url_prefix="/manage")

SPLIT_LIST = 300
MAX_EXAMPLES = 50
NEAREST = 20  # statements shown nearest a seeded narrative


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
          "are suggested for review in the tagging queue. The statements nearest to it are listed below: "
          "tune the examples until the right ones join.", "ok")
    return redirect(url_for("manage.narrative", narrative_id=seeded.narrative_id), 303)


def _narrative_page(narrative_id: int, error: str | None = None, form: dict[str, Any] | None = None,
                    status: int = 200) -> Any:
    session = read_session()
    detail = narratives.detail(session, narrative_id)
    if detail is None:
        abort(404)
    flt = filter_from_request(with_text=False)
    members = narratives.narrative_statements(session, narrative_id, limit=SPLIT_LIST, flt=flt)
    others = [n for n in narratives.list_narratives(session, limit=None, triage=None) if n["id"] != narrative_id]
    seeded = detail["origin"] == "seeded"
    nearest = narratives.nearest(session, state().config, workspace().model, narrative_id,
                                 limit=NEAREST) if seeded else []
    return render_template("manage_narrative.html", n=detail, members=members, others=others, error=error,
                           form=form or {}, statuses=EDITABLE_STATUSES, editable=detail["status"] in EDITABLE_STATUSES,
                           split_limit=SPLIT_LIST, messages=get_flashed_messages(with_categories=True),
                           flt=flt, args=request.args, choices=statements.filter_choices(session), nearest=nearest,
                           examples=detail.get("examples") or [], seeded=seeded,
                           config_levels={"auto": state().config.narratives.auto_level,
                                          "suggest": state().config.narratives.suggest_level},
                           undoable=narratives.merges_to_undo(session, current_user(), narrative_id)), status


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
    """Merge after a confirmation page: the first post shows what would happen, the second (``confirm``) does it."""
    into = request.form.get("into", "")
    form = {"into": into}
    if not into.isdigit() or len(into) > 10:
        return _narrative_page(narrative_id, "Choose the narrative to merge into.", form, 422)
    if request.form.get("confirm") != "yes":
        session = read_session()
        source, target = narratives.detail(session, narrative_id), narratives.detail(session, int(into))
        if source is None:
            abort(404)
        if target is None:
            return _narrative_page(narrative_id, f"Narrative #{into} does not exist.", form, 422)
        return render_template("manage_merge.html", n=source, into=target)
    return _edit(narrative_id, form, lambda: narratives.merge(workspace(), current_user(), narrative_id, int(into)),
                 f"Merged #{narrative_id} into #{into}. Changed your mind? Undo it below.")


@bp.post(f"/narratives/<{ID}:narrative_id>/unmerge")
@access("researcher")
def unmerge(narrative_id: int) -> Any:
    """Undo a merge: its statements go back and the narrative is live again."""
    return _edit(narrative_id, {}, lambda: narratives.undo_merge(workspace(), current_user(), narrative_id),
                 f"Undid the merge: #{narrative_id} has its statements back.")


@bp.post(f"/narratives/<{ID}:narrative_id>/split")
@access("researcher")
def split(narrative_id: int) -> Any:
    """The ticked statements go to a new narrative (``to=new``, with a label) or to an existing one
    (``to=existing``, with ``into``)."""
    label, into, to = request.form.get("label", ""), request.form.get("into", ""), request.form.get("to", "new")
    raw = request.form.getlist("statement_ids")
    form = {"label": label, "statement_ids": raw, "move_into": into}
    if not raw or any(not s.isdigit() or len(s) > 10 for s in raw):
        return _narrative_page(narrative_id, "Tick the statements to move.", form, 422)
    ids = [int(s) for s in raw]
    if to == "existing":
        if not into.isdigit() or len(into) > 10:
            return _narrative_page(narrative_id, "Choose the narrative to move them into.", form, 422)
        return _edit(narrative_id, form,
                     lambda: narratives.move(workspace(), current_user(), narrative_id, ids, int(into)),
                     f"Moved {len(ids)} statements from #{narrative_id} into this narrative.")
    return _edit(narrative_id, form, lambda: narratives.split(workspace(), current_user(), narrative_id, ids, label),
                 f"Split {len(ids)} statements off into a new narrative.")


@bp.post(f"/narratives/<{ID}:narrative_id>/examples")
@access("researcher")
def examples(narrative_id: int) -> Any:
    """New examples for a seeded narrative: what joins it and what is suggested is scored again."""
    text = request.form.get("examples", "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    form = {"examples": text}
    if not lines or len(lines) > MAX_EXAMPLES or any(len(line) > 5000 for line in lines):
        return _narrative_page(narrative_id, f"Give 1 to {MAX_EXAMPLES} example statements, one a line.", form, 422)

    def change() -> int:
        report = narratives.retune(workspace(), current_user(), narrative_id, lines)
        flash(f"{report.assigned} statements join it now, {report.suggested} are suggested.", "ok")
        return narrative_id

    return _edit(narrative_id, form, change, "Saved the examples.")
