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
  * **Order and first mover**: dated events by instant; ties at the same instant go to officials,
    then state media, then proxies, then others / unknown, then the lowest ``statement_id``.
    Undated events follow all dated ones (by ``statement_id``) and never become first mover.
  * **Amplification edge A -> B**: a statement by B at t_B counts once for A when A has some
    statement at t_A with ``0 < t_B - t_A <= window``. Equality with the window counts; the same
    instant does not (nobody amplifies what is said at the same moment); self-edges are excluded.
    ``weight`` counts B's statements so preceded, ``independent`` those that are not copies.
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
from tracker.analysis.spread import bucket_label, detect_bursts, iso, to_utc
from tracker.analysis.syndication import find_copies
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
class EdgeArrays:
    """The amplification graph as parallel arrays, one row per edge A -> B."""

    source: np.ndarray  # actor index of A
    target: np.ndarray  # actor index of B
    weight: np.ndarray  # B's statements preceded by A's within the window
    independent: np.ndarray  # ... of which not syndicated copies
    first_at: np.ndarray  # int64 microseconds of the first such statement of B


def amplification_edges(
    times: np.ndarray, actor_idx: np.ndarray, copies: np.ndarray, window: timedelta
) -> EdgeArrays:
    """The amplification graph over time-sorted statements (rules in the module docstring).

    ``times`` are int64 microseconds (non-decreasing), ``actor_idx`` the actor of each statement
    (0..n-1), ``copies`` True where a statement is a syndicated copy. For each actor A, two binary
    searches per statement find whether A spoke in [t_B - window, t_B): O(actors x n log n) in
    vectorised numpy, about 0.1 s for 10,000 statements and 300 actors.
    """
    w = window // _US
    parts: list[tuple[np.ndarray, ...]] = []
    n_actors = int(actor_idx.max()) + 1 if actor_idx.size else 0
    lower = times - w
    by_actor = np.argsort(actor_idx, kind="stable")
    cuts = np.searchsorted(actor_idx[by_actor], np.arange(n_actors + 1))
    for a in range(n_actors):
        ta = times[by_actor[cuts[a] : cuts[a + 1]]]
        if ta.size == 0:
            continue
        # Count of A's statements in [t_B - w, t_B); > 0 means B was preceded within the window.
        hit = np.searchsorted(ta, times, side="left") > np.searchsorted(ta, lower, side="left")
        hit &= actor_idx != a
        if not hit.any():
            continue
        targets = actor_idx[hit]
        weights = np.bincount(targets, minlength=n_actors)
        independent = np.bincount(targets[~copies[hit]], minlength=n_actors)
        firsts, first_pos = np.unique(targets, return_index=True)
        parts.append(
            (np.full(firsts.size, a), firsts, weights[firsts], independent[firsts], times[hit][first_pos])
        )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return EdgeArrays(empty, empty, empty, empty, empty)
    cols = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(5)]
    return EdgeArrays(*cols)


def _country_flows_from_arrays(edges: EdgeArrays, countries: Sequence[str | None]) -> list[dict[str, Any]]:
    """Aggregate actor edges into country -> country flows (both known and different)."""
    names = sorted({c for c in countries if c})
    code = {c: i for i, c in enumerate(names)}
    cidx = np.array([code.get(c, -1) if c else -1 for c in countries] or [-1], dtype=np.int64)
    src, dst = cidx[edges.source], cidx[edges.target]
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    if not keep.any():
        return []
    pair = src[keep] * len(names) + dst[keep]
    uniq, inverse = np.unique(pair, return_inverse=True)
    n_edges = np.bincount(inverse)
    weight = np.bincount(inverse, weights=edges.weight[keep]).astype(np.int64)
    indep = np.bincount(inverse, weights=edges.independent[keep]).astype(np.int64)
    first = np.full(uniq.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse, edges.first_at[keep])
    flows = [
        {
            "from_country": names[int(p) // len(names)],
            "to_country": names[int(p) % len(names)],
            "edges": int(n),
            "weight": int(wt),
            "independent": int(ind),
            "first_at": iso(_EPOCH + int(f) * _US),
        }
        for p, n, wt, ind, f in zip(uniq, n_edges, weight, indep, first, strict=True)
    ]
    return sorted(flows, key=lambda f: (-f["weight"], f["from_country"], f["to_country"]))


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
) -> dict[str, Any]:
    """The narrative's timeline as a JSON-ready dict.

    Keys: ``narrative``, ``first_mover`` (an event or None), ``events`` (ordered as in the module
    docstring), ``actors`` ({actor, actor_id, country, kind, first_seen, lag_seconds, statements,
    syndicated}, by first appearance), ``edges`` (actor -> actor), ``flows`` (cross-country,
    {from_country, to_country, edges, weight, independent, first_at}), ``bursts`` (periods) and
    ``flags`` (from ``spread.detect_bursts`` with ``now`` and ``burst_options``), ``counts`` (per
    ``bucket`` by country and by kind), ``syndication`` and ``window_seconds``. Each event is {statement_id,
    external_id, published_at, actor, outlet, country, text, kind, syndicated_from}; ``actor`` is
    the grouped actor's name, ``country``/``kind`` fall back to the actor's when the event has none.
    Copies already marked in ``syndicated_from`` are kept; others are found when
    ``detect_syndication`` is on.
    """
    _check(narrative, events, window)
    ordered = _order(events, aliases if aliases is not None else AliasRules())
    copy_of = _copies(ordered.events, syndication_threshold if detect_syndication else None)
    docs = [_event_doc(ev, ordered, copy_of) for ev in ordered.events]
    dated = ordered.dated
    first_mover = docs[0] if dated else None
    rows, index = _actor_rows(ordered, copy_of)
    edges, flows = _amplification(ordered, rows, index, copy_of, window)
    report = detect_bursts((ev.published_at for ev in dated), now=now, **dict(burst_options or {}))
    return {
        "narrative": dict(narrative),
        "first_mover": first_mover,
        "events": docs,
        "actors": rows,
        "edges": edges,
        "flows": flows,
        "bursts": [p.to_dict() for p in report.periods],
        "flags": sorted(report.flags),
        "counts": _counts(docs, bucket),
        "syndication": _syndication_summary(
            docs, first_mover, syndication_threshold if detect_syndication else None
        ),
        "window_seconds": window.total_seconds(),
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
    }


