"""A source's interval is bounded (a minute to a year), and no single source's error, of any kind, stops
an ingest run: the other due sources are still fetched, and the failure is recorded or at least reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.webdata import PASSWORD, add_user, bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.ingest import runner
from tracker.ingest.runner import ingest_due
from tracker.ingest.sources import SourceError, add_source, parse_every
from tracker.models import Source, Statement, utcnow

YEAR = 365 * 86400


def csv_file(path: Path, prefix: str) -> Path:
    path.write_text("external_id,text\n" + "".join(f"{prefix}{i},{prefix} statement number {i}\n" for i in range(3)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("text", ["99999999999d", "9" * 400, "366d", "1e9", "8761h"])
def test_intervals_longer_than_a_year_are_refused(text: str) -> None:
    with pytest.raises(SourceError, match="every") as refused:
        parse_every(text)
    assert refused.value.field == "every" and len(str(refused.value)) < 200


def test_a_year_is_the_longest_interval() -> None:
    assert parse_every("365d") == YEAR


def test_the_api_and_the_admin_form_refuse_a_huge_interval(db: Database, config: Config) -> None:
    data = seed(db, config)
    app = make_app(config, db)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    admin = bearer(data.tokens["admin"])
    added = client.post("/api/sources", headers=admin, json={"url": "https://example.org/feed", "kind": "rss"})
    assert added.status_code == 201
    sid = added.json["id"]
    for every in ("99999999999d", "9" * 19 + "d"):
        r = client.patch(f"/api/sources/{sid}", headers=admin, json={"every": every})
        assert r.status_code == 422 and r.json["error"]["field"] == "every", (every, r.json)
        r = client.post("/api/sources", headers=admin, json={"url": "https://example.org/f2", "kind": "rss",
                                                             "every": every})
        assert r.status_code == 422 and r.json["error"]["field"] == "every", (every, r.json)
    add_user(db, config, "webadmin", "admin", PASSWORD)
    page = app.test_client()
    assert page.post("/login", data={"name": "webadmin", "password": PASSWORD}).status_code == 302
    r = page.post(f"/admin/sources/{sid}", data={"every": "99999999999d"})
    assert r.status_code == 422 and "longer than a year" in r.get_data(as_text=True)
    r = page.post("/admin/sources", data={"url": "https://example.org/f3", "kind": "rss", "every": "99999999999d"})
    assert r.status_code == 422 and "longer than a year" in r.get_data(as_text=True)


def _two_sources(db: Database, config: Config, tmp_path: Path) -> tuple[int, int]:
    with db.transaction() as tx:
        first = add_source(tx, config, str(csv_file(tmp_path / "a.csv", "a")), "file", name="a")
        second = add_source(tx, config, str(csv_file(tmp_path / "b.csv", "b")), "file", name="b")
        return first.id, second.id


def test_a_stored_huge_interval_no_longer_stops_the_run(db: Database, config: Config, tmp_path: Path) -> None:
    """A row written before intervals were bounded holds any number (SQLite: 99999999999 days, which
    overflowed the next due time and killed the run; PostgreSQL: the largest integer, 68 years)."""
    first, second = _two_sources(db, config, tmp_path)
    huge = 2**31 - 1 if db.dialect == "postgresql" else 99999999999 * 86400
    with db.transaction() as tx:
        row = tx.get(Source, first)
        assert row is not None
        row.every_seconds = huge
    result = ingest_due(db, config)
    assert result is not None and result["sources"] == 2 and result["failed"] == 0 and result["inserted"] == 6
    with db.reader() as s:
        due = s.scalar(select(Source.next_due_at).where(Source.id == first))
    assert due is not None and due <= utcnow() + timedelta(days=366)


def test_any_error_of_one_source_leaves_the_others_fetched(db: Database, config: Config, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _two_sources(db, config, tmp_path)
    real = runner.ingest_source

    def flaky(db_: Database, cfg: Config, source_id: int, **kw: object) -> object:
        if source_id == first:
            raise RecursionError("a parser recursed too deep")
        return real(db_, cfg, source_id, **kw)  # type: ignore[arg-type]

    def unrecordable(*args: object, **kw: object) -> object:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(runner, "ingest_source", flaky)
    monkeypatch.setattr(runner, "record_failure", unrecordable)
    result = ingest_due(db, config)
    assert result is not None and result["sources"] == 2 and result["failed"] == 1 and result["inserted"] == 3
    failed = next(r for r in result["results"] if r["status"] == "failed")
    assert failed["source"] == "a" and "RecursionError" in failed["error"] and "not recorded" in failed["error"]
    with db.reader() as s:
        assert sorted(s.scalars(select(Statement.external_id))) == ["b0", "b1", "b2"]
        assert s.scalar(select(Source.locked_by).where(Source.id == first)) is None  # released all the same


def test_a_database_error_of_one_source_is_its_own_while_the_database_answers(
        db: Database, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _two_sources(db, config, tmp_path)
    real = runner.ingest_source

    def broken(db_: Database, cfg: Config, source_id: int, **kw: object) -> object:
        if source_id == first:
            raise OperationalError("INSERT ...", {}, Exception("string or blob too big"))
        return real(db_, cfg, source_id, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "ingest_source", broken)
    result = ingest_due(db, config)
    assert result is not None and (result["sources"], result["failed"], result["inserted"]) == (2, 1, 3)
    with db.reader() as s:
        error = s.scalar(select(Source.last_error).where(Source.id == first))
    assert error is not None and "string or blob too big" in error
