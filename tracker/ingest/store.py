"""Normalise, deduplicate and upsert statement drafts, keeping provenance.

Identity rule (``Statement.external_key``): the publisher's id scoped by outlet when the draft has
one, else the normalised-content hash scoped by outlet. So re-ingesting a file or feed adds nothing,
a feed entry whose text was edited updates its row, and the same words from two outlets stay two
statements: that is amplification, which the timeline must see.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tracker.ingest.drafts import RowError, StatementDraft, is_web_url
from tracker.models import Actor, ActorAlias, Source, Statement, utcnow
from tracker.vocabulary import ACTOR_KINDS

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
MAX_TEXT_CHARS = 100_000

LanguageDetector = Callable[[Sequence[str]], list[str | None]]


def clean_text(text: str) -> str:
    """NFC, no control characters, single spaces: the text as stored and embedded."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():  # printable text has no control (C*) characters: skip the per-character pass
        text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return _SPACE.sub(" ", text).strip()


_TAG = re.compile(r"<[^<>]*>")
MAX_NAME_CHARS = 300


def clean_name(name: str) -> str:
    """An actor's or outlet's name as stored: ``clean_text`` without markup. A name is plain text, yet
    feeds and files hand over ``<b>TASS</b>`` or worse, and every page and chart shows names; tags are
    removed until none is left (``<<b>b>`` does not leave a ``<b>``)."""
    name = clean_text(name)
    while _TAG.search(name):
        name = _TAG.sub("", name)
    return _SPACE.sub(" ", name).strip()[:MAX_NAME_CHARS]


def text_hash(text: str) -> str:
    """Hash of the exact stored text: the embedding cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(text: str) -> str:
    """Hash of the text with case, punctuation and spacing removed: the dedup key."""
    folded = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(_SPACE.sub(" ", folded).strip().encode("utf-8")).hexdigest()


def actor_key(name: str) -> str:
    """Lookup key for an actor name or alias: case, accents of spacing and punctuation folded."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", folded)).strip()


@dataclass
class StoreStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: StoreStats) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "errors": len(self.errors)}


class ActorResolver:
    """Find or create actors by name through their aliases.

    The cache outlives one batch (assign ``session`` for the next batch), so a long import asks the
    database about each actor once; facts an earlier mention lacked (kind, country) are filled in.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[str, tuple[int, str, str | None, bool]] = {}
        self._absent: set[str] = set()  # keys prefetch found no actor for

    def prefetch(self, names: Iterable[str | None]) -> None:
        """Look up, a few hundred per query, the actors a batch names that this resolver has not met.

        Two lookups per name one at a time were most of an import's time (EUvsDisinfo: 695 actors)."""
        todo: dict[str, str] = {}
        for raw in names:
            name = clean_name(raw) if raw else ""
            if name:
                key = actor_key(name) or name
                if key not in self._cache and key not in self._absent:
                    todo.setdefault(key, name)
        keys = list(todo)
        columns = (Actor.id, Actor.kind, Actor.country, Actor.is_outlet)
        for start in range(0, len(keys), 900):
            for key, actor_id, kind, country, is_outlet in self.session.execute(
                    select(ActorAlias.key, *columns).join(Actor, Actor.id == ActorAlias.actor_id)
                    .where(ActorAlias.key.in_(keys[start : start + 900])).order_by(ActorAlias.id)):
                self._cache.setdefault(key, (actor_id, kind, country, is_outlet))
        by_name = {todo[k]: k for k in keys if k not in self._cache}  # actors made elsewhere, without an alias row
        names_left = list(by_name)
        for start in range(0, len(names_left), 900):
            for name, actor_id, kind, country, is_outlet in self.session.execute(
                    select(Actor.name, *columns).where(Actor.name.in_(names_left[start : start + 900]))
                    .order_by(Actor.id)):
                self._cache.setdefault(by_name[name], (actor_id, kind, country, is_outlet))
        self._absent.update(k for k in keys if k not in self._cache)

    def create_missing(self, mentions: Iterable[tuple[str | None, str | None, str | None, bool]]) -> None:
        """Create the actors that (name, kind, country, is_outlet) mentions name and nobody has yet.

        Two multi-row inserts for a whole batch: an import meets a new actor every few rows (695 in
        the 7,299 EUvsDisinfo cases), and one insert pair per actor was a fifth of its time. The first
        mention of a name decides its facts; later mentions only fill gaps (``resolve``).
        """
        named = [(raw, kind, country, is_outlet) for raw, kind, country, is_outlet in mentions if raw and raw.strip()]
        self.prefetch(m[0] for m in named)
        new: dict[str, dict[str, Any]] = {}
        for raw, kind, country, is_outlet in named:
            name = clean_name(raw)
            key = actor_key(name) or name
            if name and key not in self._cache and key not in new:
                new[key] = {"name": name, "kind": kind if kind in ACTOR_KINDS else "other",
                            "country": country, "is_outlet": is_outlet}
        if not new:
            return
        keys = list(new)
        ids = self.session.scalars(insert(Actor).returning(Actor.id, sort_by_parameter_order=True),
                                   [new[k] for k in keys]).all()
        self.session.execute(insert(ActorAlias), [
            {"actor_id": actor_id, "alias": new[key]["name"], "key": key, "origin": "name"}
            for key, actor_id in zip(keys, ids, strict=True)])
        for key, actor_id in zip(keys, ids, strict=True):
            facts = new[key]
            self._cache[key] = (actor_id, facts["kind"], facts["country"], facts["is_outlet"])
            self._absent.discard(key)

    def resolve(self, name: str | None, *, kind: str | None = None, country: str | None = None,
                is_outlet: bool = False) -> int | None:
        name = clean_name(name) if name else ""
        if not name:
            return None
        key = actor_key(name) or name
        kind = kind if kind in ACTOR_KINDS else None
        cached = self._cache.get(key)
        if cached is None:
            self.create_missing([(name, kind, country, is_outlet)])
            cached = self._cache[key]
        actor_id, known_kind, known_country, known_outlet = cached
        learns_kind = known_kind == "other" and kind not in (None, "other")
        learns_country = not known_country and bool(country)
        learns_outlet = is_outlet and not known_outlet
        if learns_kind or learns_country or learns_outlet:  # fill in what earlier mentions did not know
            actor = self.session.get(Actor, actor_id)
            if actor is not None:
                if learns_kind and kind is not None:
                    actor.kind = kind
                if learns_country:
                    actor.country = country
                if learns_outlet:
                    actor.is_outlet = True
                cached = (actor_id, actor.kind, actor.country, actor.is_outlet)
        self._cache[key] = cached
        return actor_id


