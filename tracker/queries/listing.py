"""How admins list sources and users: all of them by name, or keyset pages in id order for scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Source, User


def by_name_or_id(session: Session, model: type[Source] | type[User], view: Callable[[Any], dict[str, Any]], *,
                  limit: int | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Every row by name (``limit`` None), or ``limit`` rows in id order after ``after_id``."""
    if limit is None:
        return [view(row) for row in session.scalars(select(model).order_by(model.name))]
    query = select(model).order_by(model.id).limit(limit)
    if after_id is not None:
        query = query.where(model.id > after_id)
    return [view(row) for row in session.scalars(query)]
