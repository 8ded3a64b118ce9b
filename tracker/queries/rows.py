"""How a narrative and a statement look in JSON, the same in every page, export and API response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.models import Actor, Narrative, Statement


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def shown_origin(origin: str | None) -> str | None:
    """Where a statement was read from, as readers may see it: a URL as it is, a file by its name and
    line ("corpus.jsonl, line 65"), never the server's path to it."""
    if not origin or "://" in origin or ("/" not in origin and "\\" not in origin):
        return origin
    head, sep, tail = origin.rpartition(":")
    path, line = (head, tail) if sep and tail.isdigit() else (origin, "")
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return f"{name}, line {line}" if line else name


def narrative_summary(n: Narrative) -> dict[str, Any]:
    return {
        "id": n.id,
        "label": n.label,
        "description": n.description,
        "status": n.status,
        "triage": n.triage,
        "origin": n.origin,
        "size": n.size,
        "keywords": list(n.keywords or []),
        "first_seen_at": iso(n.first_seen_at),
        "last_seen_at": iso(n.last_seen_at),
        "locked": n.locked,
    }


def statement_dict(st: Statement, speaker: Actor | None, outlet: Actor | None) -> dict[str, Any]:
    return {
        "id": st.id,
        "external_id": st.external_id,
        "published_at": iso(st.published_at),
        "actor": speaker.name if speaker else None,
        "actor_id": speaker.id if speaker else None,
        "kind": speaker.kind if speaker else (outlet.kind if outlet else None),
        "outlet": outlet.name if outlet else None,
        "outlet_id": outlet.id if outlet else None,
        "country": st.country,
        "language": st.language,
        "title": st.title,
        "text": st.text,
        "url": st.url,
    }
