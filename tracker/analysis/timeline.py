"""A narrative's timeline: who said it first, who followed, how fast, and across which borders.

Input is plain data (``TimelineEvent``), so the database layer, a notebook or a test can feed it;
output is a JSON-ready dict (see ``build_timeline``).

Rules the researcher can rely on:
  * **Actor identity** is the speaker when there is one, else the outlet: a TASS item with no
    named speaker belongs to TASS; a Lavrov quote carried by TASS belongs to Lavrov. ``actor_id``,
    when given, is that actor's id and wins over the name; otherwise spellings are merged by
    ``AliasRules`` and by ``normalise_name`` keys. Events with neither speaker nor outlet have no
    actor: they are listed and counted but are in no actor list and no edge.
  * **Time**: naive datetimes are UTC; everything is compared and reported in UTC.
  * **Order**: dated events by instant; ties at the same instant go to officials, then state media,
    then proxies, then others / unknown, then the lowest ``statement_id``. Undated events follow all
    dated ones (by ``statement_id``) and never become first mover.
  * **Waves and first movers** (``tracker.analysis.waves``): activity splits into waves at long
    silences and burst onsets; each wave's first mover is its first statement that is close to the
    narrative (by its calibrated level) and followed by another actor within the window. Earlier
    statements of the wave are *earlier possible mentions*. The document's ``first_mover`` is the
    first wave's; an actor's ``lag_seconds`` is measured from the first mover of the wave it first
    appeared in (negative for an earlier possible mention).
  * **Amplification edge A -> B**: a statement by B at t_B counts once for A when A has some
    statement at t_A with ``0 < t_B - t_A <= window``. Equality with the window counts; the same
    instant does not (nobody amplifies what is said at the same moment); self-edges are excluded.
    ``weight`` counts B's statements so preceded, ``independent`` those that are not copies,
    ``lag_seconds`` how long after A's latest statement B's first such statement came.
  * **Flows** (``tracker.analysis.amplification``) count distinct statements and actors, so a flow
    into a country never exceeds that country's count in ``countries``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tracker.analysis.actors import AliasRules, clean_name
from tracker.analysis.amplification import (
    amplification_edges,
    country_flows,
    overall_flows,
)
from tracker.analysis.spread import bucket_label, detect_bursts, iso, to_utc
from tracker.analysis.syndication import find_copies
from tracker.analysis.wave_docs import (
    DatedArrays,
    country_counts,
    edge_docs,
    link_graph,
    place_in_waves,
    wave_doc,
    wave_view,
)
from tracker.analysis.waves import Span, WaveRule, pick_first_mover, segment
from tracker.vocabulary import ACTOR_KINDS

logger = logging.getLogger(__name__)

KIND_RANK = {kind: rank for rank, kind in enumerate(ACTOR_KINDS)}  # official first, then state media, ...
_UNKNOWN_RANK = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One statement of a narrative, as the timeline needs it."""

    statement_id: int
    external_id: str | None
    published_at: datetime | None
    actor: str | None  # speaker
    actor_id: int | None  # id of the grouped actor (speaker, else outlet), when known
    outlet: str | None
    country: str | None
    kind: str | None  # actor kind: official, state_media, proxy, other
    text: str
    syndicated_from: int | None = None  # statement_id of the original, when already known
    level: float | None = None  # calibrated level towards the narrative; None: not measured (trusted)


@dataclass(frozen=True, slots=True)
class _Actor:
    key: tuple[str, object]
    name: str
    actor_id: int | None
    country: str | None
    kind: str | None


def _consensus(values: Iterable[str | None]) -> str | None:
    """Most common non-empty value; ties go to the one seen first."""
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _resolve_actors(events: Sequence[TimelineEvent], rules: AliasRules) -> list[_Actor | None]:
    """Group events into actors (see module docstring); one entry per event, None when unknown."""
    keys: list[tuple[str, object] | None] = []
    members: dict[tuple[str, object], list[int]] = defaultdict(list)
    for i, ev in enumerate(events):
        name = clean_name(ev.actor or "") or clean_name(ev.outlet or "")
        if ev.actor_id is not None:
            key: tuple[str, object] | None = ("id", ev.actor_id)
        elif name:
            key = ("name", rules.key(name))
        else:
            key = None
        keys.append(key)
        if key is not None:
            members[key].append(i)
    actors: dict[tuple[str, object], _Actor] = {}
    for key, idx in members.items():
        spellings = [clean_name(events[i].actor or "") or clean_name(events[i].outlet or "") for i in idx]
        ruled = [rules.resolve(s) for s in spellings if s and rules.has_rule(s)]
        name = _consensus(ruled) or _consensus(spellings) or f"actor {key[1]}"
        actors[key] = _Actor(
            key=key,
            name=name,
            actor_id=key[1] if key[0] == "id" and isinstance(key[1], int) else None,
            country=_consensus(events[i].country for i in idx),
            kind=_consensus(events[i].kind for i in idx),
        )
    return [actors[k] if k is not None else None for k in keys]