def _actor_rows(ordered: _Ordered, copy_of: Mapping[int, int]
                ) -> tuple[list[dict[str, Any]], dict[tuple[str, object], int]]:
    """The actors by first appearance, with their lag behind the first mover; and each actor's row index."""
    dated = ordered.dated
    t0 = to_utc(dated[0].published_at) if dated and dated[0].published_at else None
    stats: dict[tuple[str, object], dict[str, Any]] = {}
    for ev in ordered.events:
        actor = ordered.actor_of[ev.statement_id]
        if actor is None:
            continue
        row = stats.get(actor.key)
        if row is None:
            first = to_utc(ev.published_at) if ev.published_at else None
            row = stats[actor.key] = {
                "actor": actor.name,
                "actor_id": actor.actor_id,
                "country": actor.country,
                "kind": actor.kind,
                "first_seen": iso(first),
                "lag_seconds": (first - t0).total_seconds() if first and t0 else None,
                "statements": 0,
                "syndicated": 0,
            }
        row["statements"] += 1
        row["syndicated"] += ev.statement_id in copy_of
    return list(stats.values()), {key: i for i, key in enumerate(stats)}


def _amplification(ordered: _Ordered, rows: list[dict[str, Any]], index: Mapping[tuple[str, object], int],
                   copy_of: Mapping[int, int], window: timedelta) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The actor edges (heaviest first) and the country flows, over dated events with a known actor."""
    graph_events = [(ev, a) for ev in ordered.dated if (a := ordered.actor_of[ev.statement_id]) is not None]
    n = len(graph_events)
    times = np.fromiter((ordered.micros[ev.statement_id] for ev, _ in graph_events), np.int64, n)
    idx = np.fromiter((index[a.key] for _, a in graph_events), np.int64, n)
    copies = np.fromiter((ev.statement_id in copy_of for ev, _ in graph_events), bool, n)
    graph = amplification_edges(times, idx, copies, window)
    return _edge_docs(graph, rows), _country_flows_from_arrays(graph, [r["country"] for r in rows])


def _edge_docs(graph: EdgeArrays, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Edges as JSON, heaviest first; ties by first time, then actors in order of appearance."""
    rank = np.lexsort((graph.target, graph.source, graph.first_at, -graph.weight))
    iso_cache: dict[int, str | None] = {}
    edges = []
    columns = (graph.source, graph.target, graph.weight, graph.independent, graph.first_at)
    for a, b, weight, indep, t in zip(*(col[rank].tolist() for col in columns), strict=True):
        if t not in iso_cache:
            iso_cache[t] = iso(_EPOCH + t * _US)
        edges.append({
            "from": rows[a]["actor"],
            "to": rows[b]["actor"],
            "from_country": rows[a]["country"],
            "to_country": rows[b]["country"],
            "weight": weight,
            "independent": indep,
            "first_at": iso_cache[t],
        })
    return edges


DEFAULT_EDGE_LIMIT = 500


def limit_edges(doc: Mapping[str, Any], limit: int | None = DEFAULT_EDGE_LIMIT) -> dict[str, Any]:
    """The document with only its ``limit`` heaviest actor edges (None: all) and ``edges_total``.

    Why: the actor graph grows with the square of the actors; a narrative of 3,500 statements by
    1,600 actors has 76,000 edges, 11 of its 12.5 MB of JSON. Flows and actors still count every edge.
    """
    edges = doc["edges"]
    return {**doc, "edges": edges if limit is None else edges[:limit], "edges_total": len(edges)}


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


def overall_flows(documents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Country flows summed over many narratives' timelines, with how many narratives carry each."""
    total: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in documents:
        for f in doc.get("flows", []):
            t = total.setdefault(
                (f["from_country"], f["to_country"]),
                {
                    "from_country": f["from_country"],
                    "to_country": f["to_country"],
                    "narratives": 0,
                    "edges": 0,
                    "weight": 0,
                    "independent": 0,
                    "first_at": None,
                },
            )
            t["narratives"] += 1
            for field in ("edges", "weight", "independent"):
                t[field] += f[field]
            t["first_at"] = _earliest(t["first_at"], f["first_at"])
    return sorted(total.values(), key=lambda f: (-f["weight"], f["from_country"], f["to_country"]))


def _earliest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    if a.endswith("+00:00") and b.endswith("+00:00"):
        # Our own UTC isoformat strings sort as text ("...:00+00:00" < "...:00.5+00:00" too).
        return a if a <= b else b
    return a if datetime.fromisoformat(a) <= datetime.fromisoformat(b) else b
