"""Storing drafts: identity, dedup, updates, actors and aliases, provenance — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tracker.db import Database
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.store import ActorResolver, actor_key, clean_text, content_hash, store_drafts
from tracker.models import Actor, ActorAlias, Statement

BIOLABS = "The United States runs military biological laboratories near Russia's borders."


def store(db: Database, items, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        return store_drafts(session, items, **kw)


def count(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(Statement.id)))


def test_same_text_from_two_outlets_is_two_statements(db: Database) -> None:
    stats = store(db, [StatementDraft(BIOLABS, outlet="TASS"), StatementDraft(BIOLABS, outlet="Global Times")])
    assert stats.inserted == 2
    assert count(db) == 2


def test_storing_the_same_drafts_twice_adds_nothing(db: Database) -> None:
    drafts = [StatementDraft(BIOLABS, outlet="TASS"), StatementDraft("Another claim.", external_id="x1", outlet="RT")]
    store(db, drafts)
    again = store(db, drafts)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert count(db) == 2


def test_refetch_with_only_case_and_punctuation_changes_is_the_same_statement(db: Database) -> None:
    store(db, [StatementDraft(BIOLABS, outlet="TASS")])
    stats = store(db, [StatementDraft(BIOLABS.upper().replace(".", "!"), outlet="TASS")])
    assert stats.inserted == 0
    assert count(db) == 1
    assert content_hash(BIOLABS) == content_hash("  the united states runs military biological laboratories "
                                                 "near russia's borders!!")


def test_edited_entry_with_same_external_id_updates_and_keeps_provenance(db: Database) -> None:
    store(db, [StatementDraft("First version of the text.", external_id="guid-1", outlet="RT", origin="feed:1")])
    stats = store(db, [StatementDraft("First version of the text, corrected.", external_id="guid-1", outlet="RT",
                                      origin="feed:2")])
    assert (stats.inserted, stats.updated) == (0, 1)
    with db.reader() as session:
        st = session.scalars(select(Statement)).one()
        assert st.text == "First version of the text, corrected."
        assert st.provenance["revisions"] == 1
        assert st.provenance["origin"] == "feed:2"


def test_distinct_external_ids_with_identical_text_stay_distinct(db: Database) -> None:
    stats = store(db, [StatementDraft(BIOLABS, external_id="case-1", outlet="TASS"),
                       StatementDraft(BIOLABS, external_id="case-2", outlet="TASS")])
    assert stats.inserted == 2


def test_bad_drafts_are_reported_and_good_ones_kept(db: Database) -> None:
    stats = store(db, [
        StatementDraft("   ", origin="in.csv:2"),
        RowError("in.csv", 3, "unparseable date '31/31/2020'", "published_at"),
        StatementDraft("Good statement.", origin="in.csv:4"),
        StatementDraft("Bad kind.", actor_kind="wizard", origin="in.csv:5"),
    ])
    assert stats.inserted == 1
    assert [(e.line, e.field) for e in stats.errors] == [(2, "text"), (3, "published_at"), (5, "actor_kind")]


def test_published_at_is_stored_in_utc(db: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    store(db, [StatementDraft("Said in Beijing.", published_at=datetime(2020, 10, 21, 15, 0, tzinfo=beijing))])
    with db.reader() as session:
        st = session.scalars(select(Statement)).one()
    assert st.published_at == datetime(2020, 10, 21, 7, 0, tzinfo=UTC)


def test_actors_are_found_through_aliases_and_learn_missing_facts(db: Database) -> None:
    store(db, [StatementDraft("One.", actor="Zhao Lijian")])
    with db.transaction() as session:
        actor = session.scalars(select(Actor).where(Actor.name == "Zhao Lijian")).one()
        session.add(ActorAlias(actor_id=actor.id, alias="赵立坚", key="赵立坚", origin="manual"))
    store(db, [StatementDraft("Two.", actor="赵立坚", actor_kind="official", country="cn"),
               StatementDraft("Three.", actor="  zhao   LIJIAN ")])
    with db.reader() as session:
        actors = session.scalars(select(Actor).where(Actor.is_outlet.is_(False))).all()
        assert [(a.name, a.kind, a.country) for a in actors] == [("Zhao Lijian", "official", "CN")]
        speakers = set(session.scalars(select(Statement.speaker_id)))
        assert speakers == {actors[0].id}


def test_missing_language_is_detected_in_batch(db: Database) -> None:
    seen: list[list[str]] = []

    def detect(texts):  # type: ignore[no-untyped-def]
        seen.append(list(texts))
        return ["ru" for _ in texts]

    store(db, [StatementDraft("Привет, мир, это заявление.", language=None), StatementDraft("Hi.", language="EN")],
          detect=detect)
    assert seen == [["Привет, мир, это заявление."]]
    with db.reader() as session:
        assert sorted(session.scalars(select(Statement.language))) == ["en", "ru"]


def test_resolver_creates_each_actor_once_per_batch(db: Database) -> None:
    with db.transaction() as session:
        resolver = ActorResolver(session)
        a = resolver.resolve("TASS", is_outlet=True)
        b = resolver.resolve("tass", is_outlet=True)
        assert a == b


def test_a_batch_finds_known_actors_in_bulk_and_creates_each_new_one_once(db: Database) -> None:
    with db.transaction() as session:
        session.add(Actor(name="Old Outlet", kind="state_media", is_outlet=True))  # made elsewhere: no alias row
    drafts = [StatementDraft(f"Statement number {i} on the matter", outlet="Old Outlet" if i % 2 else "New Outlet",
                             actor="New Speaker", country="RU" if i == 5 else None) for i in range(6)]
    assert store(db, drafts).inserted == 6
    with db.reader() as session:
        actors = {a.name: a for a in session.scalars(select(Actor))}
        assert sorted(actors) == ["New Outlet", "New Speaker", "Old Outlet"]
        assert actors["Old Outlet"].kind == "state_media" and actors["New Speaker"].country == "RU"  # learnt later
        outlets = {n: c for n, c in session.execute(
            select(Actor.name, func.count(Statement.id)).join(Statement, Statement.outlet_id == Actor.id)
            .group_by(Actor.name))}
        assert outlets == {"Old Outlet": 3, "New Outlet": 3}
    more = [StatementDraft("One more from the old outlet", outlet="Old Outlet"),
            StatementDraft("One more from the new outlet", outlet="new  outlet")]  # by name; by alias key
    assert store(db, more).inserted == 2
    with db.reader() as session:
        assert session.scalar(select(func.count(Actor.id))) == 3


def test_many_new_actors_in_one_batch_get_their_own_ids_and_first_facts(db: Database) -> None:
    """New actors of a batch are inserted together; each statement must still point at its own."""
    names = [f"Speaker {chr(65 + i % 26)}{i // 26}" for i in range(60)]
    drafts = [StatementDraft(f"Claim {i} about the matter at hand", actor=name, outlet=f"Outlet {i % 7}",
                             country="RU" if i % 2 else None, actor_kind="official" if i % 3 == 0 else None)
              for i, name in enumerate(names)]
    drafts.append(StatementDraft("A later mention that fills a gap", actor=names[1], actor_kind="proxy"))
    assert store(db, drafts).inserted == 61
    with db.reader() as session:
        by_id = {a.id: a for a in session.scalars(select(Actor))}
        pairs = session.execute(select(Statement.text, Statement.speaker_id, Statement.outlet_id)).all()
        aliases = {key: actor_id for key, actor_id in session.execute(select(ActorAlias.key, ActorAlias.actor_id))}
    for text, speaker_id, outlet_id in pairs:
        if text.startswith("Claim "):
            i = int(text.split()[1])
            assert by_id[speaker_id].name == names[i]
            assert by_id[outlet_id].name == f"Outlet {i % 7}" and by_id[outlet_id].is_outlet
    speakers = {a.name: a for a in by_id.values() if not a.is_outlet}
    assert len(speakers) == 60 and len(by_id) == 67
    assert speakers[names[0]].kind == "official" and speakers[names[0]].country is None
    assert speakers[names[1]].kind == "proxy" and speakers[names[1]].country == "RU"  # filled in later
    assert {key: by_id[actor_id].name for key, actor_id in aliases.items()} == \
        {actor_key(a.name): a.name for a in by_id.values()}


def _clean_text_one_char_at_a_time(text: str) -> str:
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
       | st.sampled_from(["e\u0301t\u00e9", "a\x00b\u200bc", "tab\there\nnew", "\u2028line\u00a0sep", "\ufeffbom"]))
def test_clean_text_fast_path_matches_the_character_by_character_rule(text: str) -> None:
    """Printable, already-NFC text skips the per-character pass; the result must not change."""
    assert clean_text(text) == _clean_text_one_char_at_a_time(text)
