"""Benchmark: the timeline of a 10,000-statement narrative with ~300 actors must take under 1 s.

Synthetic but shaped like the real thing: a year of statements, a few busy officials and state
media and a long tail of small outlets, 20 % wire reprints of earlier items, times in several
time zones. Prints each run's time and PASS/FAIL on the median of the runs. Run: .venv/bin/python bench/timeline_bench.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

from tracker.analysis.syndication import find_copies
from tracker.analysis.timeline import TimelineEvent, build_timeline

WORDS = (
    "biological laboratories pentagon ukraine secret programme pathogens military funding western "
    "sanctions nato expansion provocation aggression sovereignty interference colour revolution "
    "hegemony double standards propaganda regime puppet neo nazi humanitarian crisis security threat "
    "peace talks escalation weapons deliveries mercenaries genocide referendum"
).split()
COUNTRIES = ["RU", "CN", "BY", "IR", "VE", "SY", "RS", "NI"]
KINDS = ["official", "state_media", "proxy", "other"]
ZONES = [timezone(timedelta(hours=h)) for h in (0, 3, 8, -5)]


def make_events(n: int, n_actors: int, seed: int = 0, waves: int = 1) -> list[TimelineEvent]:
    """``waves`` > 1 puts the statements in that many bursts, each active for 40 % of its share of the
    year and silent for the rest (a silence longer than the 60-day wave gap once there are three or more)."""
    rng = random.Random(seed)
    actors = [
        (f"Actor {i}", rng.choice(COUNTRIES), KINDS[min(i // 20, 3)] if i < 80 else rng.choice(KINDS[1:]))
        for i in range(n_actors)
    ]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(n_actors)]  # a few loud actors, a long tail
    start = datetime(2022, 1, 1, tzinfo=UTC)
    events: list[TimelineEvent] = []
    texts: list[str] = []
    for sid in range(1, n + 1):
        name, country, kind = rng.choices(actors, weights)[0]
        if waves > 1:
            share = 365 * 86400 // waves
            moment = start + timedelta(seconds=rng.randrange(waves) * share + rng.randrange(int(share * 0.4)))
        else:
            moment = start + timedelta(seconds=rng.randrange(365 * 86400))
        if texts and rng.random() < 0.2:
            text = "Reprint: " + rng.choice(texts)  # a wire copy with a tag line
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 60)))
            texts.append(text)
        events.append(
            TimelineEvent(
                statement_id=sid,
                external_id=f"ext-{sid}",
                published_at=None if sid % 500 == 0 else moment.astimezone(rng.choice(ZONES)),
                actor=name,
                actor_id=None,
                outlet=f"Outlet {sid % 50}",
                country=country,
                kind=kind,
                text=text,
            )
        )
    return events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=300)
    parser.add_argument("--window-hours", type=float, default=72.0)
    parser.add_argument("--repeat", type=int, default=5, help="runs; the verdict uses the median")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds allowed for build_timeline")
    parser.add_argument("--waves", type=int, default=1, help="bursts of activity the statements come in")
    parser.add_argument("--no-syndication", action="store_true",
                        help="time build_timeline without its syndication detection (find_copies)")
    args = parser.parse_args()

    events = make_events(args.statements, args.actors, waves=args.waves)
    window = timedelta(hours=args.window_hours)
    now = datetime(2023, 1, 1, tzinfo=UTC)
    build_timeline({"id": 0}, events[:200], window, now=now)  # warm-up (imports, numpy)

    t = time.perf_counter()
    copies = [] if args.no_syndication else find_copies([e.text for e in events])
    t_synd = time.perf_counter() - t
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        doc = build_timeline({"id": 1, "label": "bench"}, events, window, now=now,
                             detect_syndication=not args.no_syndication)
        runs.append(time.perf_counter() - t)
    t_total = statistics.median(runs)

    print(
        f"statements={args.statements} actors={len(doc['actors'])} window={window} edges={len(doc['edges'])} "
        f"flows={len(doc['flows'])} waves={len(doc['waves'])} syndicated={doc['syndication']['syndicated']} "
        f"(find_copies alone: {sum(c is not None for c in copies)} in {t_synd:.3f} s)"
    )
    verdict = "PASS" if t_total < args.budget else "FAIL"
    print(f"runs: {', '.join(f'{r:.3f}' for r in runs)} s")
    print(f"build_timeline: median {t_total:.3f} s (budget {args.budget:.1f} s) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
