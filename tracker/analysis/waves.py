"""Waves of a narrative, and the first mover of each that one stray statement cannot fake.

**Segmentation** (over dated statements in timeline order; settings in ``[timeline]``):
  * a silence of at least ``wave_gap_days`` ends a wave: the next statement opens a new one;
  * a burst onset opens one too: a surge found by ``spread.detect_bursts`` that begins after at least
    ``wave_onset_quiet_days`` without a statement (0 turns this rule off);
  * a stretch of fewer than ``min_wave`` statements is not a wave of its own: it joins the wave after
    it (or, at the end, the one before), where its statements are earlier or later mentions. A
    narrative whose every stretch is that small is one wave.

**First mover of a wave**: the first statement, in timeline order, that is
  * *confident*: its level towards the narrative (the calibrated measure discovery and assignment
    use, ``narratives.calibration``) is at least ``first_mover_level``; a statement with no level
    (confirmed by a researcher, or fed without one) counts as confident; and
  * *part of the wave's activity*: another actor's confident statement of the wave follows it within
    the amplification window.
Statements of the wave before it are **earlier possible mentions**, shown as such and never as the
origin. Without such a statement the first confident one is taken, and without a confident one the
one closest to the narrative (the earliest of equals), each with ``confidence`` saying so
("isolated" or "low").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENT = "confident"  # confident and followed within the window
ISOLATED = "isolated"  # confident, but nobody followed it within the window
LOW = "low"  # no confident statement in the wave


@dataclass(frozen=True, slots=True)
class WaveRule:
    """How activity splits into waves; microseconds, as the timeline's times (see module docstring)."""

    gap_us: int
    onset_quiet_us: int  # 0: surges open no wave
    min_statements: int


@dataclass(frozen=True, slots=True)
class Span:
    """One wave: statements ``lo`` .. ``hi - 1`` of the dated timeline, and what opened it."""

    lo: int
    hi: int
    opened_by: str  # "start", "gap" or "surge"
    gap_us: int | None  # the silence before it (None for the first)


def segment(times: np.ndarray, rule: WaveRule, surge_starts: Sequence[int] = ()) -> list[Span]:
    """Waves over non-decreasing int64 ``times`` (microseconds); ``surge_starts`` are burst onsets."""
    n = int(times.size)
    if n == 0:
        return []
    gaps = np.diff(times)
    opened = {int(i) + 1: "gap" for i in np.flatnonzero(gaps >= rule.gap_us)}
    if rule.onset_quiet_us > 0:
        for start in surge_starts:
            i = int(np.searchsorted(times, start, side="left"))
            if 0 < i < n and i not in opened and gaps[i - 1] >= rule.onset_quiet_us:
                opened[i] = "surge"
    cuts = [0, *sorted(opened), n]
    spans = [Span(lo, hi, opened.get(lo, "start"), int(gaps[lo - 1]) if lo else None)
             for lo, hi in zip(cuts, cuts[1:], strict=False)]
    return _absorb_small(spans, rule.min_statements)


def _absorb_small(spans: list[Span], min_statements: int) -> list[Span]:
    """Stretches below ``min_statements`` join the wave after them (the last ones: the wave before)."""
    if all(s.hi - s.lo < min_statements for s in spans):
        return [Span(spans[0].lo, spans[-1].hi, "start", None)]
    out: list[Span] = []
    pending: Span | None = None  # small stretches waiting for the next real wave
    for s in spans:
        if s.hi - s.lo < min_statements:
            pending = pending or s
            continue
        if pending is not None:
            s = Span(pending.lo, s.hi, pending.opened_by, pending.gap_us)
            pending = None
        out.append(s)
    if pending is not None:
        last = out[-1]
        out[-1] = Span(last.lo, pending.hi if pending.hi > last.hi else last.hi, last.opened_by, last.gap_us)
    return out


def pick_first_mover(span: Span, times: np.ndarray, actors: np.ndarray, confident: np.ndarray,
                     levels: np.ndarray, window_us: int) -> tuple[int, str]:
    """The first mover's position in the timeline, and how sure it is (see module docstring).

    ``actors`` holds each statement's actor index (-1: unknown), ``confident`` whether its level is
    high enough, ``levels`` each level (NaN: not measured). O(n log n) in the wave's size: one binary search per confident statement.
    """
    lo, hi = span.lo, span.hi
    t, a, ok = times[lo:hi], actors[lo:hi], confident[lo:hi]
    sure = np.flatnonzero(ok)
    if sure.size == 0:
        return lo + int(np.argmax(levels[lo:hi])), LOW  # no NaN here: an unmeasured level is confident
    ts, as_ = t[sure], a[sure]
    # Followers are confident statements of a known actor: a statement nobody is named for cannot show
    # that *another* actor took the claim up. For each confident statement k, the followers strictly after
    # it and within the window are [start[k], stop[k]); some other actor is among them when the first
    # differs from k's actor, or the run of equal actors beginning there ends inside the range.
    known = as_ >= 0
    fts, fas = ts[known], as_[known]
    if fas.size == 0:
        return lo + int(sure[0]), ISOLATED
    start = np.searchsorted(fts, ts, side="right")
    stop = np.searchsorted(fts, ts + window_us, side="right")
    change = np.flatnonzero(np.diff(fas) != 0) + 1  # where a new run of one actor begins
    run_end = np.append(change, fas.size)[np.searchsorted(change, np.arange(fas.size), side="right")]
    first = np.minimum(start, fas.size - 1)
    followed = (start < stop) & ((fas[first] != as_) | (run_end[first] < stop))
    hits = np.flatnonzero(followed)
    if hits.size:
        return lo + int(sure[hits[0]]), CONFIDENT
    return lo + int(sure[0]), ISOLATED
