"""Narrative timeline documents held per app, and the response bodies made from them.

The dashboard (page, chart.json, timeline.json) and the API (``/api/narratives/<id>/timeline``) read
the same document: it is built once per (narrative, data version) here, and each caller keeps its
own serialised, gzipped body of it in an LRU of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from tracker.service import narratives, statements
from tracker.web.bodies import Body, make_body
from tracker.web.context import data_version, read_session, state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracker.web.cache import LRU


def cached_timeline(session: Session, narrative_id: int, version: tuple[Any, ...]) -> dict[str, Any] | None:
    """The narrative's timeline document as of ``version`` (None: no such narrative)."""
    found: dict[str, Any] | None = state().caches.timelines.get(
        (narrative_id, version), lambda: narratives.timeline(session, state().config, narrative_id))
    return found


def timeline_body(cache: LRU, narrative_id: int, variant: Hashable, serialise: Callable[[dict[str, Any]], bytes]
                  ) -> Body | None:
    """A body made from a narrative's timeline document (the API's, chart.json, the JSON export), built
    and gzipped once per data version and ``variant``; None when there is no such narrative."""
    session = read_session()
    version = data_version(session)

    def make() -> Body | None:
        doc = cached_timeline(session, narrative_id, version)
        return None if doc is None else make_body(serialise(doc))

    found: Body | None = cache.get((narrative_id, version, variant), make)
    return found


def mark_copies(session: Session, version: tuple[Any, ...], rows: list[dict[str, Any]],
                narrative_id: int | None = None) -> list[dict[str, Any]]:
    """Set ``copy_of`` ({id, who} or None) on statement rows: a syndicated copy of an earlier statement of
    its narrative (each row's, or ``narrative_id`` for all), as that narrative's timeline judged it."""
    wanted = {narrative_id} if narrative_id is not None else {r["narrative"]["id"] for r in rows if r.get("narrative")}
    docs = [doc for nid in sorted(wanted) if (doc := cached_timeline(session, nid, version)) is not None]
    marks = statements.copies_in(docs)
    for row in rows:
        row["copy_of"] = marks.get(row["id"])
    return rows
