"""Engines, sessions and schema upgrades for SQLite (embedded default) and PostgreSQL (scale path).

SQLite gets WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for writing sessions so two
writers queue on the lock instead of failing half-way with "database is locked". Reading sessions
use a second engine with deferred transactions, so web requests never wait on a writer.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: The newest migration; `tests/test_migrations.py` checks it equals Alembic's head, and
#: :func:`ensure_schema` uses it to skip importing Alembic when the database is current.
SCHEMA_HEAD = "0006_embedding_backlog"

_PG_MIGRATION_LOCK = 727_271  # advisory lock id: one process upgrades at a time


def _sqlite_pragmas(busy_timeout_ms: int, immediate: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return on_connect, on_begin


def make_engine(url: str, *, busy_timeout_ms: int = 10000, immediate: bool = True, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and the pragmas above."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        on_connect, on_begin = _sqlite_pragmas(busy_timeout_ms, immediate)
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, echo=echo, pool_pre_ping=True)


class Database:
    """The writing and reading session factories for one database URL."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10000, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, immediate=True, echo=echo)
        if self.is_sqlite:
            self.read_engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, immediate=False, echo=echo)
        else:
            self.read_engine = self.engine
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back whole on error."""
        with self.session() as session, session.begin():
            yield session

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Hold a named lock across processes (and machines, on PostgreSQL) without waiting.

        Yields True when this process got it, False when another holds it: the caller then skips
        the work (e.g. a second scheduler does not re-cluster what the first is clustering).
        PostgreSQL: a session advisory lock; SQLite: ``flock`` on a file beside the database.
        """
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
                conn.commit()
                try:
                    yield got
                finally:
                    if got:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        conn.commit()
            return
        database = self.engine.url.database or ""
        base = Path(database) if database and database != ":memory:" else Path(tempfile.gettempdir()) / "tracker"
        with file_lock(Path(f"{base}.{name}.lock")) as mine:
            yield mine

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def migrations_dir() -> Path:
    """The Alembic scripts: the ``tracker.migrations`` package, i.e. the checkout's top-level ``migrations/``
    folder in an editable install and the copy inside the wheel otherwise."""
    return Path(str(resources.files("tracker.migrations")))


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` on ``engine`` (one process at a time on PostgreSQL)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def ensure_schema(db: Database) -> bool:
    """Create or upgrade the schema when it is not at :data:`SCHEMA_HEAD`; True when it ran migrations."""
    if current_revision(db.engine) == SCHEMA_HEAD:
        return False
    log.info("upgrading database schema at %s", db.engine.url.render_as_string(hide_password=True))
    upgrade(db.engine)
    return True


@contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (True), or yield False at once when another process of this
    machine holds it: for work one process should do at a time, which a second can simply skip."""
    import fcntl

    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
