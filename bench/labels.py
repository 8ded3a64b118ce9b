"""Do narrative names say what the narrative claims? A label check on every dev set (issue 14).

Run from the project root: ``.venv/bin/python bench/labels.py``. For each dev set (bench/devsets.py)
it discovers narratives as ``tracker cluster --full`` does with the default configuration, names them
as ``refresh`` does (tracker.narratives.describe: statements ordered by nearness to the centroid,
speakers' and outlets' names left out where the set has them), then:

1. for every narrative whose statements are >= 60% one gold narrative, embeds its label and
   description with the default encoder and checks that the nearest gold narrative (its claim text:
   the diary's own claim descriptions, our description of each sample narrative, the EUvsDisinfo tag)
   is its own. Prints the share per set; the target on multilingual sets is >= 90%;
2. counts key phrases that are, start with or end with a function word of their own language
   (stopwords-iso, the list the product filters with) or of any language it knows, and Chinese key
   phrases that are a piece of a longer phrase of the same narrative (a cut word).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from devsets import SETS, DevSet, available  # noqa: E402
from quality import embed_cached, run_ours  # noqa: E402

from tracker.config import DEFAULT_MODEL, EmbeddingConfig, load_config  # noqa: E402

PURITY = 0.6
TARGET = 0.9
MULTILINGUAL = ("sample", "diary", "diary+noise")
# What each sample narrative claims, in our words (tracker/sample/README.md describes the corpus).
SAMPLE_CLAIMS = {
    "us-biolabs": "US-funded laboratories in Ukraine and other former Soviet states develop biological weapons",
    "nato-encirclement": "NATO broke its promise not to expand east and encircles Russia",
    "covid-fort-detrick": "The coronavirus came from the US Army laboratory at Fort Detrick",
    "ukraine-neo-nazi-regime": "Ukraine is ruled by a neo-Nazi regime that must be denazified",
    "colour-revolutions-abroad": "Western governments and NGOs stage colour revolutions and protests abroad",
    "west-staged-chemical-attacks": "The chemical attacks in Syria and the Salisbury poisoning were staged by the West",
    "xinjiang-western-lies": "Western accusations of genocide and forced labour in Xinjiang are lies",
    "sanctions-hurt-europe-more": "Sanctions against Russia hurt Europe more than Russia",
    "navalny-western-project": "Navalny is a Western project and his poisoning a provocation against Russia",
    "dollar-hegemony": "The US abuses the dollar's dominance as a weapon; the world is moving away from it",
}
_HAN = re.compile(r"[\u3400-\u9fff]")


def claim_text(dev: DevSet, gold: str) -> str:
    return SAMPLE_CLAIMS.get(gold, gold) if dev.name == "sample" else gold


Row = tuple[str | None, float, str, str, list[str], str | None]


def named(dev: DevSet, x: np.ndarray) -> list[Row]:
    """(majority gold, its share, label, description, key phrases, display language) per narrative."""
    from tracker.narratives.describe import describe
    from tracker.narratives.registry import neutralise

    labels, _ = run_ours(x, dev.languages)
    neutral, _ = neutralise(np.array(x, copy=True), dev.languages, load_config(env={}).narratives)
    groups = []
    for c in range(int(labels.max()) + 1 if labels.size else 0):
        rows = np.flatnonzero(labels == c)
        centre = neutral[rows].mean(axis=0)
        groups.append(rows[np.argsort(-(neutral[rows] @ centre), kind="stable")])
    speakers, outlets = _names(dev)
    descs = describe([[dev.texts[i] for i in g] for g in groups], [[dev.languages[i] for i in g] for g in groups],
                     speakers=speakers, outlets=outlets)
    out = []
    for g, d in zip(groups, descs, strict=True):
        votes = Counter(dev.gold[i] for i in g)
        top, count = votes.most_common(1)[0]
        out.append((top, count / len(g), d.label, d.description, d.keywords, d.language))
    return out


def _names(dev: DevSet) -> tuple[list[str], list[str]]:
    if dev.name != "sample":
        return [], []
    from devsets import _sample_rows

    rows = _sample_rows()
    return sorted({str(r["actor"]) for r in rows if r.get("actor")}), sorted({str(r["outlet"]) for r in rows if r.get("outlet")})


def label_check(dev: DevSet, rows: list[Row], embed: Callable[[list[str]], np.ndarray]) -> tuple[int, int, list[str]]:
    claims = sorted({g for g in dev.gold if g is not None})
    claim_vectors = embed([claim_text(dev, c) for c in claims])
    pure = [r for r in rows if r[0] is not None and r[1] >= PURITY]
    if not pure:
        return 0, 0, []
    names = embed([f"{label}. {description}" for _, _, label, description, _, _ in pure])
    nearest = (names @ claim_vectors.T).argmax(axis=1)
    misses = [f"{label!r} -> {claims[j]!r} (own: {gold!r})"
              for (gold, _, label, _, _, _), j in zip(pure, nearest, strict=True) if claims[j] != gold]
    return len(pure) - len(misses), len(pure), misses


def phrase_faults(rows: list[Row]) -> tuple[int, int, int, int, int]:
    """(function-word faults in the narrative's own language, in any language stopwords-iso knows,
    acronyms whose lower case is a function word ("US", "WHO"), cut Chinese pieces, phrases checked)."""
    from tracker.narratives.phrases import covered_stop_words, stop_words

    anyone = covered_stop_words()
    own = anywhere = acronyms = cut = total = 0
    for *_, phrases, language in rows:
        mine = stop_words(language)
        for p in phrases:
            total += 1
            words = p.split()
            ends = [w for w in {words[0], words[-1]} if not (len(w) >= 2 and w.isupper())]
            acronyms += any(len(w) >= 2 and w.isupper() and w.lower() in mine for w in {words[0], words[-1]})
            own += any(w.lower() in mine for w in ends)
            anywhere += any(w.lower() in anyone for w in ends)
            if _HAN.search(p):
                cut += any(p != other and p in other for other in phrases)
    return own, anywhere, acronyms, cut, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sets", nargs="*", default=None)
    args = ap.parse_args(argv)
    from tracker.embed import make_embedder

    embedder = make_embedder(EmbeddingConfig(model=DEFAULT_MODEL))
    names = [n for n in (args.sets or available()) if n in available()]
    ok = True
    print(f"{'set':<22}{'named right':>14}{'share':>8}{'fn-word own/any':>17}{'acronyms':>10}{'cut zh':>8}"
          f"{'phrases':>9}")
    for name in names:
        dev = SETS[name]()
        rows = named(dev, embed_cached(dev.texts, DEFAULT_MODEL))
        right, total, misses = label_check(dev, rows, embedder.embed)
        own, anyone, acronyms, cut, checked = phrase_faults(rows)
        share = right / total if total else float("nan")
        print(f"{name:<22}{f'{right}/{total}':>14}{share:>8.2f}{f'{own}/{anyone}':>17}{acronyms:>10}{cut:>8}"
              f"{checked:>9}")
        for miss in misses[:5]:
            print(f"    miss: {miss}")
        if name in MULTILINGUAL:
            ok &= share >= TARGET
        ok &= own == 0 and cut == 0
    print(f"\n{'PASS' if ok else 'FAIL'}  multilingual sets named right >= {TARGET:.0%}; no key phrase is, starts or "
          "ends with a function word of its language; no cut Chinese word")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
