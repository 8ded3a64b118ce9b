"""Guess the language of a statement when its source did not say.

Uses lingua restricted to the languages state messaging here comes in: all 75 of its languages
would load ~1.4 GB of models and misread short texts more often. The detector is built on first
use and cached. Text that is mostly Han characters is Chinese without asking lingua, and text too
short or too ambiguous to call gets None rather than a guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import Language, LanguageDetector

logger = logging.getLogger(__name__)

# The brief's core set, every language of the default encoder (USE-m3's 16), Bulgarian, plus
# languages with their own scripts (cheap: lingua loads a model only for candidates whose script
# matches the text) so Georgian, Armenian, Greek, Japanese, Korean, Hindi and Thai are named rather
# than forced into a wrong code. Discovery removes each language's offset, so a wrong code matters.
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en", "ru", "zh", "uk", "ar", "fr", "de", "es", "fa", "be", "pl", "it", "pt", "tr", "sr",
    "nl", "bg", "ka", "hy", "el", "ja", "ko", "hi", "th",
)  # fmt: skip
MIN_LETTERS = 3  # fewer letters than this: no call
MIN_RELATIVE_DISTANCE = 0.1  # lingua returns None when the top two languages are closer than this
MAX_CHARS = 2000  # the start of a long text is enough and keeps detection fast
HAN_SHARE = 0.5  # at least this share of letters are Han (and no kana or hangul) -> "zh"

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|@\w+", re.IGNORECASE)


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...]) -> LanguageDetector:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = []
    for code in languages:
        try:
            chosen.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except AttributeError:
            raise ValueError(f"lingua does not know the language code {code!r}") from None
    if len(chosen) < 2:
        raise ValueError("language detection needs at least two candidate languages")
    logger.debug("building a lingua detector for %s", ", ".join(languages))
    return (
        LanguageDetectorBuilder.from_languages(*chosen)
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .build()
    )


def _prepare(text: str) -> tuple[str | None, str | None]:
    """(decided code, None) when no model is needed, else (None, the text to give lingua)."""
    cleaned = _NOISE.sub(" ", text[: MAX_CHARS * 2])[:MAX_CHARS]
    letters = sum(1 for char in cleaned if char.isalpha())
    han = len(_HAN.findall(cleaned))
    if letters < MIN_LETTERS and han == 0:
        return None, None
    if han and han / max(letters, 1) >= HAN_SHARE and not _KANA_HANGUL.search(cleaned):
        return "zh", None
    return None, cleaned


def declared_language(value: object) -> str | None:
    """The ISO 639-1 code a page declares (``lang="en-GB"`` -> "en"), or None when it declares none we can read."""
    if not value or not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == 2 and code.isalpha() else None


def _code(language: Language | None) -> str | None:
    if language is None:
        return None
    return str(language.iso_code_639_1.name).lower()


def detect_language(text: str, languages: Sequence[str] = DEFAULT_LANGUAGES) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when too short or uncertain."""
    decided, cleaned = _prepare(text)
    if cleaned is None:
        return decided
    return _code(_detector(tuple(languages)).detect_language_of(cleaned))


def detect_languages(texts: Iterable[str], languages: Sequence[str] = DEFAULT_LANGUAGES) -> list[str | None]:
    """detect_language for many texts at once, using lingua's multi-threaded batch call."""
    results: list[str | None] = []
    pending: list[int] = []
    pending_texts: list[str] = []
    for text in texts:
        decided, cleaned = _prepare(text)
        if cleaned is not None:
            pending.append(len(results))
            pending_texts.append(cleaned)
        results.append(decided)
    if pending_texts:
        detected = _detector(tuple(languages)).detect_languages_in_parallel_of(pending_texts)
        for index, language in zip(pending, detected, strict=True):
            results[index] = _code(language)
    return results
