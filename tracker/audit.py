"""The audit trail: who changed what, old -> new, written inside the change's own transaction.

Because the row is added to the caller's session, a rolled-back change leaves no audit row and a
committed change always has exactly one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tracker.models import AuditEvent, User


def record(session: Session, user: User | None, action: str, object_type: str, object_id: Any,
           old: dict[str, Any] | None = None, new: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        actor_name=user.name if user is not None else "system",
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        old=old,
        new=new,
    )
    session.add(event)
    return event
