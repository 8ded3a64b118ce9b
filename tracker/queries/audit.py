"""The audit trail as the API shows it: who changed what, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.queries.rows import iso


def audit_view(e: Any) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.at), "user_id": e.user_id, "user": e.actor_name, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "old": e.old, "new": e.new}


def list_audit(session: Session, *, object_type: str | None = None, object_id: str | None = None,
               user: str | None = None, action: str | None = None, limit: int = 50,
               before_id: int | None = None) -> list[dict[str, Any]]:
    """The audit trail, newest first, keyset-paginated on id."""
    from tracker.models import AuditEvent

    query = select(AuditEvent)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if user:
        query = query.where(AuditEvent.actor_name == user)
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return [audit_view(e) for e in session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))]
