"""The dev sets narrative quality is measured on: texts, gold narratives and languages.

Each set is real data with a gold narrative per statement; a statement that belongs to no narrative
has gold ``None`` (it counts as sharing a narrative with nobody):

- ``euvsdisinfo``: 2,136 EUvsDisinfo case titles (English) in 48 tag-level narratives (bench/gold.py).
- ``euvsdisinfo-2018-19`` / ``euvsdisinfo-2020-21``: the same rule applied to each period alone, the
  closest we have to "another period" (its own tags reach 15 cases or not within the period).
- ``sample``: the bundled sample corpus, 328 statements (English, Russian, Chinese, a few Arabic and
  Spanish) in 10 claim-level narratives, 60 of them unrelated news (weather, sport, space, holidays).
- ``diary``: propaganda-diary, 539 quotes in English, Russian, Ukrainian, German and Italian, 41 claims.
- ``diary+noise``: the diary plus the sample corpus's 60 unrelated statements.

Languages are the ones the data gives; where it gives none (some sample rows) the product's own
detector names them, as `tracker import` would.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DevSet:
    name: str
    texts: list[str]
    gold: list[str | None]
    languages: list[str | None]

    @property
    def narratives(self) -> int:
        return len({g for g in self.gold if g is not None})

    @property
    def noise(self) -> int:
        return sum(1 for g in self.gold if g is None)


def shared_data() -> Path:
    return Path(os.environ.get("TRACKER_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _euvsdisinfo(years: set[str] | None, name: str) -> DevSet:
    from gold import MIN_CASES, narrative_tags

    rows: list[tuple[str, str]] = []
    with (shared_data() / "euvsdisinfo-cases-2018-2021.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tags = narrative_tags(row.get("keywords") or "")
            if len(tags) == 1 and (years is None or row["date"][:4] in years):
                rows.append(((row.get("title") or "").strip(), tags[0]))
    counts = Counter(tag for _, tag in rows)
    kept = [(t, g) for t, g in rows if t and counts[g] >= MIN_CASES]
    return DevSet(name, [t for t, _ in kept], [g for _, g in kept], ["en"] * len(kept))


def _sample_rows() -> list[dict[str, object]]:
    with (ROOT / "tracker" / "sample" / "corpus.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _with_detected(texts: list[str], languages: list[str | None]) -> list[str | None]:
    missing = [i for i, lang in enumerate(languages) if not lang]
    if missing:
        from tracker.ingest.language import detect_languages

        for i, lang in zip(missing, detect_languages([texts[i] for i in missing]), strict=True):
            languages[i] = lang
    return languages


def sample() -> DevSet:
    rows = _sample_rows()
    texts = [str(r["text"]) for r in rows]
    gold = [None if r.get("narrative_hint") in (None, "none") else str(r["narrative_hint"]) for r in rows]
    return DevSet("sample", texts, gold, _with_detected(texts, [r.get("language") for r in rows]))  # type: ignore[misc]


def diary(noise: bool = False) -> DevSet:
    with (shared_data() / "propaganda-diary.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    texts = [r["text"] for r in rows]
    gold: list[str | None] = [r["gold"] for r in rows]
    languages: list[str | None] = [r["language"] for r in rows]
    if noise:
        extra = sample()
        unrelated = [i for i, g in enumerate(extra.gold) if g is None]
        texts += [extra.texts[i] for i in unrelated]
        gold += [None] * len(unrelated)
        languages += [extra.languages[i] for i in unrelated]
    return DevSet("diary+noise" if noise else "diary", texts, gold, languages)


SETS: dict[str, Callable[[], DevSet]] = {
    "euvsdisinfo": lambda: _euvsdisinfo(None, "euvsdisinfo"),
    "sample": sample,
    "diary": diary,
    "euvsdisinfo-2018-19": lambda: _euvsdisinfo({"2018", "2019"}, "euvsdisinfo-2018-19"),
    "euvsdisinfo-2020-21": lambda: _euvsdisinfo({"2020", "2021"}, "euvsdisinfo-2020-21"),
    "diary+noise": lambda: diary(noise=True),
}


def available() -> list[str]:
    """Sets whose data is on this machine (the shared data is not part of a user's clone)."""
    have_shared = (shared_data() / "propaganda-diary.jsonl").exists()
    return [name for name in SETS if name == "sample" or have_shared]
