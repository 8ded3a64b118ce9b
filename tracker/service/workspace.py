"""The workspace: the database, the settings and the embedding model one process works with.

Every change a person or a job makes takes a workspace and the acting user; a face (the CLI, the
dashboard, the API) opens one workspace at start-up and hands it down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tracker.config import Config
from tracker.db import Database, ensure_schema
from tracker.embed import Embedder, make_embedder


class Workspace:
    """What use cases share. The embedder is made on first use (cheap: the model itself loads on the
    first ``embed``), unless one is handed in, e.g. a fast one in tests."""

    def __init__(self, config: Config, db: Database, embedder: Embedder | None = None) -> None:
        self.config = config
        self.db = db
        self._embedder = embedder
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: Config, *, db: Database | None = None, embedder: Embedder | None = None) -> Workspace:
        """The workspace of ``config``: its database (created or upgraded to the newest schema)."""
        database = db or Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms,
                                  echo=config.database.echo)
        ensure_schema(database)
        return cls(config, database, embedder)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.config.embedding)
            return self._embedder

    @property
    def model(self) -> str:
        """The current embedding model: the one vectors are made with and compared in. There is one rule
        for every face: the embedder's name (the configured model unless an embedder was handed in)."""
        return self.embedder.name

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A reading session for one unit of reading (a command, a request)."""
        with self.db.reader() as session:
            yield session

    def close(self) -> None:
        self.db.dispose()
