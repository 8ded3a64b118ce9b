"""Describe narratives: keywords by class-based TF-IDF, a short label, and representative statements.

Keywords must work for Russian and Chinese statements too: tokens are Unicode word runs, stop words
are dropped per language (sklearn's English list plus short Russian and Chinese lists here), and
Chinese text is segmented with jieba (imported lazily; falls back to character bigrams without it).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

log = logging.getLogger(__name__)

RUSSIAN_STOP_WORDS: frozenset[str] = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее её мне
    было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до
    вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их
    чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой
    совсем ним здесь этом один почти мой тем чтобы нее неё сейчас были куда зачем всех никогда можно при
    наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве три эту
    моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю
    между это также которые который которая которых является""".split()
)

CHINESE_STOP_WORDS: frozenset[str] = frozenset(
    """的 了 和 是 在 也 有 就 不 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 这 那 这个 那个 之 以 于
    对 为 被 把 从 但 并 等 其 中 上 下 让 向 由 又 很 将 已 已经 会 可以 说 表示 认为 指出 称 这些 那些
    如果 因为 所以 但是 而且 以及 关于 进行 一些 自己 什么 没 个 年 月 日""".split()
)

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(ENGLISH_STOP_WORDS),
    "ru": RUSSIAN_STOP_WORDS,
    "zh": CHINESE_STOP_WORDS,
}

_ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())  # built once: per call it was a third of tokenize
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_jieba: Any = None  # the jieba module once imported; False when it is not installed


def _segment_chinese(text: str) -> list[str]:
    """Chinese words via jieba, silenced; character bigrams if jieba is unavailable."""
    global _jieba
    if _jieba is None:
        try:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _jieba = jieba
        except ImportError:
            _jieba = False
            log.warning("jieba is not installed; Chinese keywords fall back to character bigrams")
    if _jieba:
        return [w for w in _jieba.lcut(text) if w.strip()]
    chars = [ch for ch in text if _HAN.match(ch)]
    return ["".join(pair) for pair in zip(chars, chars[1:], strict=False)]


def tokenize(text: str, language: str | None = None) -> list[str]:
    """Lower-cased content words of ``text``, stop words of every known language removed.

    Han characters are segmented as Chinese whatever ``language`` says, since mixed text is common.
    """
    stop = _ALL_STOP_WORDS
    tokens: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if _HAN.search(word):
            tokens.extend(w for w in _segment_chinese(word) if len(w) > 1 and w not in stop)
        elif len(word) > 2 and word not in stop:
            tokens.append(word)
    if language and language not in STOP_WORDS:
        log.debug("no stop-word list for language %r; using the known lists only", language)
    return tokens


def keywords(
    texts_by_cluster: Sequence[Sequence[str]],
    languages: Sequence[Sequence[str | None]] | None = None,
    top_n: int = 8,
) -> list[list[str]]:
    """Top ``top_n`` terms per cluster by class-based TF-IDF.

    Each cluster is one document: tf = term count / cluster token count, idf = log(1 + A / f) with A
    the average token count per cluster and f the term's count over all clusters (BERTopic's
    c-TF-IDF weighting), so words common to every narrative sink. ``languages`` (same shape as
    ``texts_by_cluster``) is passed to the tokenizer per statement.
    """
    counts: list[Counter[str]] = []
    for ci, texts in enumerate(texts_by_cluster):
        langs: Iterable[str | None] = languages[ci] if languages is not None else [None] * len(texts)
        c: Counter[str] = Counter()
        for text, lang in zip(texts, langs, strict=True):
            c.update(tokenize(text, lang))
        counts.append(c)
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    if not total:
        return [[] for _ in counts]
    avg_tokens = sum(total.values()) / max(1, len(counts))
    out: list[list[str]] = []
    for c in counts:
        size = sum(c.values())
        if size == 0:
            out.append([])
            continue
        scored = [(cnt / size * np.log(1 + avg_tokens / total[w]), w) for w, cnt in c.items()]
        scored.sort(key=lambda item: (-item[0], item[1]))
        out.append([w for _, w in scored[:top_n]])
    return out


def label(
    keywords: Sequence[str], representative_texts: Sequence[str] = (), max_words: int = 4, max_chars: int = 80
) -> str:
    """A short human label: the top keywords joined, else the first representative statement, shortened."""
    if keywords:
        return " / ".join(keywords[:max_words])
    for text in representative_texts:
        text = " ".join(text.split())
        if text:
            return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
    return "(unlabelled)"


def representatives(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray, k: int = 3) -> list[list[int]]:
    """Indices of the ``k`` statements of each narrative closest (cosine) to its centroid, best first."""
    x = np.asarray(X, dtype=np.float64)
    lab = np.asarray(labels)
    if x.shape[0] != lab.shape[0]:
        raise ValueError(f"X has {x.shape[0]} rows but labels has {lab.shape[0]}")
    norms = np.linalg.norm(x, axis=1)
    norms[norms == 0] = 1.0
    out: list[list[int]] = []
    for ci, centroid in enumerate(np.asarray(centroids, dtype=np.float64)):
        members = np.flatnonzero(lab == ci)
        if members.size == 0:
            out.append([])
            continue
        sims = (x[members] @ centroid) / norms[members]
        order = np.lexsort((members, -sims))[:k]
        out.append([int(i) for i in members[order]])
    return out
