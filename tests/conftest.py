"""Shared fixtures: real SQLite and PostgreSQL databases, configs, embedders, shared data.

Every test that takes ``db`` runs twice: on a fresh SQLite file and on a fresh PostgreSQL
database (skipped, with the reason, only when no server answers at ``TRACKER_TEST_PG_URL``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker.config import Config, load_config
from tracker.db import Database, upgrade
from tracker.embed import HashingEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED_DATA = Path(os.environ.get("TRACKER_SHARED_DATA", ROOT.parent / "shared" / "data"))
EUVS_CSV = SHARED_DATA / "euvsdisinfo-cases-2018-2021.csv"


def shared_csv() -> Path:
    if not EUVS_CSV.exists():
        pytest.skip(f"shared data not found at {EUVS_CSV} (set TRACKER_SHARED_DATA); it exists in CI and dev machines")
    return EUVS_CSV


_pg_state: dict[str, object] = {}


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def pg_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    if "reason" not in _pg_state:
        try:
            with _pg_admin_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
            _pg_state["reason"] = f"no PostgreSQL server answers at {PG_URL}: {type(exc).__name__}"
    return _pg_state["reason"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A fresh database migrated once for this test process; tests empty it before use."""
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    name = f"tracker_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "tracker.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_template")
    _truncate_pg(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Config:
    """Defaults, with this test's database and data folder."""
    return load_config(env={"TRACKER_DATABASE_URL": db_url, "TRACKER_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Config:
    return load_config(env={"TRACKER_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real packaged model, loaded once per test process."""
    from tracker.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