def _micros(moment: datetime) -> int:
    return (to_utc(moment) - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class _Ordered:
    """A narrative's events in timeline order, with their grouped actors and microsecond times."""

    events: list[TimelineEvent]
    actor_of: dict[int, _Actor | None]  # statement_id -> actor
    micros: dict[int, int]  # statement_id -> time, for dated events

    def kind_of(self, ev: TimelineEvent) -> str | None:
        actor = self.actor_of[ev.statement_id]
        return ev.kind or (actor.kind if actor else None)

    @property
    def dated(self) -> list[TimelineEvent]:
        return [ev for ev in self.events if ev.published_at is not None]


@dataclass(frozen=True, slots=True)
class WaveOptions:
    """How activity splits into waves and how close to its narrative a first mover must be (the rules
    are in ``tracker.analysis.waves``; the settings in ``[timeline]``)."""

    gap: timedelta = timedelta(days=60)
    onset_quiet: timedelta = timedelta(days=7)  # zero: burst onsets open no wave
    min_statements: int = 3
    first_mover_level: float | None = None  # None: every statement is close enough

    def rule(self) -> WaveRule:
        return WaveRule(self.gap // _US, self.onset_quiet // _US, max(self.min_statements, 1))


def build_timeline(
    narrative: Mapping[str, Any],
    events: Sequence[TimelineEvent],
    window: timedelta,
    bucket: str = "week",
    now: datetime | None = None,
    *,
    aliases: AliasRules | None = None,
    detect_syndication: bool = True,
    syndication_threshold: float = 0.7,
    burst_options: Mapping[str, Any] | None = None,
    waves: WaveOptions | None = None,
) -> dict[str, Any]:
    """The narrative's timeline as a JSON-ready dict.

    Keys: ``narrative``, ``first_mover`` (the first wave's, an event with its ``confidence``, or
    None), ``earlier_mentions`` (the first wave's events before it), ``events`` (ordered as in the
    module docstring), ``actors`` ({actor, actor_id, country, kind, first_seen, wave, lag_seconds,
    statements, syndicated}, by first appearance), ``edges`` (actor -> actor, with ``lag_seconds``),
    ``flows`` (cross-country, {from_country, to_country, statements, actors, independent,
    first_at}), ``countries`` (dated statements per country), ``waves`` (see ``wave_doc``),
    ``bursts`` (periods) and ``flags`` (from ``spread.detect_bursts`` with ``now`` and
    ``burst_options``), ``counts`` (per ``bucket`` by country and by kind), ``syndication`` and
    ``window_seconds``. Each event is {statement_id, external_id, published_at, actor, outlet,
    country, text, kind, syndicated_from, level, wave}; ``actor`` is the grouped actor's name,
    ``country``/``kind`` fall back to the actor's when the event has none. Copies already marked in
    ``syndicated_from`` are kept; others are found when ``detect_syndication`` is on.
    """
    _check(narrative, events, window)
    opts = waves or WaveOptions()
    ordered = _order(events, aliases if aliases is not None else AliasRules())
    copy_of = _copies(ordered.events, syndication_threshold if detect_syndication else None)
    docs = [_event_doc(ev, ordered, copy_of) for ev in ordered.events]
    rows, index = _actor_rows(ordered, copy_of)
    dated = _dated_arrays(ordered, docs, index, copy_of, opts.first_mover_level)
    report = detect_bursts((ev.published_at for ev in ordered.dated), now=now, **dict(burst_options or {}))
    onsets = [_micros(p.start) for p in report.periods if p.kind == "surging"]
    spans = segment(dated.times, opts.rule(), onsets)
    window_us = window // _US
    firsts = [pick_first_mover(span, dated.times, dated.actor, dated.confident, dated.levels, window_us)
              for span in spans]
    place_in_waves(docs, rows, dated, spans, firsts)
    everything = Span(0, len(dated.times), "start", None)
    edges = edge_docs(link_graph(dated, everything, window), rows)
    flows = country_flows(dated.times, dated.actor, dated.copies, dated.country, window)
    whole = (edges, flows) if len(spans) == 1 else None  # one wave: its links and flows are the narrative's
    wave_docs = [wave_doc(k, span, first, docs, rows, dated, window, whole) for k, (span, first) in
                 enumerate(zip(spans, firsts, strict=True), start=1)]
    first_mover = wave_docs[0]["first_mover"] if wave_docs else None
    return {
        "narrative": dict(narrative),
        "first_mover": first_mover,
        "earlier_mentions": wave_docs[0]["earlier_mentions"] if wave_docs else [],
        "events": docs,
        "actors": rows,
        "edges": edges,
        "flows": flows,
        "countries": country_counts(dated.country),
        "waves": wave_docs,
        "bursts": [p.to_dict() for p in report.periods],
        "flags": sorted(report.flags),
        "counts": _counts(docs, bucket),
        "syndication": _syndication_summary(
            docs, first_mover, syndication_threshold if detect_syndication else None
        ),
        "window_seconds": window.total_seconds(),
        "wave_rule": {"gap_days": opts.gap.total_seconds() / 86400,
                      "onset_quiet_days": opts.onset_quiet.total_seconds() / 86400,
                      "min_statements": opts.min_statements, "first_mover_level": opts.first_mover_level},
    }


def _check(narrative: Mapping[str, Any], events: Sequence[TimelineEvent], window: timedelta) -> None:
    if window <= timedelta(0):
        raise ValueError(f"window must be positive, got {window}")
    seen_ids: set[int] = set()
    for ev in events:
        if ev.statement_id in seen_ids:
            raise ValueError(
                f"statement_id {ev.statement_id} appears twice in narrative {narrative.get('id')!r}"
            )
        seen_ids.add(ev.statement_id)


def _order(events: Sequence[TimelineEvent], rules: AliasRules) -> _Ordered:
    """Events in timeline order (module docstring), each with its grouped actor."""
    # Stable pre-order (time, id) so actor consensus ties go to the earliest spelling.
    us = {e.statement_id: _micros(e.published_at) for e in events if e.published_at is not None}
    pre = sorted(events, key=lambda e: (e.published_at is None, us.get(e.statement_id, 0), e.statement_id))
    resolved = _Ordered(pre, dict(zip((e.statement_id for e in pre), _resolve_actors(pre, rules), strict=True)), us)

    def order(ev: TimelineEvent) -> tuple[int, int, int, int]:
        if ev.published_at is None:
            return (1, 0, 0, ev.statement_id)
        return (0, us[ev.statement_id], KIND_RANK.get(resolved.kind_of(ev) or "", _UNKNOWN_RANK), ev.statement_id)

    return _Ordered(sorted(pre, key=order), resolved.actor_of, us)


def _copies(ordered: list[TimelineEvent], threshold: float | None) -> dict[int, int]:
    """statement_id -> the original it copies: given marks win; detection (unless ``threshold`` is None)
    runs over the rest in timeline order."""
    copy_of: dict[int, int] = {
        e.statement_id: e.syndicated_from for e in ordered if e.syndicated_from is not None
    }
    if threshold is not None:
        found = find_copies([e.text for e in ordered], threshold=threshold)
        for ev, src in zip(ordered, found, strict=True):
            if src is not None and ev.statement_id not in copy_of:
                copy_of[ev.statement_id] = ordered[src].statement_id
    return copy_of


def _event_doc(ev: TimelineEvent, ordered: _Ordered, copy_of: Mapping[int, int]) -> dict[str, Any]:
    actor = ordered.actor_of[ev.statement_id]
    return {
        "statement_id": ev.statement_id,
        "external_id": ev.external_id,
        "published_at": iso(ev.published_at),
        "actor": actor.name if actor else None,
        "outlet": ev.outlet,
        "country": ev.country or (actor.country if actor else None),
        "text": ev.text,
        "kind": ordered.kind_of(ev),
        "syndicated_from": copy_of.get(ev.statement_id),
        "level": None if ev.level is None else round(ev.level, 3),
        "wave": None,
    }


def _actor_rows(ordered: _Ordered, copy_of: Mapping[int, int]
                ) -> tuple[list[dict[str, Any]], dict[tuple[str, object], int]]:
    """The actors by first appearance (their wave and lag are set by ``place_in_waves``); and each
    actor's row index."""
    stats: dict[tuple[str, object], dict[str, Any]] = {}
    for ev in ordered.events:
        actor = ordered.actor_of[ev.statement_id]
        if actor is None:
            continue
        row = stats.get(actor.key)
        if row is None:
            row = stats[actor.key] = {
                "actor": actor.name,
                "actor_id": actor.actor_id,
                "country": actor.country,
                "kind": actor.kind,
                "first_seen": iso(ev.published_at),
                "wave": None,
                "lag_seconds": None,
                "statements": 0,
                "syndicated": 0,
            }
        row["statements"] += 1
        row["syndicated"] += ev.statement_id in copy_of
    return list(stats.values()), {key: i for i, key in enumerate(stats)}


def _dated_arrays(ordered: _Ordered, docs: Sequence[Mapping[str, Any]], index: Mapping[tuple[str, object], int],
                  copy_of: Mapping[int, int], level: float | None) -> DatedArrays:
    dated = ordered.dated
    n = len(dated)
    actors = (ordered.actor_of[ev.statement_id] for ev in dated)
    return DatedArrays(
        times=np.fromiter((ordered.micros[ev.statement_id] for ev in dated), np.int64, n),
        actor=np.fromiter((index[a.key] if a is not None else -1 for a in actors), np.int64, n),
        country=[d["country"] for d in docs[:n]],
        copies=np.fromiter((ev.statement_id in copy_of for ev in dated), bool, n),
        confident=np.fromiter((level is None or ev.level is None or ev.level >= level for ev in dated), bool, n),
        levels=np.fromiter((np.nan if ev.level is None else ev.level for ev in dated), np.float64, n),
    )


DEFAULT_EDGE_LIMIT = 500


def limit_edges(doc: Mapping[str, Any], limit: int | None = DEFAULT_EDGE_LIMIT) -> dict[str, Any]:
    """The document to send: only its ``limit`` heaviest actor edges (None: all) with ``edges_total``;
    each wave's links stay out (its ``edges_total`` says how many; ``wave_view`` first to send one
    wave's links as the document's own).

    Why: the actor graph grows with the square of the actors; a narrative of 3,500 statements by
    1,600 actors has 76,000 edges, 11 of its 12.5 MB of JSON, and every wave's links again would
    double that. Flows and actors still count every edge.
    """
    edges = doc["edges"]
    waves = [{**w, "edges": [], "edges_total": w.get("edges_total", len(w["edges"]))} for w in doc.get("waves", [])]
    return {**doc, "edges": edges if limit is None else edges[:limit],
            "edges_total": doc.get("edges_total", len(edges)), "waves": waves}


def _counts(docs: Sequence[Mapping[str, Any]], bucket: str) -> dict[str, Any]:
    by_country: dict[str, Counter[str]] = defaultdict(Counter)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    undated = 0
    for d in docs:
        if d["published_at"] is None:
            undated += 1
            continue
        label = bucket_label(datetime.fromisoformat(d["published_at"]), bucket)
        by_country[label][d["country"] or "unknown"] += 1
        by_kind[label][d["kind"] or "unknown"] += 1
    return {
        "bucket": bucket,
        "by_country": {p: dict(sorted(c.items())) for p, c in sorted(by_country.items())},
        "by_kind": {p: dict(sorted(c.items())) for p, c in sorted(by_kind.items())},
        "undated": undated,
    }


def _syndication_summary(
    docs: Sequence[Mapping[str, Any]], first_mover: Mapping[str, Any] | None, threshold: float | None
) -> dict[str, Any]:
    """Copies counted apart from original statements; independent = originals by other actors."""
    origin = first_mover["actor"] if first_mover else None
    copies = [d for d in docs if d["syndicated_from"] is not None]
    originals = [d for d in docs if d["syndicated_from"] is None]
    independent = [d for d in originals if d["actor"] is not None and d["actor"] != origin]
    return {
        "originals": len(originals),
        "syndicated": len(copies),
        "independent": len(independent),
        "syndicating_actors": len({d["actor"] for d in copies if d["actor"] is not None}),
        "independent_actors": len({d["actor"] for d in independent}),
        "threshold": threshold,
    }


__all__ = ["DEFAULT_EDGE_LIMIT", "TimelineEvent", "WaveOptions", "amplification_edges", "build_timeline",
           "limit_edges", "overall_flows", "wave_view"]
