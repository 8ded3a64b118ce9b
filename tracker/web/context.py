"""What every request needs, kept by the app (``app.extensions["tracker"]``): the workspace, the
caches and vector indexes of this app, and the request's reading session.

Kept apart from the package's ``__init__`` (the application factory) so the views, the API and
the helpers import it without importing the factory, which imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask import current_app, g

from tracker.service import Workspace
from tracker.service.statements import VectorIndexes, index_dir
from tracker.web.assets import Assets
from tracker.web.cache import DataVersions, WebCaches

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracker.config import Config
    from tracker.db import Database
    from tracker.embed import Embedder


class TrackerState:
    """One app's workspace, caches, statement-vector indexes and static assets; made by ``create_app``."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.caches = WebCaches()
        self.versions = DataVersions(workspace.db)
        self.vector_indexes = VectorIndexes(workspace.config.search, index_dir(workspace.config))
        self.assets = Assets()

    @property
    def config(self) -> Config:
        return self.workspace.config

    @property
    def db(self) -> Database:
        return self.workspace.db

    @property
    def embedder(self) -> Embedder:
        """Made on first use; its model loads on the first semantic search, once per process."""
        return self.workspace.embedder


def state() -> TrackerState:
    found = current_app.extensions["tracker"]
    assert isinstance(found, TrackerState)
    return found


def workspace() -> Workspace:
    return state().workspace


def read_session() -> Session:
    """The request's reading session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = state().db.reader()
    return cast("Session", g.db_session)


def data_version(session: Session) -> tuple[Any, ...]:
    """A key that changes whenever statements, assignments or narratives may have changed.

    Call it before the request's first read: the reading session is restarted here so its snapshot
    is taken after the check (data cached under a key is never older than the key).
    """
    return state().versions.current(session)
