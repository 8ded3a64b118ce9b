"""Migrations: one head, upgrade from empty, downgrade/upgrade round trip, models match the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select

from tracker.db import (
    SCHEMA_HEAD,
    Database,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    upgrade,
)
from tracker.models import Actor, Base, Statement
from tracker.narratives.assign import has_no_open_assignment


def test_single_head_equals_schema_head_constant() -> None:
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    assert script.get_heads() == [SCHEMA_HEAD]


def test_models_match_migrated_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_downgrade_to_empty_and_upgrade_again(db: Database) -> None:
    downgrade(db.engine, "base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(db.engine)
    assert current_revision(db.engine) == SCHEMA_HEAD
    assert {"statements", "narratives", "assignments", "audit_events"} <= set(inspect(db.engine).get_table_names())


def test_ensure_schema_creates_a_new_sqlite_file_and_is_then_a_no_op(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'deep' / 'folder' / 'new.db'}")
    assert ensure_schema(db) is True
    assert ensure_schema(db) is False
    assert current_revision(db.engine) == SCHEMA_HEAD


def test_sqlite_pragmas_are_set(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_0002_adds_the_open_assignment_index_to_a_0001_database_and_keeps_its_rows(db: Database) -> None:
    def indexes() -> set[str]:
        return {ix["name"] for ix in inspect(db.engine).get_indexes("assignments")}

    downgrade(db.engine, "0001_initial")
    assert "ix_assignments_statement_state" not in indexes()
    with db.transaction() as session:
        session.add(Actor(name="TASS", kind="state_media", is_outlet=True))
    upgrade(db.engine)
    assert "ix_assignments_statement_state" in indexes()
    with db.reader() as session:
        assert session.scalars(select(Actor.name)).all() == ["TASS"]


def test_the_open_assignment_probe_is_answered_from_the_covering_index(tmp_path) -> None:
    """What migration 0002 is for: SQLite checks a statement's open assignments without the table."""
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    ensure_schema(db)
    query = select(Statement.id).where(has_no_open_assignment())
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "COVERING INDEX ix_assignments_statement_state" in plan, plan
