"""Full discovery keeps narrative ids stable and records splits, merges and retirements.

Vectors are made by hand (a few orthogonal directions plus small deterministic noise) and written
straight into the embeddings table, so every similarity in these tests is known in advance. Where
a test needs a particular clustering, it passes a fixed-label estimator to ``run_discovery``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from tests.vectors import (
    MODEL,
    DictEmbedder,
    add,
    axis,
    current,
    discover,
    fixed,
    group,
    narratives_cfg,
    near,
    use_test_scale,
)
from tracker.config import Config
from tracker.db import Database, ensure_schema
from tracker.models import Assignment, Narrative, NarrativeEvent, Statement
from tracker.narratives.refresh import refresh_narratives
from tracker.narratives.registry import STAY_MARGIN
from tracker.narratives.seeds import add_seeded_narrative
from tracker.narratives.tags import tag_statement


def events(db: Database) -> list[tuple[int, str, int | None]]:
    with db.reader() as session:
        return [tuple(r) for r in session.execute(select(
            NarrativeEvent.narrative_id, NarrativeEvent.kind, NarrativeEvent.other_narrative_id))]


# ------------------------------------------------------------------------------------------- tests

def test_rerun_on_unchanged_data_keeps_every_id(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    group(db, {0: 6, 1: 6, 2: 6})
    first = discover(db, cfg, MODEL)
    before = current(db)
    second = discover(db, cfg, MODEL)
    assert first.clusters == 3 and len(set(before.values())) == 3
    assert current(db) == before
    assert (second.kept, second.created, second.split, second.merged, second.retired) == (3, 0, 0, 0, 0)
    assert second.stability == 1.0
    assert {kind for _, kind, _ in events(db)} == {"created"}


def test_added_statements_join_the_narratives_that_already_hold_their_group(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    old = group(db, {0: 6, 1: 6, 2: 6})
    discover(db, cfg, MODEL)
    before = current(db)
    new = {d: add(db, [near(d, 100 + i) for i in range(3)], "new") for d in (0, 1, 2)}
    report = discover(db, cfg, MODEL)
    after = current(db)
    assert report.created == 0 and report.kept == 3
    assert all(after[s] == n for s, n in before.items())
    for d in (0, 1, 2):
        assert {after[s] for s in new[d]} == {before[old[d][0]]}


def test_split_records_split_from_and_split_into(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 4})
    discover(db, cfg, MODEL, estimator=fixed({0: g[0] + g[1]}))
    parent = current(db)[g[0][0]]
    report = discover(db, cfg, MODEL, estimator=fixed({0: g[0], 1: g[1]}))
    after = current(db)
    child = after[g[1][0]]
    assert {after[s] for s in g[0]} == {parent}
    assert {after[s] for s in g[1]} == {child} and child != parent
    assert report.split == 1
    assert (child, "split_from", parent) in events(db)
    assert (parent, "split_into", child) in events(db)


def test_merge_records_events_and_marks_the_merged_narrative(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    big = add(db, [near(0, i) for i in range(6)])
    close = add(db, [axis((0, 1.0), (3, 0.4 + 0.02 * i)) for i in range(4)])  # cosine ~0.9 to the first group
    discover(db, cfg, MODEL, estimator=fixed({0: big, 1: close}))
    heir, gone = current(db)[big[0]], current(db)[close[0]]
    report = discover(db, cfg, MODEL, estimator=fixed({0: big + close}))
    assert report.merged == 1
    assert {current(db)[s] for s in close} == {heir}
    with db.reader() as session:
        merged = session.get(Narrative, gone)
        assert merged is not None and (merged.status, merged.merged_into_id) == ("merged", heir)
    assert (gone, "merged_into", heir) in events(db)
    assert (heir, "merged_from", gone) in events(db)


def test_two_distinct_narratives_put_in_one_cluster_keep_their_ids(db: Database, config: Config) -> None:
    """A merge needs evidence: groups that are not similar stay apart whatever one run says."""
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 5})
    discover(db, cfg, MODEL, estimator=fixed({0: g[0], 1: g[1]}))
    before = current(db)
    report = discover(db, cfg, MODEL, estimator=fixed({0: g[0] + g[1]}))
    assert report.merged == 0 and current(db) == before


def test_a_member_stays_at_a_level_too_low_to_join_but_not_below_the_stay_bar(db: Database, config: Config) -> None:
    """Hysteresis: joining needs the join level (4.0 here, mean similarity 0.40), staying only
    STAY_MARGIN less (3.7: 0.37)."""
    cfg = narratives_cfg(config, join_level=4.0)
    assert cfg.join_level - STAY_MARGIN == pytest.approx(3.7)
    g = group(db, {0: 6})
    edge, far = add(db, [axis((0, 0.385), (5, 0.923)), axis((0, 0.25), (6, 0.968))], prefix="edge")
    discover(db, cfg, MODEL, estimator=fixed({0: [*g[0], edge, far]}))
    nid = current(db)[g[0][0]]
    assert current(db)[edge] == nid and current(db)[far] == nid
    mean = np.mean([near(0, i) for i in range(6)], axis=0)  # the group the next run keeps, without them
    assert 3.7 <= 10 * float(axis((0, 0.385), (5, 0.923)) @ mean) < 4.0  # the premise: between the bars
    assert 10 * float(axis((0, 0.25), (6, 0.968)) @ mean) < 3.7
    discover(db, cfg, MODEL, estimator=fixed({0: g[0], -1: [edge, far]}))
    after = current(db)
    assert after.get(edge) == nid, "a member above the stay bar left its narrative"
    assert far not in after, "a member below the stay bar stayed"


def test_narrative_whose_statements_are_gone_is_retired(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 6})
    discover(db, cfg, MODEL)
    gone = current(db)[g[1][0]]
    with db.transaction() as session:
        session.execute(delete(Statement).where(Statement.id.in_(g[1])))
    report = discover(db, cfg, MODEL)
    assert report.retired == 1
    with db.reader() as session:
        assert session.get(Narrative, gone).status == "retired"  # type: ignore[union-attr]
    assert (gone, "retired", None) in events(db)


def test_confirmed_narrative_is_never_dissolved_and_keeps_its_members(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    big = add(db, [near(0, i) for i in range(6)])
    close = add(db, [axis((0, 1.0), (3, 0.4 + 0.02 * i)) for i in range(4)])
    discover(db, cfg, MODEL, estimator=fixed({0: big, 1: close}))
    locked = current(db)[close[0]]
    with db.transaction() as session:
        tag_statement(session, close[0], "confirm")
    report = discover(db, cfg, MODEL, estimator=fixed({0: big + close}))
    assert report.merged == 0
    assert {current(db)[s] for s in close} == {locked}
    with db.reader() as session:
        assert session.get(Narrative, locked).status == "active"  # type: ignore[union-attr]


def test_seeded_narrative_survives_full_discovery(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 4: 5})
    embedder = DictEmbedder({"example": axis((4, 1.0))})
    use_test_scale(db)
    seeded, _ = add_seeded_narrative(db, cfg, embedder, "Seeded", None, ["example"])
    members = {s for s, n in current(db).items() if n == seeded}
    assert members == set(g[4])
    discover(db, cfg, MODEL, estimator=fixed({0: g[0] + g[4]}))
    assert {s for s, n in current(db).items() if n == seeded} == members
    with db.reader() as session:
        assert session.get(Narrative, seeded).status == "active"  # type: ignore[union-attr]


def test_rejected_statement_does_not_return_through_full_discovery(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 6})
    discover(db, cfg, MODEL)
    home = current(db)[g[0][0]]
    with db.transaction() as session:
        tag_statement(session, g[0][0], "reject")
    discover(db, cfg, MODEL)
    assert current(db).get(g[0][0]) != home
    with db.reader() as session:
        state = session.scalar(select(Assignment.state).where(Assignment.statement_id == g[0][0],
                                                              Assignment.narrative_id == home))
    assert state == "rejected"


def _partition(db: Database) -> tuple[set[frozenset[str]], dict[str, float]]:
    with db.reader() as session:
        rows = session.execute(select(Statement.text, Assignment.narrative_id, Assignment.score).join(
            Assignment, Assignment.statement_id == Statement.id).where(Assignment.state == "assigned")).all()
    groups: dict[int, set[str]] = {}
    for text, nid, _ in rows:
        groups.setdefault(nid, set()).add(text)
    return {frozenset(g) for g in groups.values()}, {t: round(s, 5) for t, _, s in rows}


def test_same_data_and_seed_give_the_same_narratives_and_assignments(db: Database, config: Config,
                                                                      tmp_path: Path) -> None:
    cfg = narratives_cfg(config)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    ensure_schema(other)
    for database in (db, other):
        add(database, [near(d, i, noise=0.3) for d in range(5) for i in range(8)])
        discover(database, cfg, MODEL)
    assert _partition(db) == _partition(other)
    assert len(_partition(db)[0]) >= 3
    other.dispose()



def _label_of(db: Database, nid: int) -> tuple[str, str | None, int | None]:
    with db.reader() as session:
        nar = session.get(Narrative, nid)
        assert nar is not None
        return nar.label, nar.description, nar.label_source_id


def test_a_discovered_narrative_is_named_after_its_most_representative_statement(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6})
    discover(db, cfg, MODEL, estimator=fixed({0: g[0]}))
    label, description, source = _label_of(db, current(db)[g[0][0]])
    assert source in g[0] and label.startswith("S statement") and description


def test_an_automatic_label_stays_while_its_statement_represents_and_changes_with_a_record(
    db: Database, config: Config
) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 6})
    discover(db, cfg, MODEL, estimator=fixed({0: g[0], 1: g[1]}))
    nid = current(db)[g[0][0]]
    before = _label_of(db, nid)
    refresh_narratives(db, cfg, MODEL, {nid})  # nothing moved: the name stays
    assert _label_of(db, nid) == before
    with db.transaction() as session:  # the statement it was named after leaves the narrative
        session.execute(delete(Statement).where(Statement.id == before[2]))
    refresh_narratives(db, cfg, MODEL, {nid})
    after = _label_of(db, nid)
    assert after[2] != before[2] and after[0] != before[0]
    with db.reader() as session:
        detail = session.scalar(select(NarrativeEvent.detail).where(
            NarrativeEvent.narrative_id == nid, NarrativeEvent.kind == "relabelled"))
    assert detail is not None and (detail["old"], detail["new"]) == (before[0], after[0])


def test_a_label_a_researcher_edited_is_never_overwritten(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6})
    discover(db, cfg, MODEL, estimator=fixed({0: g[0]}))
    nid = current(db)[g[0][0]]
    with db.transaction() as session:
        nar = session.get(Narrative, nid)
        assert nar is not None
        nar.label, nar.label_edited = "US bio-labs", True
        session.execute(delete(Statement).where(Statement.id.in_(g[0][:3])))
    discover(db, cfg, MODEL)
    assert _label_of(db, nid)[0] == "US bio-labs"
