"""Online backup and restore: the copy holds everything, taken while the database is in use."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tracker.backup import BackupError, backup, restore_sqlite
from tracker.db import Database
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Statement


def fill(db: Database, n: int = 25) -> None:
    with db.transaction() as session:
        store_drafts(session, [StatementDraft(f"statement number {i}", outlet="TASS") for i in range(n)])


def test_sqlite_backup_while_a_reader_is_open_restores_everything(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'live.db'}")
    from tracker.db import ensure_schema

    ensure_schema(db)
    fill(db)
    with db.reader() as reading:  # an open reader does not block the backup
        reading.scalar(select(func.count(Statement.id)))
        copy = backup(db, tmp_path / "backups" / "copy.db")
    restore_sqlite(copy, tmp_path / "restored.db")
    restored = Database(f"sqlite:///{tmp_path / 'restored.db'}")
    with restored.reader() as session:
        assert session.scalar(select(func.count(Statement.id))) == 25
    with pytest.raises(BackupError, match="exists"):
        backup(db, copy)


@pytest.mark.postgres
def test_postgresql_backup_round_trip(db: Database, tmp_path: Path) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump / pg_restore not installed")
    fill(db, 7)
    dump = backup(db, tmp_path / "dump.pgc")
    url = make_url(db.url)
    admin = create_engine(url.set(database="test"), isolation_level="AUTOCOMMIT")
    name = f"{url.database}_restored"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={target}", str(dump)], check=True)
        restored = create_engine(url.set(database=name))
        with restored.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM statements")).scalar() == 7
        restored.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
