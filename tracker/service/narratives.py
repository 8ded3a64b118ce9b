"""Narratives: the listing every face shows, one narrative and its timeline, and researchers' edits
(seed and tune, rename and describe, change status, merge and undo it, split, move statements).

Each edit runs in one transaction with its history and audit row; merges and splits then refresh
the narratives' keywords and centroids in the current embedding model's space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tracker import queries
from tracker.analysis.spread import Growth, detect_bursts, growth, one_status, to_utc
from tracker.analysis.timeline import DEFAULT_EDGE_LIMIT, limit_edges, wave_view
from tracker.config import Config, TimelineConfig
from tracker.errors import Refused
from tracker.models import Assignment, AuditEvent, Narrative, Statement, User
from tracker.narratives import manage
from tracker.narratives.assign import AssignReport
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.seeds import add_seeded_narrative, nearest_statements, update_examples
from tracker.narratives.tags import tag_statement
from tracker.queries import (
    StatementFilter,
    list_narratives,
    narrative_dates,
    narrative_labels,
    narrative_statements,
)
from tracker.service.workspace import Workspace
from tracker.vocabulary import SHOWN_TRIAGE, TRIAGE_STATES

__all__ = ["DEFAULT_EDGE_LIMIT", "TRIAGE_CHOICES", "Growth", "Seeded", "activity", "one_status", "StatementFilter", "burst_flags", "data_span", "detail",
           "edit", "limit_edges", "list_narratives", "merge", "merges_to_undo", "move", "narrative_dates",
           "narrative_labels", "narrative_statements", "nearest", "retune", "seed", "seed_from_statement", "split",
           "timeline", "triage_filter", "undo_merge", "wave_view"]


@dataclass(frozen=True)
class Seeded:
    """A new seeded narrative and what it pulled in: statements joined and suggested."""

    narrative_id: int
    report: AssignReport
    audit_id: int | None = None  # of the statement it was seeded from, confirmed in it


TRIAGE_CHOICES = ("shown", "all", *TRIAGE_STATES)


def triage_filter(value: str | None) -> tuple[str, ...] | None:
    """What a ``triage`` argument asks every face's listing for: "shown" (the default: tracked narratives
    and candidates), "all", or triage states joined with commas; None means every state."""
    value = (value or "shown").strip().lower()
    if value == "shown":
        return SHOWN_TRIAGE
    if value == "all":
        return None
    states = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [v for v in states if v not in TRIAGE_STATES]
    if bad or not states:
        raise Refused(f"triage must be shown, all, or some of {', '.join(TRIAGE_STATES)}; got {value!r}",
                      kind="invalid", field="triage")
    return states


def detail(session: Session, narrative_id: int) -> dict[str, Any] | None:
    return queries.narrative_detail(session, narrative_id)


def timeline(session: Session, config: Config, narrative_id: int) -> dict[str, Any] | None:
    """The narrative's timeline document (who first, who followed, how fast, where); None when there is
    no such narrative. ``limit_edges`` keeps the heaviest actor edges of it for sending, ``wave_view``
    narrows it to one wave (its first mover, followers, lags, flows and edges)."""
    return queries.narrative_timeline(session, narrative_id, config)


def data_span(session: Session) -> tuple[datetime | None, datetime]:
    """The first statement's time (None without dated statements) and "now" as the data sees it."""
    first = session.scalar(select(func.min(Statement.published_at)))
    return (to_utc(first) if first else None), to_utc(queries.data_now(session))


def burst_flags(dates: list[datetime], now: datetime, cfg: TimelineConfig) -> frozenset[str]:
    """Emerging, surging, resurgent or dormant, for a narrative's statement dates as of ``now``."""
    return detect_bursts(dates, now=now, dormant_days=cfg.dormant_days, emerging_days=cfg.recent_days).flags


def activity(dates: list[datetime], now: datetime, cfg: TimelineConfig, stored_status: str) -> dict[str, Any]:
    """What the overview says of a narrative's activity as of ``now``: ``status``, its one status (see
    ``one_status``), ``growth`` over the last 7 and 30 days against its own baseline, and the burst
    ``flags`` behind them."""
    flags = burst_flags(dates, now, cfg)
    return {"status": one_status(flags, stored_status), "growth": growth(dates, now, cfg.growth_baseline_days),
            "flags": flags}


def seed(ws: Workspace, user: User | None, label: str, description: str | None, examples: list[str]) -> Seeded:
    """A researcher-defined narrative from a label and examples; the statements that match join it."""
    nid, report = add_seeded_narrative(ws.db, ws.config.narratives, ws.embedder, label, description, examples,
                                       user=user)
    return Seeded(nid, report)


def seed_from_statement(ws: Workspace, user: User | None, statement_id: int, label: str,
                        description: str | None = None) -> Seeded:
    """A seeded narrative with one statement as its example, and that statement confirmed in it."""
    with ws.db.reader() as session:
        text = session.scalar(select(Statement.text).where(Statement.id == statement_id))
    if text is None:
        raise Refused(f"statement {statement_id} does not exist", kind="not_found", field="statement_id")
    seeded = seed(ws, user, label, description, [text])
    with ws.db.transaction() as tx:
        audit_id = tag_statement(tx, statement_id, "confirm", seeded.narrative_id, user=user)["audit_id"]
    return Seeded(seeded.narrative_id, seeded.report, audit_id)


