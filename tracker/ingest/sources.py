"""The source registry: define sources, describe them, and change their schedule, each change audited.

Fetching a source is elsewhere: ``leases.py`` claims one for a worker, ``collect.py`` fetches and
parses it, ``outcome.py`` writes what came of it and ``runner.py`` runs them as an ingest job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import audit
from tracker.config import Config
from tracker.errors import Refused
from tracker.ingest.store import ActorResolver
from tracker.models import Source, User, utcnow
from tracker.vocabulary import FILE_SOURCE_KINDS, NETWORK_SOURCE_KINDS

_EVERY = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,6})?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 60
#: The longest interval a source may have: a year. Longer ones are typos, and unbounded ones overflowed
#: the date arithmetic of every later run (and PostgreSQL's integer column).
MAX_EVERY = 365 * 86400
#: What an edit may change on a source, after it was added (its kind never changes: add another source).
EDITABLE_FIELDS = ("enabled", "every", "fetch_full_text", "country", "name", "url", "actor", "outlet")


class SourceError(Refused):
    """A source definition that cannot be accepted; ``field`` names the input at fault."""


def parse_every(text: str) -> int:
    """'30m' -> 1800 seconds; accepts s, m, h, d (bare numbers are seconds); from a minute to a year."""
    m = _EVERY.match(text or "")
    if not m:
        raise SourceError(f"every: {str(text)[:40]!r} is not an interval like 30m, 2h or 1d", field="every")
    seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if seconds < MIN_EVERY:
        raise SourceError(f"every: {text!r} is shorter than a minute", field="every")
    if seconds > MAX_EVERY:
        raise SourceError(f"every: {text!r} is longer than a year (365d)", field="every")
    return int(seconds)


def every_text(seconds: int) -> str:
    """3600 -> "1h": the shortest exact form :func:`parse_every` reads back."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc + parts.path).strip("/")[:200] or url[:200]


def _check_location(url: str, kind: str) -> str:
    if kind not in NETWORK_SOURCE_KINDS + FILE_SOURCE_KINDS:
        raise SourceError(f"kind: {kind!r} is not one of {', '.join(NETWORK_SOURCE_KINDS + FILE_SOURCE_KINDS)}",
                          field="kind")
    url = url.strip()
    if kind in NETWORK_SOURCE_KINDS:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SourceError(f"url: {url!r} is not an http(s) URL", field="url")
    elif not Path(url).exists():
        raise SourceError(f"url: file {url!r} does not exist", field="url")
    return url


def add_source(session: Session, cfg: Config, url: str, kind: str, *, name: str | None = None,
               actor: str | None = None, outlet: str | None = None, country: str | None = None,
               every: str | None = None, fetch_full_text: bool = False, user: User | None = None) -> Source:
    """Register a source, due at once; its speaker and outlet become actors if they are new."""
    url = _check_location(url, kind)
    name = (name or _default_name(url)).strip()
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise SourceError(f"name: a source called {name!r} exists already", field="name")
    resolver = ActorResolver(session)
    source = Source(
        name=name, kind=kind, url=url, country=country.upper() if country else None,
        actor_id=resolver.resolve(actor, kind="official" if actor else None, country=country),
        outlet_id=resolver.resolve(outlet, country=country, is_outlet=True),
        every_seconds=parse_every(every or cfg.ingest.default_every), fetch_full_text=fetch_full_text,
        next_due_at=utcnow(),
    )
    session.add(source)
    session.flush()
    audit.record(session, user, "source.add", "source", source.id, None, source_view(source))
    return source


def _wanted_values(session: Session, source: Source, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Edit fields as column values: ``every`` text becomes seconds, a country is upper case or None, a
    speaker or outlet name the actor it names (made if new), a name is unique, a URL fits the kind."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise SourceError(f"{unknown[0]}: a source's {unknown[0]} cannot be changed", field=unknown[0])
    values = {key: value for key, value in changes.items() if key in ("enabled", "fetch_full_text")}
    if "every" in changes:
        values["every_seconds"] = parse_every(changes["every"])
    if "country" in changes:
        values["country"] = (changes["country"] or "").strip().upper() or None
    if "name" in changes:
        name = " ".join(str(changes["name"] or "").split())
        if not name or len(name) > 200:
            raise SourceError("name: give 1 to 200 characters", field="name")
        taken = session.scalar(select(Source.id).where(Source.name == name, Source.id != source.id))
        if taken is not None:
            raise SourceError(f"name: a source called {name!r} exists already", field="name")
        values["name"] = name
    if "url" in changes:
        values["url"] = _check_location(str(changes["url"] or ""), source.kind)
    resolver = ActorResolver(session)
    if "actor" in changes:
        values["actor_id"] = resolver.resolve(changes["actor"], kind="official" if changes["actor"] else None)
    if "outlet" in changes:
        values["outlet_id"] = resolver.resolve(changes["outlet"], is_outlet=True)
    return values


def update_source(session: Session, source: Source, changes: Mapping[str, Any], *,
                  user: User | None = None) -> dict[str, Any]:
    """Apply the given :data:`EDITABLE_FIELDS` and write one audit event; returns what changed (old -> new
    in the audit row). Only ``enabled`` changing is a pause or a resume; nothing changed, nothing written."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key, value in _wanted_values(session, source, changes).items():
        if getattr(source, key) != value:
            old[key], new[key] = getattr(source, key), value
            setattr(source, key, value)
    if "url" in new:  # another address: nothing learnt about the old one holds, and it is due at once
        source.etag = source.last_modified = None
        source.error_count, source.next_due_at = 0, utcnow()
    if new:
        action = "source.update"
        if set(new) == {"enabled"}:
            action = "source.enable" if new["enabled"] else "source.pause"
        audit.record(session, user, action, "source", source.id, old, new)
    session.flush()
    return new


def delete_source(session: Session, source: Source, *, user: User | None = None) -> None:
    """Remove a source and its fetch log; the statements it brought stay (their source is forgotten)."""
    audit.record(session, user, "source.delete", "source", source.id, source_view(source), None)
    session.delete(source)
    session.flush()


def source_view(s: Source) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "kind": s.kind, "url": s.url, "every_seconds": s.every_seconds,
        "enabled": s.enabled, "fetch_full_text": s.fetch_full_text, "country": s.country,
        "actor_id": s.actor_id, "outlet_id": s.outlet_id,
        "last_fetched_at": s.last_fetched_at.isoformat() if s.last_fetched_at else None,
        "next_due_at": s.next_due_at.isoformat() if s.next_due_at else None,
        "last_status": s.last_status, "last_error": s.last_error, "error_count": s.error_count,
    }
