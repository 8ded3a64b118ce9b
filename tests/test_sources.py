"""Sources: registry, due times, claiming by one worker at a time, per-source error recording."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker.config import Config
from tracker.db import Database
from tracker.ingest.leases import claim_next, release
from tracker.ingest.runner import ingest_due
from tracker.ingest.sources import SourceError, add_source, parse_every
from tracker.models import AuditEvent, Source, Statement, utcnow


def csv_file(path: Path, n: int, prefix: str = "row") -> Path:
    path.write_text("external_id,text\n" + "".join(f"{prefix}{i},{prefix} statement number {i}\n" for i in range(n)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("2h", 7200), ("1d", 86400), ("90", 90), ("1.5h", 5400)])
def test_parse_every(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10s", "-5m"])
def test_parse_every_rejects_nonsense(text: str) -> None:
    with pytest.raises(SourceError, match="every"):
        parse_every(text)


def test_add_source_validates_and_audits(db: Database, config: Config, tmp_path: Path) -> None:
    with db.transaction() as session:
        with pytest.raises(SourceError, match="url"):
            add_source(session, config, "ftp://example.org/feed", "rss")
        with pytest.raises(SourceError, match="kind"):
            add_source(session, config, "https://example.org/feed", "carrier-pigeon")
        add_source(session, config, "https://example.org/feed.xml", "rss", outlet="TASS", every="30m")
        with pytest.raises(SourceError, match="exists"):
            add_source(session, config, "https://example.org/feed.xml", "rss")
    with db.reader() as session:
        source = session.scalars(select(Source)).one()
        assert (source.every_seconds, source.name) == (1800, "example.org/feed.xml")
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "source.add")) == 1


def test_file_source_ingests_once_then_waits_until_due(db: Database, config: Config, tmp_path: Path) -> None:
    with db.transaction() as session:
        add_source(session, config, str(csv_file(tmp_path / "a.csv", 5)), "file", name="a", every="1h")
    first = ingest_due(db, config)
    assert first is not None and first["inserted"] == 5
    second = ingest_due(db, config)
    assert second is not None and second["sources"] == 0  # not due again for an hour
    forced = ingest_due(db, config, name="a")
    assert forced is not None and forced["inserted"] == 0 and forced["sources"] == 1


def test_one_failing_source_never_stops_the_others(db: Database, config: Config, tmp_path: Path) -> None:
    good = [csv_file(tmp_path / f"g{i}.csv", 3, prefix=f"g{i}-") for i in range(3)]
    doomed = csv_file(tmp_path / "doomed.csv", 3)
    with db.transaction() as session:
        for i, path in enumerate(good):
            add_source(session, config, str(path), "file", name=f"good{i}")
        add_source(session, config, str(doomed), "file", name="doomed")
    doomed.unlink()
    result = ingest_due(db, config)
    assert result is not None
    assert (result["sources"], result["failed"], result["inserted"]) == (4, 1, 9)
    with db.reader() as session:
        failed = session.scalars(select(Source).where(Source.name == "doomed")).one()
        assert failed.last_status == "failed" and "doomed.csv" in (failed.last_error or "")
        assert failed.error_count == 1 and failed.next_due_at > utcnow()
        assert session.scalar(select(func.count(Statement.id))) == 9


def test_a_claimed_source_is_not_claimed_again_until_released(db: Database, config: Config, tmp_path: Path) -> None:
    with db.transaction() as session:
        add_source(session, config, str(csv_file(tmp_path / "a.csv", 1)), "file", name="a")
    first = claim_next(db, "worker-1")
    assert first is not None
    assert claim_next(db, "worker-2") is None
    release(db, first, "worker-2")  # someone else's release does nothing
    assert claim_next(db, "worker-3") is None
    release(db, first, "worker-1")
    assert claim_next(db, "worker-2") == first


def test_an_expired_lease_can_be_taken_over(db: Database, config: Config, tmp_path: Path) -> None:
    with db.transaction() as session:
        add_source(session, config, str(csv_file(tmp_path / "a.csv", 1)), "file", name="a")
    sid = claim_next(db, "crashed-worker")
    assert claim_next(db, "worker-2", now=utcnow() + timedelta(minutes=11)) == sid


def test_paused_sources_are_skipped(db: Database, config: Config, tmp_path: Path) -> None:
    with db.transaction() as session:
        source = add_source(session, config, str(csv_file(tmp_path / "a.csv", 2)), "file", name="a")
        source.enabled = False
    result = ingest_due(db, config)
    assert result is not None and result["sources"] == 0


def test_a_paused_source_asked_for_by_name_is_fetched_on_every_face(db: Database, config: Config,
                                                                    tmp_path: Path) -> None:
    """`tracker ingest --source NAME` (fetch_now) and the dashboard's and API's "fetch now" (fetch_one) are
    one operation: a source asked for by name is fetched even while paused; the schedule still skips it."""
    from tracker.service import sources
    from tracker.service.workspace import Workspace

    with db.transaction() as session:
        source = add_source(session, config, str(csv_file(tmp_path / "a.csv", 2)), "file", name="a")
        source.enabled = False
        source_id = source.id
    ws = Workspace(config, db)
    assert sources.fetch_now(ws)["sources"] == 0  # type: ignore[index]
    by_name = sources.fetch_now(ws, name="a")
    assert by_name is not None and by_name["results"][0]["inserted"] == 2
    assert sources.fetch_one(ws, source_id)["status"] != "busy"
