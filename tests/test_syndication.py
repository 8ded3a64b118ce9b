"""Syndication: near-verbatim reprints are copies of the earliest text; paraphrases are not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.analysis.syndication import find_copies, jaccard, shingle_hashes

ORIGINAL = (
    "The United States has been running secret biological laboratories in Ukraine for years, "
    "and the Pentagon funded research on dangerous pathogens near the Russian border."
)
REPRINT = "MOSCOW, March 9 (TASS). " + ORIGINAL + " Read more on our website."
PARAPHRASE = (
    "According to Moscow, Pentagon money paid for dangerous pathogen research in Ukrainian labs "
    "close to Russia, a programme Washington kept hidden for years."
)


def test_wire_reprint_with_dateline_is_a_copy_of_the_earliest():
    assert find_copies([ORIGINAL, PARAPHRASE, REPRINT]) == [None, None, 0]


def test_paraphrase_is_not_a_copy():
    assert find_copies([ORIGINAL, PARAPHRASE]) == [None, None]


def test_case_and_punctuation_do_not_hide_a_copy():
    shouted = ORIGINAL.upper().replace(",", "").replace(".", "!")
    assert find_copies([ORIGINAL, shouted]) == [None, 0]


def test_copy_of_a_copy_points_at_the_original():
    assert find_copies([ORIGINAL, REPRINT, "Breaking: " + REPRINT]) == [None, 0, 0]


def test_threshold_is_inclusive_and_pinned():
    words = [f"w{i}" for i in range(20)]
    a = " ".join(words)
    b = " ".join(words[:-1] + ["other"])  # 16 shingles each, 15 shared: Jaccard 15/17 = 0.882
    assert jaccard(shingle_hashes(a), shingle_hashes(b)) == pytest.approx(15 / 17)
    assert find_copies([a, b], threshold=0.8, shingle_size=5, containment=None) == [None, 0]
    assert find_copies([a, b], threshold=0.9, shingle_size=5, containment=None) == [None, None]
    assert find_copies([a, b], threshold=15 / 17, shingle_size=5, containment=None) == [None, 0]


def test_containment_catches_a_reprint_with_dateline_and_footer():
    strict = {"threshold": 0.8, "shingle_size": 5}  # Jaccard alone misses the added dateline and footer
    assert find_copies([ORIGINAL, REPRINT], containment=None, **strict) == [None, None]
    assert find_copies([ORIGINAL, REPRINT], containment=0.9, **strict) == [None, 0]
    assert find_copies([ORIGINAL, REPRINT]) == [None, 0]  # the defaults catch it too


def test_defaults_catch_a_reprint_with_one_word_changed_in_a_long_item():
    words = [f"word{i}" for i in range(60)]
    changed = words[:30] + ["altered"] + words[31:]
    assert find_copies([" ".join(words), " ".join(changed)]) == [None, 0]


def test_a_short_quote_inside_a_long_article_is_not_a_copy():
    article = ORIGINAL + " " + " ".join(f"commentary{i} on the story" for i in range(40))
    assert find_copies([ORIGINAL, article]) == [None, None]


def test_short_texts_are_never_marked():
    assert find_copies(["NATO is to blame.", "NATO is to blame."]) == [None, None]


def test_chinese_reprint_is_detected_without_spaces():
    text = "美国在乌克兰的生物实验室问题必须作出解释，国际社会有权了解真相。"
    assert find_copies(
        [text, "新华社北京电 " + text, "美国应当停止在全球的军事活动，国际社会对此高度关注。"]
    ) == [None, 0, None]


def test_empty_text_is_neither_original_nor_copy():
    assert find_copies(["", ORIGINAL, ""]) == [None, None, None]


def test_shingle_hashes_do_not_depend_on_the_hash_seed():
    code = f"from tracker.analysis.syndication import shingle_hashes as s; print(sorted(s({ORIGINAL!r}))[:3])"
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    assert len(outputs) == 1


def test_ten_thousand_distinct_texts_stay_fast_and_unmarked():
    texts = [
        f"statement number {i} says the claim in words {i * 7} and {i * 13} about topic {i % 17}"
        for i in range(10_000)
    ]
    assert all(c is None for c in find_copies(texts))


@settings(max_examples=300, deadline=None)
@given(st.frozensets(st.integers(0, 60), max_size=40), st.frozensets(st.integers(0, 60), max_size=40),
       st.sampled_from([(0.7, 0.85), (0.7, None), (0.5, 0.9), (1.0, None)]))
def test_the_pair_rule_is_the_written_out_one(a: frozenset[int], b: frozenset[int],
                                              rule: tuple[float, float | None]) -> None:
    """Jaccard >= threshold, or the shorter (at least half the longer) mostly inside it; the fast path
    that skips pairs by size must give the same answers."""
    from tracker.analysis.syndication import _near_verbatim

    threshold, containment = rule
    small, big = sorted((a, b), key=len)
    expected = jaccard(a, b) >= threshold or (
        containment is not None and bool(small) and 2 * len(small) >= len(big)
        and len(small & big) >= containment * len(small))
    assert _near_verbatim(a, b, threshold, containment) == expected
