"""Seeded narratives: defined by researchers from examples, they pull in matching statements."""

from __future__ import annotations

from sqlalchemy import select

from tests.vectors import (
    MODEL,
    DictEmbedder,
    add,
    axis,
    current,
    discover,
    group,
    narratives_cfg,
    use_test_scale,
)
from tracker.config import Config
from tracker.db import Database
from tracker.models import Assignment, Narrative, NarrativeEvent
from tracker.narratives.assign import assign_pending
from tracker.narratives.seeds import add_seeded_narrative, assign_to_narrative
from tracker.narratives.tags import tag_statement

EMBEDDER = DictEmbedder({"biolabs example": axis((6, 1.0)), "another example": axis((6, 1.0), (7, 0.1))})


def seed(db: Database, config: Config) -> int:
    use_test_scale(db)
    nid, _ = add_seeded_narrative(db, narratives_cfg(config), EMBEDDER, "Biolabs", "US biolabs claims",
                                  ["biolabs example", "another example"])
    return nid


def state_of(db: Database, sid: int, nid: int) -> tuple[str, str] | None:
    with db.reader() as session:
        row = session.execute(select(Assignment.state, Assignment.method).where(
            Assignment.statement_id == sid, Assignment.narrative_id == nid)).first()
    return None if row is None else (row[0], row[1])


def test_seeded_narrative_pulls_in_matching_statements_and_suggests_the_band(db: Database, config: Config) -> None:
    group(db, {0: 6})
    discover(db, narratives_cfg(config), MODEL)
    close = add(db, [axis((6, 1.0), (9, 0.1 * i)) for i in range(3)])
    band = add(db, [axis((6, 0.55), (9, 0.835))])[0]
    far = add(db, [axis((9, 1.0))])[0]
    nid = seed(db, config)
    assert all(state_of(db, s, nid) == ("assigned", "seed") for s in close)
    assert state_of(db, band, nid) == ("suggested", "suggest")
    assert state_of(db, far, nid) is None
    with db.reader() as session:
        nar = session.get(Narrative, nid)
        assert nar is not None and (nar.origin, nar.label, nar.size) == ("seeded", "Biolabs", 3)
        assert session.scalar(select(NarrativeEvent.kind).where(NarrativeEvent.narrative_id == nid)) == "seeded"


def test_seeding_never_overrides_a_confirmed_tag(db: Database, config: Config) -> None:
    g = group(db, {0: 6})
    discover(db, narratives_cfg(config), MODEL)
    home = current(db)[g[0][0]]
    confirmed = add(db, [axis((6, 1.0))])[0]
    with db.transaction() as session:
        tag_statement(session, confirmed, "confirm", home)
    nid = seed(db, config)
    assert current(db)[confirmed] == home
    assert state_of(db, confirmed, nid) is None


def test_rejected_statement_never_returns_through_seed_assignment(db: Database, config: Config) -> None:
    cfg = narratives_cfg(config)
    sid = add(db, [axis((6, 1.0), (9, 0.05))])[0]
    nid = seed(db, config)
    assert state_of(db, sid, nid) == ("assigned", "seed")
    with db.transaction() as session:
        tag_statement(session, sid, "reject")
    assign_to_narrative(db, cfg, MODEL, nid)
    assign_pending(db, cfg, MODEL)
    assert state_of(db, sid, nid) == ("rejected", "manual")
    assert sid not in current(db)


def test_seeded_narrative_takes_new_statements_incrementally(db: Database, config: Config) -> None:
    nid = seed(db, config)
    sid = add(db, [axis((6, 1.0), (7, 0.2))])[0]
    report = assign_pending(db, narratives_cfg(config), MODEL)
    assert report.assigned == 1 and current(db)[sid] == nid