def edit(ws: Workspace, user: User | None, narrative_id: int, *, label: str | None = None,
         description: str | None = None, status: str | None = None, triage: str | None = None) -> dict[str, Any]:
    """Rename, describe, change the status or triage (candidate, tracked, not_narrative); returns the
    narrative as it now stands (read in the same transaction, so a failure to read it undoes the edit too)."""
    with ws.db.transaction() as tx:
        manage.update_narrative(tx, narrative_id, label=label, description=description, status=status,
                                triage=triage, user=user)
        found = queries.narrative_detail(tx, narrative_id)
        assert found is not None
        return found


def merge(ws: Workspace, user: User | None, narrative_id: int, into: int) -> int:
    """Fold a narrative into another; returns the id that remains."""
    with ws.db.transaction() as tx:
        kept = manage.merge_narratives(tx, narrative_id, into, user=user).id
    _refresh(ws, {kept})
    return kept


def split(ws: Workspace, user: User | None, narrative_id: int, statement_ids: list[int], label: str) -> int:
    """Move some statements of a narrative into a new one called ``label``; returns the new id."""
    with ws.db.transaction() as tx:
        new_id = manage.split_narrative(tx, narrative_id, statement_ids, label, user=user).id
    _refresh(ws, {narrative_id, new_id})
    return new_id


def move(ws: Workspace, user: User | None, narrative_id: int, statement_ids: list[int], into: int) -> int:
    """Move some statements of a narrative into another, existing one; returns the id they went to."""
    with ws.db.transaction() as tx:
        manage.move_statements(tx, narrative_id, statement_ids, into, user=user)
    _refresh(ws, {narrative_id, into})
    return into


def undo_merge(ws: Workspace, user: User | None, narrative_id: int) -> int:
    """Undo the merge of ``narrative_id`` (only who merged it, while nothing changed since); returns it."""
    with ws.db.transaction() as tx:
        into = tx.scalar(select(Narrative.merged_into_id).where(Narrative.id == narrative_id))
        manage.unmerge_narratives(tx, narrative_id, user=user)
    _refresh(ws, {narrative_id} | ({into} if into else set()))
    return narrative_id


def merges_to_undo(session: Session, user: User | None, narrative_id: int) -> list[dict[str, Any]]:
    """The narratives ``user`` merged into ``narrative_id`` (or ``narrative_id`` itself, if they merged
    it), newest first, which an undo could still bring back: ``{id, label}``."""
    if user is None:
        return []
    merged = session.execute(select(Narrative.id, Narrative.label).where(
        Narrative.status == "merged", or_(Narrative.merged_into_id == narrative_id, Narrative.id == narrative_id)))
    out = []
    for nid, label in merged:
        by = session.scalar(select(AuditEvent.user_id).where(AuditEvent.action == "narrative.merge",
                                                             AuditEvent.object_id == str(nid))
                            .order_by(AuditEvent.id.desc()).limit(1))
        if by == user.id:
            out.append({"id": nid, "label": label})
    return sorted(out, key=lambda n: -n["id"])


def nearest(session: Session, config: Config, model: str, narrative_id: int, *, limit: int = 20
            ) -> list[dict[str, Any]]:
    """The statements nearest a narrative, best first: each with its ``level`` and its ``state`` in this
    narrative (None: not in it), and whether the level lets it join (``joins``) or be suggested."""
    found = nearest_statements(session, config.narratives, model, narrative_id, limit=limit)
    states = dict(session.execute(select(Assignment.statement_id, Assignment.state).where(
        Assignment.narrative_id == narrative_id, Assignment.statement_id.in_([sid for sid, _ in found] or [-1]))).all())
    rows = {r["id"]: r for r in queries.statements_by_ids(session, [sid for sid, _ in found])}
    cfg = config.narratives
    return [{**rows[sid], "level": level, "state": states.get(sid),
             "band": "joins" if level >= cfg.auto_level else "suggested" if level >= cfg.suggest_level else "below"}
            for sid, level in found if sid in rows]


def retune(ws: Workspace, user: User | None, narrative_id: int, examples: list[str]) -> AssignReport:
    """New examples for a seeded narrative; its automatic members and suggestions are scored again."""
    return update_examples(ws.db, ws.config.narratives, ws.embedder, narrative_id, examples, user=user)


def _refresh(ws: Workspace, ids: set[int]) -> None:
    """Keywords, representatives and centroids after a merge or split, outside the edit's transaction,
    in the narratives' own models (the current model when they name none)."""
    with ws.db.reader() as session:
        models = {m for m in session.scalars(select(Narrative.model).where(Narrative.id.in_(ids))) if m}
    for model in sorted(models or {ws.model}):
        refresh_narratives(ws.db, ws.config.narratives, model, ids)
