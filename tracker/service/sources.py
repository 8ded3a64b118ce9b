"""Sources: add, list, edit and delete the feeds, pages and exports to ingest, fetch one now, and read
what each fetch brought (the fetch log).

The web adds network sources only (it never names a path on the server); the CLI may add local files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.errors import Refused
from tracker.ingest.runner import ingest_due
from tracker.ingest.sources import (
    EDITABLE_FIELDS,
    add_source,
    delete_source,
    every_text,
    source_view,
    update_source,
)
from tracker.models import Actor, Source, SourceFetch, User
from tracker.queries.listing import by_name_or_id
from tracker.service.workspace import Workspace
from tracker.vocabulary import NETWORK_SOURCE_KINDS

__all__ = ["EDITABLE_FIELDS", "add", "delete", "edit", "every_text", "fetch_log", "fetch_now", "fetch_one", "get",
           "list_sources", "set_enabled", "source_names"]


def add(ws: Workspace, user: User | None, url: str, kind: str, *, name: str | None = None, actor: str | None = None,
        outlet: str | None = None, country: str | None = None, every: str | None = None,
        fetch_full_text: bool = False, network_only: bool = False) -> dict[str, Any]:
    """Register a source, due at once; ``network_only`` refuses local files (for web faces)."""
    if network_only and kind not in NETWORK_SOURCE_KINDS:
        raise Refused(f"kind must be one of {', '.join(NETWORK_SOURCE_KINDS)}", field="kind")
    with ws.db.transaction() as tx:
        source = add_source(tx, ws.config, url, kind, name=name, actor=actor, outlet=outlet, country=country,
                            every=every, fetch_full_text=fetch_full_text, user=user)
        return source_view(source)


def _edit(tx: Session, user: User | None, source: Source | None, what: str, changes: Mapping[str, Any]
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    if source is None:
        raise Refused(f"no source {what}", kind="not_found")
    changed = update_source(tx, source, changes, user=user)
    return source_view(source), changed


def edit(ws: Workspace, user: User | None, source_id: int, changes: Mapping[str, Any], *,
         network_only: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change a source's name, URL, speaker, outlet, schedule, full-text setting, country or enabled flag
    (one audit row); returns the source as it now is and what changed. ``network_only``: a local file's
    path is not changed (for web faces)."""
    with ws.db.transaction() as tx:
        source = tx.get(Source, source_id)
        if network_only and source is not None and "url" in changes and source.kind not in NETWORK_SOURCE_KINDS:
            raise Refused("url: a local file's path is changed with the CLI only", field="url")
        return _edit(tx, user, source, str(source_id), changes)


def delete(ws: Workspace, user: User | None, source_id: int) -> dict[str, Any]:
    """Delete a source (audited); the statements it brought stay. Returns the source as it was."""
    with ws.db.transaction() as tx:
        source = tx.get(Source, source_id)
        if source is None:
            raise Refused(f"no source {source_id}", kind="not_found")
        view = source_view(source)
        delete_source(tx, source, user=user)
        return view


def fetch_one(ws: Workspace, source_id: int) -> dict[str, Any]:
    """Fetch one source now, due or not (paused ones too): what it brought, as one recorded ingest job."""
    with ws.db.reader() as session:
        source = session.get(Source, source_id)
        if source is None:
            raise Refused(f"no source {source_id}", kind="not_found")
        name = source.name
    found = fetch_now(ws, name=name)
    assert found is not None
    return found["results"][0] if found["results"] else {"source": name, "status": "busy", "inserted": 0,
                                                          "updated": 0, "unchanged": 0, "errors": 0,
                                                          "error": "another worker is fetching it right now"}


def fetch_log(session: Session, source_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """The source's latest fetches, newest first: when, how it went, what it brought or why it failed."""
    rows = session.scalars(select(SourceFetch).where(SourceFetch.source_id == source_id)
                           .order_by(SourceFetch.id.desc()).limit(limit))
    return [{"at": r.at.isoformat(), "status": r.status, "inserted": r.inserted, "updated": r.updated,
             "unchanged": r.unchanged, "row_errors": r.row_errors, "error": r.error} for r in rows]


def set_enabled(ws: Workspace, user: User | None, name: str, enabled: bool) -> dict[str, Any]:
    """Pause or resume the source called ``name``."""
    with ws.db.transaction() as tx:
        source = tx.scalar(select(Source).where(Source.name == name))
        return _edit(tx, user, source, f"called {name!r}", {"enabled": enabled})[0]


def get(session: Session, source_id: int) -> dict[str, Any] | None:
    """One source, with the names of its default speaker and outlet."""
    source = session.get(Source, source_id)
    if source is None:
        return None
    def name(actor_id: int | None) -> str | None:
        return session.scalar(select(Actor.name).where(Actor.id == actor_id)) if actor_id is not None else None

    return {**source_view(source), "actor": name(source.actor_id), "outlet": name(source.outlet_id)}


def list_sources(session: Session, *, limit: int | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Sources by name, or in id order after ``after_id`` when paging (``limit``)."""
    return by_name_or_id(session, Source, source_view, limit=limit, after_id=after_id)


def fetch_now(ws: Workspace, *, name: str | None = None, due_only: bool = True) -> dict[str, Any] | None:
    """Fetch the due sources (or the one named, due or not, paused too: it was asked for) once; None when
    there are no sources at all."""
    return ingest_due(ws.db, ws.config, name=name, due_only=due_only and name is None, include_paused=name is not None)


def source_names(session: Session) -> dict[int, str]:
    """Every source's name by id (job runs name the source they fetched by its id)."""
    return {sid: name for sid, name in session.execute(select(Source.id, Source.name))}
