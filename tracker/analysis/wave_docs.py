"""A timeline's waves as documents: each wave's first mover, earlier possible mentions, actors with
their lag behind it, countries, flows and links, and the document narrowed to one wave (``wave_view``).

``tracker.analysis.timeline`` builds the arrays and the waves (``tracker.analysis.waves``); this module
turns them into the JSON the API, the CLI and the pages read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from tracker.analysis.amplification import EdgeArrays, amplification_edges, country_flows, from_micros
from tracker.analysis.waves import Span


@dataclass(frozen=True, slots=True)
class DatedArrays:
    """The dated events as arrays in timeline order: position i is ``docs[i]`` (undated events sort last)."""

    times: np.ndarray  # int64 microseconds
    actor: np.ndarray  # row index in the actors list; -1: no actor
    country: list[str | None]  # the statement's country (the event document's)
    copies: np.ndarray  # syndicated copies
    confident: np.ndarray  # level high enough for a first mover
    levels: np.ndarray  # float levels; NaN: not measured


def place_in_waves(docs: Sequence[dict[str, Any]], rows: list[dict[str, Any]], dated: DatedArrays,
                    spans: Sequence[Span], firsts: Sequence[tuple[int, str]]) -> None:
    """Each dated event's wave; each actor's wave of first appearance and lag behind that wave's first mover."""
    wave_of = np.zeros(len(dated.times), dtype=np.int64)
    for k, span in enumerate(spans):
        wave_of[span.lo:span.hi] = k
        for d in docs[span.lo:span.hi]:
            d["wave"] = k + 1
    known = np.flatnonzero(dated.actor >= 0)
    actor_ids, first_pos = np.unique(dated.actor[known], return_index=True)
    for a, pos in zip(actor_ids.tolist(), known[first_pos].tolist(), strict=True):
        k = int(wave_of[pos])
        rows[a]["wave"] = k + 1
        rows[a]["lag_seconds"] = int(dated.times[pos] - dated.times[firsts[k][0]]) / 1e6


