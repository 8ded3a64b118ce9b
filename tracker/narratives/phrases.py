"""Candidate key phrases of one statement, in any language: words, stop words, segmentation, merge keys.

- **Stop words** come from stopwords-iso (58 languages, the list the `stopwordsiso` package ships),
  for the statement's own language and always for English, whose names and quotes turn up in every
  language. A stop word ends a phrase: no phrase is, starts with or ends with one.
- **Chinese** is segmented by jieba, **Japanese** by MeCab (fugashi with unidic-lite). Both cut names
  they do not know (德特里克堡, Fort Detrick, becomes 德 / 特里 / 克堡), so runs of up to four segments
  are candidates too, joined without spaces; a lone piece is never kept when its run is.
- **Merge keys** let one concept count once across forms and scripts: the lemma (simplemma) of the
  lower-cased word, an English possessive dropped, Cyrillic transliterated ("NATO's", "НАТО" and "nato"
  share the key "nato").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

log = logging.getLogger(__name__)

MAX_WORDS = 3  # words in a phrase of a spaced language
MAX_SEGMENTS = 4  # segments in a phrase of Chinese or Japanese

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_POSSESSIVE = re.compile(r"['’]s$")
_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t",
     "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "i", "ye", "g"], strict=True))
# simplemma's languages (a subset of its 54) worth lemmatising here; others keep the lower-cased word.
_LEMMA_LANGUAGES = frozenset("bg cs da de el en es et fi fr hu it lt lv nl pl pt ro ru sk sl sv tr uk".split())


@dataclass(frozen=True)
class Phrase:
    """A candidate phrase: ``key`` merges forms and scripts, ``text`` is how it was written."""

    key: str
    text: str
    language: str
    words: int


@lru_cache(maxsize=64)
def stop_words(language: str | None) -> frozenset[str]:
    """Function words of ``language`` plus English (lower-case); English alone when the list is unknown."""
    import stopwordsiso

    out = set(stopwordsiso.stopwords("en"))
    if language and stopwordsiso.has_lang(language):
        out |= set(stopwordsiso.stopwords(language))
    return frozenset(w.lower() for w in out)


@lru_cache(maxsize=1)
def covered_stop_words() -> frozenset[str]:
    """Function words of every language stopwords-iso knows: what a label check counts against."""
    import stopwordsiso

    return frozenset(w.lower() for lang in stopwordsiso.langs() for w in stopwordsiso.stopwords(lang))


def _transliterate(word: str) -> str:
    return "".join(_CYRILLIC.get(ch, ch) for ch in word)


@lru_cache(maxsize=200_000)
def merge_key(word: str, language: str | None) -> str:
    """The form a word is counted under: lemma (common words), no English possessive, Latin script."""
    w = _POSSESSIVE.sub("", word.lower())
    if language in _LEMMA_LANGUAGES and not _acronym(word):
        import simplemma

        try:
            lemma = simplemma.lemmatize(w, lang=language).lower()
        except ValueError:  # a language simplemma does not know after all
            lemma = w
        # A capitalised word may be a name, which a lemmatiser mangles ("Maria" read as a plural of
        # "mare"); it may also open a sentence. Its lemma is taken only when it keeps the stem.
        if not word[:1].isupper() or lemma[:4] == w[:4]:
            w = lemma
    return _transliterate(w)


def _acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper()


_segmenters: dict[str, Callable[[str], list[str]]] = {}


def _segment(run: str, japanese: bool) -> list[str]:
    kind = "ja" if japanese else "zh"
    if kind not in _segmenters:
        _segmenters[kind] = _load_segmenter(kind)
    return [w for w in _segmenters[kind](run) if w.strip()]


def _load_segmenter(kind: str) -> Callable[[str], list[str]]:
    if kind == "ja":
        try:
            import fugashi

            tagger = fugashi.Tagger()
            return lambda text: [w.surface for w in tagger(text)]
        except (ImportError, RuntimeError) as exc:  # no dictionary installed
            log.warning("Japanese segmentation unavailable (%s); using jieba", exc)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    cut: Callable[[str], list[str]] = jieba.lcut
    return cut


def _runs(text: str, language: str | None) -> list[list[tuple[str, str, bool]]]:
    """Runs of content words (surface, key, is CJK) between stop words and punctuation."""
    stop = stop_words(language)
    japanese = language == "ja" or bool(_KANA.search(text))
    letters = [ch for ch in text if ch.isalpha()]
    shouting = sum(ch.isupper() for ch in letters) > 0.6 * max(1, len(letters))  # capitals are not acronyms here
    runs: list[list[tuple[str, str, bool]]] = [[]]
    position = 0
    for match in re.finditer(rf"{_CJK_RUN.pattern}|{_WORD.pattern}", text):
        if text[position : match.start()].strip(" "):  # punctuation between two words ends a run
            runs.append([])
        position = match.end()
        piece = match.group(0)
        if _CJK_RUN.fullmatch(piece):
            for segment in _segment(piece, japanese):
                if segment in stop or not (_HAN.search(segment) or _KANA.search(segment)):
                    runs.append([])
                else:
                    runs[-1].append((segment, segment, True))
            runs.append([])
            continue
        lower = piece.lower()
        acronym = _acronym(piece) and not shouting
        if (lower in stop and not acronym) or (len(piece) < 3 and not acronym):
            runs.append([])
            continue
        runs[-1].append((piece, merge_key(piece, language), False))
    return [r for r in runs if r]


def phrases(text: str, language: str | None) -> list[Phrase]:
    """Every candidate phrase of one statement (repeats included), with its merge key."""
    lang = language or "und"
    out: list[Phrase] = []
    for run in _runs(text, language):
        cjk = run[0][2]
        longest = MAX_SEGMENTS if cjk else MAX_WORDS
        for start in range(len(run)):
            for n in range(1, min(longest, len(run) - start) + 1):
                part = run[start : start + n]
                if any(p[2] != cjk for p in part):
                    break
                joiner = "" if cjk else " "
                surface = joiner.join(p[0] for p in part)
                if cjk and len(surface) < 2:
                    continue
                key = joiner.join(p[1] for p in part)
                out.append(Phrase(key, surface, lang, n))
    return out
