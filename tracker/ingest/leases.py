"""Claiming a source, so two workers never fetch it at once.

A worker claims a due source by writing its name and a lease into the row (PostgreSQL: under
``FOR UPDATE SKIP LOCKED``; SQLite: inside ``BEGIN IMMEDIATE``, which already serialises writers).
A lease normally ends when its worker releases it or after ``LEASE``. A worker killed with
``kill -9`` cannot release, so a lease held by a process of this host that no longer exists is taken
over at once: a re-run after a crash does not wait ten minutes for the source it was fetching.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tracker.db import Database
from tracker.models import Source, utcnow
from tracker.workers import worker_dead

LEASE = timedelta(minutes=10)


def claim_next(db: Database, worker: str, *, name: str | None = None, due_only: bool = True,
               now: datetime | None = None, exclude: set[int] | None = None, include_paused: bool = False
               ) -> int | None:
    """Take the lease on one source (the most overdue; paused ones only when ``include_paused``) or return
    None when nothing is left."""
    now = now or utcnow()
    with db.transaction() as session:
        free = [Source.locked_until.is_(None), Source.locked_until < now]
        orphaned = _orphaned_leases(session, now)
        if orphaned:
            free.append(Source.locked_by.in_(orphaned))
        query = select(Source).where(or_(*free))
        if not include_paused:
            query = query.where(Source.enabled.is_(True))
        if name is not None:
            query = query.where(Source.name == name)
        if due_only:
            query = query.where(or_(Source.next_due_at.is_(None), Source.next_due_at <= now))
        if exclude:
            query = query.where(Source.id.not_in(sorted(exclude)))
        query = query.order_by(Source.next_due_at.asc().nulls_first(), Source.id).limit(1)
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        source = session.scalar(query)
        if source is None:
            return None
        source.locked_by, source.locked_until = worker, now + LEASE
        return source.id


def _orphaned_leases(session: Session, now: datetime) -> list[str]:
    """Holders of live leases that are processes of this host which have died (e.g. ``kill -9``)."""
    prefix = f"{socket.gethostname()}:"
    holders = session.scalars(select(Source.locked_by).distinct()
                              .where(Source.locked_until >= now, Source.locked_by.startswith(prefix, autoescape=True)))
    return [h for h in holders if h and worker_dead(h)]


def release(db: Database, source_id: int, worker: str) -> None:
    with db.transaction() as session:
        source = session.get(Source, source_id)
        if source is not None and source.locked_by == worker:
            source.locked_by, source.locked_until = None, None