def wave_doc(number: int, span: Span, first: tuple[int, str], docs: Sequence[Mapping[str, Any]],
              rows: Sequence[Mapping[str, Any]], dated: DatedArrays, window: timedelta,
              whole: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """One wave: {wave, start, end, statements, actor_count, opened_by, gap_days, first_mover,
    confidence, earlier_mentions (each with its ``reason``: "weak", below the level, or "unfollowed",
    nobody followed it within the window), actors (the first mover's, then the followers by first
    appearance from the first mover on, each with its lag behind it), followers (how many), countries,
    flows, edges (the heaviest ``WAVE_EDGE_LIMIT``), edges_total}; every count is over the wave's own
    statements."""
    lo, hi = span.lo, span.hi
    pos, confidence = first
    t0 = int(dated.times[pos])
    actor = dated.actor[lo:hi]
    known = actor >= 0
    counts = np.bincount(actor[known], minlength=len(rows))
    copies = np.bincount(actor[known & dated.copies[lo:hi]], minlength=len(rows))
    after = actor[pos - lo:]
    offset = np.flatnonzero(after >= 0)
    ids, first_at = np.unique(after[offset], return_index=True)
    actors = [{"actor": rows[a]["actor"], "actor_id": rows[a]["actor_id"], "country": rows[a]["country"],
               "kind": rows[a]["kind"], "first_seen": docs[p]["published_at"], "wave": number,
               "lag_seconds": int(dated.times[p] - t0) / 1e6, "statements": int(counts[a]),
               "syndicated": int(copies[a])}
              for a, p in sorted(zip(ids.tolist(), (pos + offset[first_at]).tolist(), strict=True),
                                 key=lambda ap: ap[1])]
    part = slice(lo, hi)
    return {
        "wave": number,
        "start": docs[lo]["published_at"],
        "end": docs[hi - 1]["published_at"],
        "statements": hi - lo,
        "actor_count": int(np.count_nonzero(counts)),
        "opened_by": span.opened_by,
        "gap_days": None if span.gap_us is None else round(span.gap_us / 86_400e6, 1),
        "first_mover": {**docs[pos], "confidence": confidence},
        "confidence": confidence,
        "earlier_mentions": [{**d, "reason": "unfollowed" if dated.confident[i] else "weak"}
                             for i, d in enumerate(docs[lo:pos], start=lo)],
        "actors": actors,
        "followers": max(len(actors) - 1, 0),
        "countries": country_counts(dated.country[part]),
        "flows": whole[1] if whole else country_flows(dated.times[part], dated.actor[part], dated.copies[part],
                                                      dated.country[part], window),
        **wave_edges(whole[0] if whole else None, dated, span, window, rows),
    }


WAVE_EDGE_LIMIT = 2000  # heaviest links a wave's document keeps (its edges_total counts them all)


def wave_edges(whole: list[dict[str, Any]] | None, dated: DatedArrays, span: Span, window: timedelta,
                rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A wave's links: the narrative's own when it is the only wave, else its heaviest ``WAVE_EDGE_LIMIT``.

    Why the cap: the narrative's document already holds every link; a wave's pages, chart and API
    answer show a few hundred, and building every wave's full list again doubled the time of a
    100,000-statement timeline."""
    if whole is not None:
        return {"edges": whole, "edges_total": len(whole)}
    graph = link_graph(dated, span, window)
    return {"edges": edge_docs(graph, rows, WAVE_EDGE_LIMIT), "edges_total": int(graph.source.size)}


def wave_view(doc: Mapping[str, Any], number: int | None) -> dict[str, Any] | None:
    """The document as one wave sees it (None: the whole narrative, unchanged): that wave's first mover,
    earlier mentions, actors (lags behind its first mover), edges, flows, countries and events, with
    ``selected_wave`` set; ``waves``, ``bursts``, ``counts`` and ``syndication`` stay the narrative's.
    None when the narrative has no such wave."""
    if number is None:
        return {**doc, "selected_wave": None}
    found = [w for w in doc["waves"] if w["wave"] == number]
    if not found:
        return None
    wave = found[0]
    keys = ("first_mover", "earlier_mentions", "actors", "edges", "flows", "countries")
    return {**doc, **{k: wave[k] for k in keys}, "edges_total": wave.get("edges_total", len(wave["edges"])),
            "events": [e for e in doc["events"] if e["wave"] == number], "selected_wave": number}


def country_counts(countries: Sequence[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(c or "unknown" for c in countries).items()))


def link_graph(dated: DatedArrays, span: Span, window: timedelta) -> EdgeArrays:
    """The amplification graph over one stretch of the dated events with a known actor, in actor-row indices."""
    actor = dated.actor[span.lo:span.hi]
    keep = actor >= 0
    ids, local = np.unique(actor[keep], return_inverse=True)  # compact indices: a wave has few of the actors
    g = amplification_edges(dated.times[span.lo:span.hi][keep], local.astype(np.int64),
                            dated.copies[span.lo:span.hi][keep], window)
    return EdgeArrays(ids[g.source], ids[g.target], g.weight, g.independent, g.first_at, g.lag)


def edge_docs(graph: EdgeArrays, rows: Sequence[Mapping[str, Any]], limit: int | None = None
               ) -> list[dict[str, Any]]:
    """Edges as JSON, heaviest first (the first ``limit`` of them); ties by first time, then actors in
    order of appearance."""
    rank = np.lexsort((graph.target, graph.source, graph.first_at, -graph.weight))[:limit]
    names = [r["actor"] for r in rows]
    countries = [r["country"] for r in rows]
    times = graph.first_at[rank]
    distinct, where = np.unique(times, return_inverse=True)
    iso_of = [from_micros(t) for t in distinct.tolist()]
    return [{"from": names[a], "to": names[b], "from_country": countries[a], "to_country": countries[b],
             "weight": weight, "independent": indep, "first_at": iso_of[w], "lag_seconds": lag / 1e6}
            for a, b, weight, indep, w, lag in zip(graph.source[rank].tolist(), graph.target[rank].tolist(),
                                                   graph.weight[rank].tolist(), graph.independent[rank].tolist(),
                                                   where.tolist(), graph.lag[rank].tolist(), strict=True)]
