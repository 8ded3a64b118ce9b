"""Incremental assignment thresholds, the unassigned pool, and researchers' tags (with undo)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select, update

from tests.vectors import MODEL, TEST_LEVELS, add, axis, current, discover, fixed, group, narratives_cfg, near
from tracker import jobs
from tracker.config import Config
from tracker.db import Database
from tracker.models import Assignment, AuditEvent, Narrative, Statement
from tracker.narratives.assign import assign_pending
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.tags import restore, snapshot, tag_statement
from tracker.narratives.vectors import centroid_from_bytes


def rows_of(db: Database, sid: int) -> dict[int, tuple[str, str]]:
    with db.reader() as session:
        return {n: (st, m) for n, st, m in session.execute(select(
            Assignment.narrative_id, Assignment.state, Assignment.method).where(Assignment.statement_id == sid))}


def setup_four(db: Database, config: Config) -> tuple[dict[int, list[int]], dict[int, int]]:
    g = group(db, {0: 6, 1: 6, 2: 6, 3: 6})
    discover(db, narratives_cfg(config), MODEL)
    return g, {d: current(db)[g[d][0]] for d in g}


def test_score_at_or_above_auto_is_assigned_automatically(db: Database, config: Config) -> None:
    _, home = setup_four(db, config)
    sid = add(db, [axis((0, 0.9), (9, 0.436))])[0]  # cosine ~0.9 to narrative 0
    report = assign_pending(db, narratives_cfg(config), MODEL)
    assert report.assigned == 1
    assert rows_of(db, sid) == {home[0]: ("assigned", "auto")}


def test_score_in_the_band_is_suggested_with_at_most_three_candidates(db: Database, config: Config) -> None:
    _, home = setup_four(db, config)
    sid = add(db, [axis((0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0))])[0]  # ~0.5 to each of four narratives
    report = assign_pending(db, narratives_cfg(config), MODEL)
    assert report.suggested == 1 and report.assigned == 0
    got = rows_of(db, sid)
    assert len(got) == 3 and set(got) <= set(home.values())
    assert all(v == ("suggested", "suggest") for v in got.values())


def test_score_below_suggest_waits_in_the_pool(db: Database, config: Config) -> None:
    setup_four(db, config)
    sid = add(db, [axis((0, 0.2), (9, 0.98))])[0]
    report = assign_pending(db, narratives_cfg(config), MODEL)
    assert report.unassigned == 1 and rows_of(db, sid) == {}
    assert sid in jobs.unassigned_pool(db)


def test_pool_becomes_an_emerging_narrative(db: Database, config: Config) -> None:
    setup_four(db, config)
    pool = add(db, [near(7, i) for i in range(10)])
    cfg = config.replace(embedding={"model": MODEL}, narratives={"min_size": 3, "random_state": 0, **TEST_LEVELS})
    counts = jobs.cluster(db, cfg, MODEL)
    assert counts["mode"] == "incremental" and counts["emerging_created"] == 1
    homes = {current(db).get(s) for s in pool}
    assert len(homes) == 1 and None not in homes
    with db.reader() as session:
        assert session.get(Narrative, homes.pop()).status == "emerging"  # type: ignore[union-attr]


def test_a_run_right_after_full_discovery_does_not_cluster_the_same_pool_again(
    db: Database, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jobs.cluster(full=True) measures the real scale of this small corpus, so the default levels apply
    group(db, {0: 6, 1: 6})
    loners = add(db, [near(8, 0), near(9, 0)])
    cfg = config.replace(embedding={"model": MODEL}, narratives={"min_size": 3, "random_state": 0})
    assert jobs.cluster(db, cfg, MODEL, full=True)["pool"] == 2
    assert set(loners) <= set(jobs.unassigned_pool(db))

    def not_again(*_args: object, **_kw: object) -> int:
        raise AssertionError("the pool discovery just weighed was clustered again")

    monkeypatch.setattr("tracker.narratives.registry.discover_pool", not_again)
    counts = jobs.cluster(db, cfg, MODEL)
    assert counts["mode"] == "incremental" and counts["pool"] == 2 and counts["emerging_created"] == 0
    add(db, [near(8, 1)])  # something new in the pool: now it is worth clustering
    with pytest.raises(AssertionError, match="clustered again"):
        jobs.cluster(db, cfg, MODEL)


def test_rejected_statement_never_returns_through_incremental_assignment(db: Database, config: Config) -> None:
    _, home = setup_four(db, config)
    cfg = narratives_cfg(config)
    sid = add(db, [axis((0, 0.9), (9, 0.436))])[0]
    assign_pending(db, cfg, MODEL)
    with db.transaction() as session:
        tag_statement(session, sid, "reject")
    assign_pending(db, cfg, MODEL)
    assert rows_of(db, sid) == {home[0]: ("rejected", "manual")}


@pytest.mark.parametrize("action", ["confirm", "reject", "reassign", "clear"])
def test_each_tag_writes_one_audit_row_and_restore_undoes_it(db: Database, config: Config, action: str) -> None:
    g, home = setup_four(db, config)
    sid = g[0][0]
    with db.transaction() as session:
        before = snapshot(session, sid)
        result = tag_statement(session, sid, action, home[1] if action == "reassign" else None)
    expected = {"confirm": {home[0]: ("confirmed", "manual")}, "reject": {home[0]: ("rejected", "manual")},
                "reassign": {home[0]: ("rejected", "manual"), home[1]: ("confirmed", "manual")}, "clear": {}}
    assert rows_of(db, sid) == expected[action]
    with db.reader() as session:
        audit = session.get(AuditEvent, result["audit_id"])
        assert audit is not None and audit.action == f"statement.{action}"
        assert audit.old == {"assignments": before, "off_topic": False}
    with db.transaction() as session:
        restore(session, sid, before)
    assert rows_of(db, sid) == {home[0]: ("assigned", "discovery")}


def test_confirming_another_narrative_replaces_an_earlier_confirmation(db: Database, config: Config) -> None:
    g, home = setup_four(db, config)
    sid = g[0][0]
    with db.transaction() as session:
        tag_statement(session, sid, "confirm")
    with db.transaction() as session:
        tag_statement(session, sid, "confirm", home[1])
    assert rows_of(db, sid) == {home[1]: ("confirmed", "manual")}


def test_confirmations_pull_a_borderline_statement_over_the_auto_threshold(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    base = add(db, [near(0, i) for i in range(6)])
    leaning = add(db, [axis((0, 1.0), (5, 0.6 + 0.02 * i)) for i in range(3)])
    discover(db, cfg, MODEL, estimator=fixed({0: base + leaning}))
    nid = current(db)[base[0]]
    with db.reader() as session:
        c = centroid_from_bytes(session.get(Narrative, nid).centroid)  # type: ignore[union-attr]
    toward = axis((5, 1.0)) - (axis((5, 1.0)) @ c) * c
    borderline = 0.58 * c + np.sqrt(1 - 0.58**2) * toward / np.linalg.norm(toward)  # cosine 0.58 < auto 0.62
    first = add(db, [borderline])[0]
    assign_pending(db, cfg, MODEL)
    assert rows_of(db, first)[nid][0] == "suggested"
    with db.transaction() as session:
        for s in leaning:
            tag_statement(session, s, "confirm")
    refresh_narratives(db, cfg, MODEL, {nid})
    second = add(db, [borderline])[0]
    assign_pending(db, cfg, MODEL)
    assert rows_of(db, second) == {nid: ("assigned", "auto")}


def test_sizes_and_activity_dates_grow_with_joined_statements_as_a_recount_would(db: Database, config: Config) -> None:
    _, home = setup_four(db, config)
    new = add(db, [near(0, 100), near(0, 101), near(0, 102), near(1, 100)], prefix="dated")
    dates = [datetime(2019, 1, 1, tzinfo=UTC), datetime(2030, 6, 1, tzinfo=UTC), None, datetime(2021, 3, 3, tzinfo=UTC)]
    with db.transaction() as session:
        for sid, when in zip(new, dates, strict=True):
            session.execute(update(Statement).where(Statement.id == sid).values(published_at=when))
    assert assign_pending(db, narratives_cfg(config), MODEL).assigned == 4
    with db.reader() as session:
        for nid in (home[0], home[1], home[2]):
            row = session.get(Narrative, nid)
            assert row is not None
            recount = session.execute(
                select(func.count(Assignment.id), func.min(Statement.published_at), func.max(Statement.published_at))
                .join(Statement, Statement.id == Assignment.statement_id)
                .where(Assignment.narrative_id == nid, Assignment.state.in_(("assigned", "confirmed")))).one()
            assert (row.size, row.first_seen_at, row.last_seen_at) == tuple(recount)
        grown = session.get(Narrative, home[0])
        assert grown is not None and grown.size == 9
        assert (grown.first_seen_at.year, grown.last_seen_at.year) == (2019, 2030)  # type: ignore[union-attr]


def test_a_dismissed_statement_leaves_its_narrative_the_pool_and_discovery_and_undo_brings_it_back(
    db: Database, config: Config
) -> None:
    g, home = setup_four(db, config)
    sid = g[0][0]
    with db.transaction() as session:
        before = snapshot(session, sid)
        result = tag_statement(session, sid, "dismiss")
    assert result["off_topic"] is True and rows_of(db, sid) == {}
    assert sid not in jobs.unassigned_pool(db)
    discover(db, narratives_cfg(config), MODEL)  # re-clustering leaves it out
    assert rows_of(db, sid) == {}
    with db.transaction() as session:
        restore(session, sid, before, off_topic=False)
        assert session.get(Statement, sid).off_topic is False  # type: ignore[union-attr]
    assert rows_of(db, sid) == {home[0]: ("assigned", "discovery")}
