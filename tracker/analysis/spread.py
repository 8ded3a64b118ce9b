"""How a narrative's activity moves over time: counts per period, bursts and resurgence.

A narrative is judged against its own history, not against other narratives: twenty statements a
week is a surge for a fringe claim and a quiet week for "NATO expansion". All times are bucketed
in UTC (naive datetimes are taken as UTC), so a +08:00 Beijing statement and a +03:00 Moscow one
fall in the day they share on a UTC clock.

Flags (the state *as of* ``now``):
  * ``emerging``  - the first statement is at most ``emerging_days`` old, there are at least
    ``min_count`` statements, and the last ``window_days`` hold no fewer than the window before.
  * ``surging``   - the last ``window_days`` hold at least ``min_count`` statements and at least
    ``surge_ratio`` times what the narrative's rate over the preceding ``baseline_days`` predicts.
    The baseline covers at least ``window_days``, holds at least one statement and never reaches
    back across a dormant gap (a return after a long silence is a resurgence, not a surge).
  * ``resurgent`` - the latest wave of activity began after a silence of at least
    ``dormant_days``, has at least ``min_wave`` statements and is not itself dormant.
  * ``dormant``   - nothing in the last ``dormant_days``.
Periods list the history: every surge and every resurgent wave, plus the current emerging wave.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from tracker.vocabulary import LIVE_STATUSES

logger = logging.getLogger(__name__)

BUCKETS = ("day", "week", "month")


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive input is taken to be UTC already."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset ("2022-03-01T09:00:00+00:00"), or None."""
    return None if moment is None else to_utc(moment).isoformat()


