"""Online backups: a consistent copy while the tracker keeps running.

SQLite: ``VACUUM INTO`` writes a compact, consistent copy without stopping readers or writers.
PostgreSQL: ``pg_dump`` in custom format (restore with ``pg_restore``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tracker.db import Database


class BackupError(RuntimeError):
    """The backup could not be written; the message says why."""


def backup(db: Database, target: Path) -> Path:
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        raw = db.engine.raw_connection()  # outside SQLAlchemy's BEGIN: VACUUM refuses to run in a transaction
        try:
            driver = raw.driver_connection
            assert driver is not None  # a live connection has its sqlite3 connection
            driver.execute("VACUUM INTO ?", (str(target),))
        finally:
            raw.close()
        return target
    if db.dialect == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump not found on PATH (install the PostgreSQL client tools)")
        url = make_url(db.url)
        env_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        result = subprocess.run([pg_dump, "--format=custom", f"--file={target}", env_url],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
        return target
    raise BackupError(f"no backup method for {db.dialect}")


def restore_sqlite(source: Path, target: Path) -> None:
    """Restore a SQLite backup to ``target`` (which must not be in use) and check it opens."""
    if Path(target).exists():
        raise BackupError(f"{target} exists already; move it away first")
    shutil.copyfile(source, target)
    check = Database(f"sqlite:///{target}")
    try:
        with check.engine.connect() as conn:
            if conn.execute(text("PRAGMA integrity_check")).scalar() != "ok":
                raise BackupError(f"{target}: integrity check failed")
    finally:
        check.dispose()
