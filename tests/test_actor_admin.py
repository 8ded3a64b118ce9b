"""Researchers' alias edits in the database: add a spelling, merge actors, apply rule files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tracker.actors import ActorError, add_alias, apply_alias_rules, merge_actors, suggestions
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Actor, AuditEvent, Statement


def actor_id(db: Database, name: str) -> int:
    with db.reader() as session:
        return session.scalars(select(Actor.id).where(Actor.name == name)).one()


def test_merge_moves_statements_and_spellings(db: Database) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("One.", actor="Zhao Lijian", outlet="MFA"),
                               StatementDraft("Two.", actor="赵立坚", outlet="MFA")])
    keep, gone = actor_id(db, "Zhao Lijian"), actor_id(db, "赵立坚")
    with db.transaction() as session:
        merge_actors(session, keep, gone)
    with db.reader() as session:
        assert set(session.scalars(select(Statement.speaker_id))) == {keep}
        assert session.get(Actor, gone) is None
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "actor.merge")) == 1
    with db.transaction() as session:  # the merged spelling now resolves to the kept actor at ingest
        store_drafts(session, [StatementDraft("Three.", actor="赵立坚", outlet="MFA")])
    with db.reader() as session:
        assert set(session.scalars(select(Statement.speaker_id))) == {keep}


def test_adding_a_known_spelling_merges_and_a_new_one_is_remembered(db: Database) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("One.", actor="Maria Zakharova"),
                               StatementDraft("Two.", actor="Mariya Zakharova")])
    keep = actor_id(db, "Maria Zakharova")
    with db.transaction() as session:
        add_alias(session, keep, "Mariya Zakharova")
        add_alias(session, keep, "Мария Захарова")
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("Three.", actor="Мария Захарова")])
    with db.reader() as session:
        assert session.scalar(select(func.count(Actor.id))) == 1
        assert set(session.scalars(select(Statement.speaker_id))) == {keep}


def test_rules_file_applies_and_reports_unknown_canonical_names(db: Database) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("A.", actor="Sergey Lavrov"), StatementDraft("B.", actor="Sergei Lavrov")])
    with db.transaction() as session:
        result = apply_alias_rules(session, {"Sergey Lavrov": ["Sergei Lavrov"], "Nobody Known": ["N. K."]})
    assert result == {"applied": ["Sergei Lavrov -> Sergey Lavrov"], "skipped": ["Nobody Known"]}


def test_suggestions_pair_spellings_of_one_speaker(db: Database) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("A.", actor="Hossam Raouf"), StatementDraft("B.", actor="Husam Abd-al-Ra'uf"),
                               StatementDraft("C.", actor="Wang Yi")])
    with db.reader() as session:
        pairs = {frozenset((s["keep"]["name"], s["merge"]["name"])) for s in suggestions(session)}
    assert frozenset(("Hossam Raouf", "Husam Abd-al-Ra'uf")) in pairs
    assert not any("Wang Yi" in p for p in pairs)


def test_merging_into_itself_or_a_missing_actor_is_refused(db: Database) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft("A.", actor="Someone")])
    aid = actor_id(db, "Someone")
    with db.transaction() as session:
        with pytest.raises(ActorError, match="itself"):
            merge_actors(session, aid, aid)
        with pytest.raises(ActorError, match="does not exist"):
            merge_actors(session, aid, aid + 999)


def test_exclusive_lock_is_held_by_one_holder_at_a_time(db: Database) -> None:
    other = Database(db.url)
    try:
        with db.exclusive("cluster") as first:
            with other.exclusive("cluster") as second:
                assert (first, second) == (True, False)
        with other.exclusive("cluster") as again:
            assert again is True
    finally:
        other.dispose()