def bucket_start(day: date, bucket: str) -> date:
    """The first day of the period holding ``day``: itself, its ISO week's Monday, or the 1st."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")


def bucket_label(moment: datetime, bucket: str) -> str:
    """Label of the UTC period holding ``moment``: "2022-03-07" for day/week, "2022-03" for month."""
    start = bucket_start(to_utc(moment).date(), bucket)
    return start.strftime("%Y-%m") if bucket == "month" else start.isoformat()


def _next_bucket(start: date, bucket: str) -> date:
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def activity_series(
    dates: Iterable[datetime | None], bucket: str = "week", fill: bool = True
) -> list[tuple[str, int]]:
    """Statements per period, oldest first; with ``fill`` the quiet periods in between appear as 0."""
    counts = Counter(bucket_start(to_utc(d).date(), bucket) for d in dates if d is not None)
    if not counts:
        return []
    if not fill:
        starts = sorted(counts)
    else:
        starts, cur, last = [], min(counts), max(counts)
        while cur <= last:
            starts.append(cur)
            cur = _next_bucket(cur, bucket)
    fmt = "%Y-%m" if bucket == "month" else "%Y-%m-%d"
    return [(s.strftime(fmt), counts.get(s, 0)) for s in starts]


@dataclass(frozen=True, slots=True)
class BurstPeriod:
    """One stretch of unusual activity. ``baseline`` is how many statements the narrative's own
    prior rate predicts for a stretch this long (0.0 after a dormant gap)."""

    kind: str  # "emerging", "surging" or "resurgent"
    start: datetime
    end: datetime
    count: int
    baseline: float
    gap_days: float | None = None  # resurgent only: the silence before it

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "start": iso(self.start),
            "end": iso(self.end),
            "count": self.count,
            "baseline": round(self.baseline, 3),
        }
        if self.gap_days is not None:
            out["gap_days"] = round(self.gap_days, 1)
        return out


@dataclass(frozen=True, slots=True)
class BurstReport:
    flags: frozenset[str]
    periods: tuple[BurstPeriod, ...]

    def to_dict(self) -> dict[str, object]:
        return {"flags": sorted(self.flags), "periods": [p.to_dict() for p in self.periods]}


def detect_bursts(
    dates: Iterable[datetime | None],
    now: datetime | None = None,
    *,
    window_days: int = 7,
    baseline_days: int = 90,
    surge_ratio: float = 3.0,
    min_count: int = 5,
    dormant_days: int = 180,
    emerging_days: int = 30,
    min_wave: int = 3,
) -> BurstReport:
    """Flag emerging, surging, resurgent and dormant activity (see the module docstring).

    ``now`` defaults to the current time; statements dated after ``now`` are ignored. Missing
    dates (None) are skipped.
    """
    if window_days < 1 or baseline_days < window_days:
        raise ValueError("need window_days >= 1 and baseline_days >= window_days")
    now_utc = to_utc(now) if now is not None else datetime.now(UTC)
    moments = _up_to(dates, now_utc)
    if not moments:
        return BurstReport(frozenset(), ())
    flags: set[str] = set()
    waves = _waves(moments, timedelta(days=dormant_days))
    periods = [w.period() for w in waves[1:] if len(w.moments) >= min_wave]
    if now_utc - moments[-1] >= timedelta(days=dormant_days):
        flags.add("dormant")
    elif len(waves) > 1 and len(waves[-1].moments) >= min_wave:
        flags.add("resurgent")
    days = _DailyWindows(moments, waves, now_utc, window_days, baseline_days)
    surges = days.surging(surge_ratio, min_count)
    periods += days.surge_periods(surges)
    if surges.size and surges[-1] == days.last_day:
        flags.add("surging")
    # Emerging: young, big enough, and not shrinking.
    if now_utc - moments[0] <= timedelta(days=emerging_days) and len(moments) >= min_count and days.not_shrinking():
        flags.add("emerging")
        periods.append(BurstPeriod("emerging", moments[0], moments[-1], len(moments), 0.0))
    periods.sort(key=lambda p: (p.start, p.kind))
    return BurstReport(frozenset(flags), tuple(periods))


def _up_to(dates: Iterable[datetime | None], now: datetime) -> list[datetime]:
    """The dated moments up to ``now``, sorted, in UTC; later ones are left out (and logged)."""
    moments = sorted(to_utc(d) for d in dates if d is not None)
    kept = [m for m in moments if m <= now]
    if len(kept) != len(moments):
        logger.warning("detect_bursts: %d statement(s) dated after now=%s ignored", len(moments) - len(kept), now)
    return kept


@dataclass(frozen=True, slots=True)
class _Wave:
    """A stretch of activity and the silence before it (zero for the first)."""

    moments: list[datetime]
    gap: timedelta

    def period(self) -> BurstPeriod:
        return BurstPeriod("resurgent", self.moments[0], self.moments[-1], len(self.moments), 0.0,
                           self.gap.total_seconds() / 86400)


def _waves(moments: list[datetime], dormant: timedelta) -> list[_Wave]:
    """Activity split at every silence of at least ``dormant``: each wave after the first is a resurgence."""
    waves = [_Wave([moments[0]], timedelta(0))]
    for prev, cur in zip(moments, moments[1:], strict=False):
        if cur - prev >= dormant:
            waves.append(_Wave([], cur - prev))
        waves[-1].moments.append(cur)
    return waves


class _DailyWindows:
    """Daily counts from the first statement's UTC day to now's, and for each day ``e`` the window
    (e - window_days, e] and the baseline before it, which never reaches back across a dormant gap:
    after a resurgence the narrative is judged against the new wave only, as a new narrative would be."""

    def __init__(self, moments: list[datetime], waves: list[_Wave], now: datetime, window_days: int,
                 baseline_days: int) -> None:
        self.moments, self.w = moments, window_days
        origin = moments[0].date()
        self.day_idx = np.fromiter(((m.date() - origin).days for m in moments), dtype=np.int64, count=len(moments))
        self.last_day = (now.date() - origin).days
        counts = np.bincount(self.day_idx, minlength=self.last_day + 1)
        self.cs = np.concatenate(([0], np.cumsum(counts)))
        ends = np.arange(self.last_day + 1)
        self.win_lo = np.maximum(ends + 1 - window_days, 0)
        self.recent = self.cs[ends + 1] - self.cs[self.win_lo]
        wave_start_days = np.array([(wave.moments[0].date() - origin).days for wave in waves], dtype=np.int64)
        current_wave = wave_start_days[np.searchsorted(wave_start_days, self.win_lo, side="right") - 1]
        base_lo = np.maximum(self.win_lo - baseline_days, current_wave)
        self.base_count = self.cs[self.win_lo] - self.cs[base_lo]
        self.base_days = self.win_lo - base_lo
        with np.errstate(divide="ignore", invalid="ignore"):
            self.expected = np.where(self.base_days > 0, self.base_count * window_days / np.maximum(self.base_days, 1),
                                     0.0)

    def surging(self, surge_ratio: float, min_count: int) -> np.ndarray:
        """The days whose window holds at least ``min_count`` statements and ``surge_ratio`` times the baseline."""
        surge = ((self.base_days >= self.w) & (self.base_count > 0) & (self.recent >= min_count)
                 & (self.recent >= surge_ratio * self.expected))
        return np.flatnonzero(surge)

    def surge_periods(self, idx: np.ndarray) -> list[BurstPeriod]:
        """Surging window ends whose windows overlap (closer than window_days) form one period."""
        if not idx.size:
            return []
        breaks = np.flatnonzero(np.diff(idx) >= self.w)
        run_starts = np.concatenate(([idx[0]], idx[breaks + 1]))
        run_ends = np.concatenate((idx[breaks], [idx[-1]]))
        periods = []
        for e0, e1 in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
            lo_day, hi_day = int(self.win_lo[e0]), e1
            inside = np.flatnonzero((self.day_idx >= lo_day) & (self.day_idx <= hi_day))
            rate = float(self.expected[e0]) / self.w
            periods.append(BurstPeriod("surging", self.moments[int(inside[0])], self.moments[int(inside[-1])],
                                       int(inside.size), rate * (hi_day - lo_day + 1)))
        return periods

    def not_shrinking(self) -> bool:
        """The latest window holds no fewer statements than the one before it."""
        lo = int(self.win_lo[self.last_day])
        return int(self.recent[self.last_day]) >= int(self.cs[lo] - self.cs[max(lo - self.w, 0)])


@dataclass(frozen=True, slots=True)
class Growth:
    """Recent activity against the narrative's own earlier rate (see ``growth``)."""

    last_7: int
    last_30: int
    expected_7: float | None  # what the baseline rate predicts for 7 days; None: no baseline (new)
    expected_30: float | None

    @staticmethod
    def _ratio(recent: int, expected: float | None) -> float | None:
        return None if expected is None or expected <= 0 else recent / expected

    @property
    def ratio_7(self) -> float | None:
        return self._ratio(self.last_7, self.expected_7)

    @property
    def ratio_30(self) -> float | None:
        return self._ratio(self.last_30, self.expected_30)

    def sort_key(self) -> tuple[float, float, int]:
        """Fastest growing first: new activity without a baseline, then by 30-day and 7-day ratio, then size."""
        if self.expected_30 is None or self.expected_30 <= 0:
            top = float("inf") if self.last_30 else float("-inf")
            return (-top, -top, -self.last_30)
        return (-(self.ratio_30 or 0.0), -(self.ratio_7 or 0.0), -self.last_30)

    def to_dict(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 2)

        return {"last_7": self.last_7, "last_30": self.last_30, "expected_7": r(self.expected_7),
                "expected_30": r(self.expected_30), "ratio_7": r(self.ratio_7), "ratio_30": r(self.ratio_30)}


