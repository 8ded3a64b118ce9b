"""The vector search behind similar statements and search by meaning: its state, and bringing its index up to date."""

from __future__ import annotations

from typing import Any

from tracker import jobs
from tracker.service.workspace import Workspace
from tracker.vector_index.status import search_status

__all__ = ["status", "update_index"]


def status(ws: Workspace) -> dict[str, Any]:
    """Which engine serves the current model and how current its index is."""
    with ws.db.reader() as session:
        return search_status(session, ws.config, ws.model)


def update_index(ws: Workspace, *, rebuild: bool = False) -> dict[str, Any]:
    """Extend the current model's index with the vectors stored since it was built (or rebuild it)."""
    return jobs.update_vector_index(ws.db, ws.config, ws.model, rebuild=rebuild)
