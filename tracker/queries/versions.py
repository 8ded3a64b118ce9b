"""A cheap fingerprint of the data, so per-process caches know when to drop what they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.models import Assignment, Embedding, Narrative, Statement


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever statements, assignments, narratives or stored vectors change: a key for
    per-process caches (similar-statement search looks for new vectors and index files once per version)."""
    return tuple(session.execute(select(
        select(func.max(Statement.id)).scalar_subquery(),
        select(func.count(Assignment.id)).scalar_subquery(),
        select(func.max(Assignment.updated_at)).scalar_subquery(),
        select(func.max(Narrative.updated_at)).scalar_subquery(),
        select(func.max(Embedding.id)).scalar_subquery(),
    )).one())