def _place(draft: StatementDraft, source: Source | None) -> tuple[str | None, str | None]:
    """The draft's country (else its source's) and its outlet's kind: state media when the outlet speaks itself."""
    country = draft.country or (source.country if source else None) or None
    country = country.strip().upper()[:8] if country else None
    same_as_outlet = not draft.actor or (draft.outlet and actor_key(draft.actor) == actor_key(draft.outlet))
    outlet_kind = "state_media" if draft.actor_kind == "state_media" and same_as_outlet else None
    return country, outlet_kind


def _scope(outlet_id: int | None, source: Source | None) -> str:
    if outlet_id is not None:
        return f"o{outlet_id}"
    if source is not None:
        return f"s{source.id}"
    return "-"


def _validate(draft: StatementDraft) -> tuple[str | None, RowError | None]:
    path, line = _where(draft.origin)
    given: object = draft.text  # parsers are typed, but a file's value may still be a number or a list
    if not isinstance(given, str):
        return None, RowError(path, line, "text is not a string", "text")
    text = clean_text(given)
    if not text:
        return None, RowError(path, line, "text is empty", "text")
    if len(text) > MAX_TEXT_CHARS:
        return None, RowError(path, line, f"text is {len(text):,} characters (limit {MAX_TEXT_CHARS:,})", "text")
    if draft.url is not None and not is_web_url(draft.url):
        return None, RowError(path, line, f"url is not an http(s) URL: {draft.url[:60]!r}", "url")
    if draft.actor_kind is not None and draft.actor_kind not in ACTOR_KINDS:
        return None, RowError(path, line, f"actor_kind {draft.actor_kind!r} is not one of {ACTOR_KINDS}",
                              "actor_kind")
    return text, None


def _where(origin: str) -> tuple[str, int | None]:
    head, sep, tail = origin.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail)
    return origin, None


def store_drafts(
    session: Session,
    items: Iterable[StatementDraft | RowError],
    *,
    source: Source | None = None,
    detect: LanguageDetector | None = None,
    resolver: ActorResolver | None = None,
) -> StoreStats:
    """Upsert one batch of drafts in the caller's transaction; row errors are collected, not raised."""
    stats = StoreStats()
    rows = _valid_rows(items, stats)
    if not rows:
        return stats
    resolver = resolver or ActorResolver(session)
    places = [_place(draft, source) for draft, _ in rows]
    resolver.create_missing(
        mention for (draft, _), (country, outlet_kind) in zip(rows, places, strict=True)
        for mention in ((draft.outlet, outlet_kind, country, True), (draft.actor, draft.actor_kind, country, False)))
    languages = _languages(rows, detect)
    prepared: dict[str, dict[str, Any]] = {}
    for (draft, text), language, place in zip(rows, languages, places, strict=True):
        values = _values(draft, text, language, place, source, resolver)
        prepared[values["external_key"]] = values
    _upsert(session, prepared, stats)
    return stats