def growth(dates: Iterable[datetime | None], now: datetime, baseline_days: int = 180) -> Growth:
    """Statements in the last 7 and 30 days up to ``now`` against the narrative's own rate over the
    ``baseline_days`` before those 30 days (never before its first statement): "x3" means three times
    what its usual pace predicts. Without any statement before the 30 days there is no baseline.
    """
    now = to_utc(now)
    moments = [m for m in (to_utc(d) for d in dates if d is not None) if m <= now]
    cut7, cut30 = now - timedelta(days=7), now - timedelta(days=30)
    last_7 = sum(m > cut7 for m in moments)
    last_30 = sum(m > cut30 for m in moments)
    before = [m for m in moments if m <= cut30]
    if not before:
        return Growth(last_7, last_30, None, None)
    start = max(cut30 - timedelta(days=baseline_days), min(before))
    in_base = sum(m >= start for m in before)
    days = max((cut30 - start).total_seconds() / 86400, 1.0)
    rate = in_base / days
    return Growth(last_7, last_30, rate * 7, rate * 30)



def one_status(flags: Iterable[str], stored: str) -> str:
    """The one status a reader sees: a narrative that is merged, archived or retired says so; otherwise
    the burst analysis decides, most telling first: new (emerging), surging, resurgent, dormant, else active."""
    if stored not in LIVE_STATUSES:
        return stored
    found = set(flags)
    for status, flag in (("new", "emerging"), ("surging", "surging"), ("resurgent", "resurgent"),
                         ("dormant", "dormant")):
        if flag in found:
            return status
    return "active"
