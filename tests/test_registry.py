"""Full discovery keeps narrative ids stable and records splits, merges and retirements.

Vectors are made by hand (a few orthogonal directions plus small deterministic noise) and written
straight into the embeddings table, so every similarity in these tests is known in advance. Where
a test needs a particular clustering, it passes a fixed-label estimator to ``run_discovery``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from tests.vectors import MODEL, DictEmbedder, add, axis, current, fixed, group, narratives_cfg, near
from tracker.config import Config
from tracker.db import Database, ensure_schema
from tracker.models import Assignment, Narrative, NarrativeEvent, Statement
from tracker.narratives.registry import run_discovery
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
    first = run_discovery(db, cfg, MODEL)
    before = current(db)
    second = run_discovery(db, cfg, MODEL)
    assert first.clusters == 3 and len(set(before.values())) == 3
    assert current(db) == before
    assert (second.kept, second.created, second.split, second.merged, second.retired) == (3, 0, 0, 0, 0)
    assert second.stability == 1.0
    assert {kind for _, kind, _ in events(db)} == {"created"}


def test_added_statements_join_the_narratives_that_already_hold_their_group(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    old = group(db, {0: 6, 1: 6, 2: 6})
    run_discovery(db, cfg, MODEL)
    before = current(db)
    new = {d: add(db, [near(d, 100 + i) for i in range(3)], "new") for d in (0, 1, 2)}
    report = run_discovery(db, cfg, MODEL)
    after = current(db)
    assert report.created == 0 and report.kept == 3
    assert all(after[s] == n for s, n in before.items())
    for d in (0, 1, 2):
        assert {after[s] for s in new[d]} == {before[old[d][0]]}


def test_split_records_split_from_and_split_into(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 4})
    run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0] + g[1]}))
    parent = current(db)[g[0][0]]
    report = run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0], 1: g[1]}))
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
    run_discovery(db, cfg, MODEL, estimator=fixed({0: big, 1: close}))
    heir, gone = current(db)[big[0]], current(db)[close[0]]
    report = run_discovery(db, cfg, MODEL, estimator=fixed({0: big + close}))
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
    run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0], 1: g[1]}))
    before = current(db)
    report = run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0] + g[1]}))
    assert report.merged == 0 and current(db) == before


def test_a_member_stays_at_a_similarity_too_low_to_join_but_not_below_the_merge_rule(
    db: Database, config: Config
) -> None:
    """Hysteresis: staying needs the merge similarity (0.3), joining needs discovery_assign_threshold (0.4)."""
    cfg = narratives_cfg(config, merge_threshold=0.3, discovery_assign_threshold=0.4)
    g = group(db, {0: 6})
    edge, far = add(db, [axis((0, 0.36), (5, 0.933)), axis((0, 0.25), (6, 0.968))], prefix="edge")
    run_discovery(db, cfg, MODEL, estimator=fixed({0: [*g[0], edge, far]}))
    nid = current(db)[g[0][0]]
    assert current(db)[edge] == nid and current(db)[far] == nid
    run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0], -1: [edge, far]}))
    after = current(db)
    assert after.get(edge) == nid, "a member at 0.36 from its narrative left it"
    assert far not in after, "a member at 0.25 stayed, below the merge rule"


def test_narrative_whose_statements_are_gone_is_retired(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 6})
    run_discovery(db, cfg, MODEL)
    gone = current(db)[g[1][0]]
    with db.transaction() as session:
        session.execute(delete(Statement).where(Statement.id.in_(g[1])))
    report = run_discovery(db, cfg, MODEL)
    assert report.retired == 1
    with db.reader() as session:
        assert session.get(Narrative, gone).status == "retired"  # type: ignore[union-attr]
    assert (gone, "retired", None) in events(db)


def test_confirmed_narrative_is_never_dissolved_and_keeps_its_members(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    big = add(db, [near(0, i) for i in range(6)])
    close = add(db, [axis((0, 1.0), (3, 0.4 + 0.02 * i)) for i in range(4)])
    run_discovery(db, cfg, MODEL, estimator=fixed({0: big, 1: close}))
    locked = current(db)[close[0]]
    with db.transaction() as session:
        tag_statement(session, close[0], "confirm")
    report = run_discovery(db, cfg, MODEL, estimator=fixed({0: big + close}))
    assert report.merged == 0
    assert {current(db)[s] for s in close} == {locked}
    with db.reader() as session:
        assert session.get(Narrative, locked).status == "active"  # type: ignore[union-attr]


def test_seeded_narrative_survives_full_discovery(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 4: 5})
    embedder = DictEmbedder({"example": axis((4, 1.0))})
    seeded, _ = add_seeded_narrative(db, cfg, embedder, "Seeded", None, ["example"])
    members = {s for s, n in current(db).items() if n == seeded}
    assert members == set(g[4])
    run_discovery(db, cfg, MODEL, estimator=fixed({0: g[0] + g[4]}))
    assert {s for s, n in current(db).items() if n == seeded} == members
    with db.reader() as session:
        assert session.get(Narrative, seeded).status == "active"  # type: ignore[union-attr]


def test_rejected_statement_does_not_return_through_full_discovery(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    g = group(db, {0: 6, 1: 6})
    run_discovery(db, cfg, MODEL)
    home = current(db)[g[0][0]]
    with db.transaction() as session:
        tag_statement(session, g[0][0], "reject")
    run_discovery(db, cfg, MODEL)
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
        run_discovery(database, cfg, MODEL)
    assert _partition(db) == _partition(other)
    assert len(_partition(db)[0]) >= 3
    other.dispose()