def _valid_rows(items: Iterable[StatementDraft | RowError], stats: StoreStats) -> list[tuple[StatementDraft, str]]:
    """The drafts that can be stored, each with its cleaned text; the others become row errors."""
    rows: list[tuple[StatementDraft, str]] = []
    for item in items:
        if isinstance(item, RowError):
            stats.errors.append(item)
            continue
        text, error = _validate(item)
        if error is not None:
            stats.errors.append(error)
            continue
        assert text is not None
        rows.append((item, text))
    return rows


def _languages(rows: list[tuple[StatementDraft, str]], detect: LanguageDetector | None) -> list[str | None]:
    """Each draft's language as given, else as detected from its text (in one batch)."""
    languages = [d.language.strip().lower() if d.language else None for d, _ in rows]
    missing = [i for i, lang in enumerate(languages) if not lang]
    if missing and detect is not None:
        found = detect([rows[i][1] for i in missing])
        for i, lang in zip(missing, found, strict=True):
            languages[i] = lang
    return languages


def _values(draft: StatementDraft, text: str, language: str | None, place: tuple[str | None, str | None],
            source: Source | None, resolver: ActorResolver) -> dict[str, Any]:
    """The statement row a draft becomes; ``external_key`` is its identity (module docstring)."""
    country, outlet_kind = place
    outlet_id = resolver.resolve(draft.outlet, kind=outlet_kind, country=country, is_outlet=True) or (
        source.outlet_id if source is not None else None)
    speaker_id = resolver.resolve(draft.actor, kind=draft.actor_kind, country=country) or (
        source.actor_id if source is not None else None)
    chash = content_hash(text)
    scope = _scope(outlet_id, source)
    ext = draft.external_id.strip()[:500] if draft.external_id else None
    key = f"x:{scope}:{ext}" if ext else f"h:{scope}:{chash}"
    provenance: dict[str, Any] = {"origin": draft.origin}
    if draft.extra:
        provenance["extra"] = _jsonable(draft.extra)
    return {
        "external_key": key[:600],
        "external_id": ext,
        "text": text,
        "text_hash": text_hash(text),
        "content_hash": chash,
        "title": clean_text(draft.title) if draft.title else None,
        "context": clean_text(draft.context) if draft.context else None,
        "language": language[:12] if language else None,
        "published_at": draft.published_at,
        "url": draft.url,
        "country": country,
        "speaker_id": speaker_id,
        "outlet_id": outlet_id,
        "source_id": source.id if source is not None else None,
        "origin": draft.origin or None,
        "provenance": provenance,
    }


def _upsert(session: Session, prepared: dict[str, dict[str, Any]], stats: StoreStats) -> None:
    """Insert the new statements in one statement; update the changed ones, keeping their revision history."""
    existing = {
        s.external_key: s
        for s in session.scalars(select(Statement).where(Statement.external_key.in_(list(prepared))))
    }
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    for key, values in prepared.items():
        current = existing.get(key)
        if current is None:
            new_rows.append({**values, "fetched_at": now, "created_at": now, "updated_at": now})
            stats.inserted += 1
            continue
        changed = _changed_fields(current, values)
        if not changed:
            stats.unchanged += 1
            continue
        history = dict(current.provenance or {})
        history["revisions"] = int(history.get("revisions", 0)) + 1
        history["previous_text_hash"] = current.text_hash
        history["origin"] = values["provenance"]["origin"]
        for name in changed:
            setattr(current, name, values[name])
        current.provenance = history
        current.fetched_at = now
        stats.updated += 1
    if new_rows:  # one multi-row INSERT: the ORM's unit of work is slow for thousands of rows
        session.execute(insert(Statement), new_rows)
    session.flush()


_COMPARED = ("text", "title", "context", "published_at", "url", "language", "speaker_id", "outlet_id", "country")


def _changed_fields(current: Statement, values: dict[str, Any]) -> list[str]:
    changed = [name for name in _COMPARED if values[name] is not None and getattr(current, name) != values[name]]
    if "text" in changed:
        changed += ["text_hash", "content_hash"]
    return changed


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
