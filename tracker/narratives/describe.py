"""Describe narratives so a researcher can read them: key phrases, a label and a one-line description.

- **Key phrases** (1-3 words, or up to four Chinese / Japanese segments; tracker.narratives.phrases)
  are ranked by class-based TF-IDF over the statements that contain them (BERTopic's c-TF-IDF
  weighting, Grootendorst 2022, with statement counts instead of word counts so one long statement
  cannot carry a phrase): a phrase most statements of this narrative use and few others do ranks first.
  A longer phrase absorbs its parts when it is nearly as common ("Fort Detrick" rather than "Fort" and
  "Detrick"; 德特里克堡 rather than 特里 and 克堡), and a phrase whose words are all in one already
  chosen is dropped (diversity). Phrases are shown in the narrative's display language when it has
  enough of them, so one concept is not listed once per language.
- **Display language**: English when at least a tenth of the statements are English (researchers
  read it, and names are spelled in it), else the language most statements share.
- **Label**: the core of the most representative statement in the display language (the one nearest
  the narrative's centroid): its first sentence without the reporting frame ("Maria Zakharova said
  that ...", "... заявил, что", "华春莹表示，"), shortened at a word boundary. A sentence names a claim
  the way people do, where a keyword list cannot ("que / die / der / ukraine").
- **Description**: the core of the next representative statement in that language, longer.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tracker.narratives.phrases import Phrase, phrases

LABEL_CHARS = 90
DESCRIPTION_CHARS = 220
ENGLISH_SHARE = 0.1  # English is the display language from this share of statements up
ABSORB = 0.7  # a longer phrase replaces its part when found in at least this share of the part's statements
MIN_DISPLAY = 3  # fewer phrases than this in the display language: other languages fill in

_TRAILING_FRAME = re.compile(
    r",\s*(?:(?:[^,]{1,40}?\s)?(?:reports?|reported|says|said|writes|wrote|argues|argued|claims|claimed|notes|noted|"
    r"adds|added|tells? [^,]{1,40}|told [^,]{1,40}|сообщает|пишет|заявил[аи]?)|according to [^,]{1,60})"
    r"(?:,\s*(?:citing|quoting|referring to) [^,]{1,80})?\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZА-ЯЁ\"«“])|(?<=[。！？；])|;\s+")
_FRAMES = {
    "en": re.compile(
        r"^(?:according to [^,]{1,80},\s*|"
        r"[^,.;:!?]{1,80}?\b(?:said|says|claimed|claims|stated|states|argued|argues|alleged|alleges|insisted|"
        r"declared|wrote|writes|noted|notes|suggested|asserted|added|warned|repeated|reiterated|told [^,.;:]{1,60}?|"
        r"accused [^,.;:]{1,40}? of)(?: on \w+)?,?\s+(?:that\s+)?)", re.IGNORECASE),
    "ru": re.compile(
        r"^(?:по (?:словам|мнению|данным) [^,]{1,60},\s*|[^,.;:!?]{1,80}?\b(?:заявил[аи]?|сказал[аи]?|"
        r"отметил[аи]?|подчеркнул[аи]?|сообщил[аи]?|считает|утверждает|назвал[аи]?|написал[аи]?)\s*,?\s*"
        r"(?:что\s+)?)", re.IGNORECASE),
    "zh": re.compile(r"^[^，。；：]{1,30}?(?:表示|声称|宣称|指出|认为|强调|发文称|称|说)[，：:]?"),
}


@dataclass
class Description:
    """What refresh writes for one narrative; ``label_source`` indexes the statements it was given."""

    keywords: list[str] = field(default_factory=list)
    label: str = ""
    description: str = ""
    label_source: int | None = None
    language: str | None = None


def display_language(languages: Sequence[str | None]) -> str | None:
    known = [lang for lang in languages if lang]
    if not known:
        return None
    counts = Counter(known)
    if counts.get("en", 0) >= ENGLISH_SHARE * len(known):
        return "en"
    return min(counts, key=lambda lang: (-counts[lang], lang))


def statement_core(text: str, language: str | None, limit: int = LABEL_CHARS) -> str:
    """The first sentence of ``text`` without its reporting frame, shortened to ``limit`` characters."""
    clean = " ".join(text.split())
    first = _SENTENCE_END.split(clean, maxsplit=1)[0].strip() or clean
    frame = _FRAMES.get(language or "")
    if frame is not None:
        stripped = frame.sub("", first, count=1).strip()
        if len(stripped) >= 15:  # never strip a sentence down to nothing
            first = stripped
    first = first.rstrip(" .;:,")
    trimmed = _TRAILING_FRAME.sub("", first).rstrip(" .;:,")
    if len(trimmed) >= 15:
        first = trimmed
    if first and first[0].islower():
        first = first[0].upper() + first[1:]
    return shorten(first, limit)


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + "…"


def describe(texts_by: Sequence[Sequence[str]], languages_by: Sequence[Sequence[str | None]], *,
             top_n: int = 8, speakers: Sequence[str] = (), outlets: Sequence[str] = ()) -> list[Description]:
    """Key phrases, label and description of each narrative.

    ``texts_by[i]`` are narrative i's statements, most representative first (nearest its centroid);
    ``languages_by`` has the same shape. Phrases are ranked against all narratives given together.
    Names are shown beside a narrative already, and "RT argues" says nothing about the claim: a phrase
    that contains an outlet's name, or any word of a speaker's name ("Zhao", "Lijian"), is left out.
    """
    names = _name_keys(outlets, whole=True) | _name_keys(speakers, whole=False)
    split = _split_names(names)
    found = [_statement_phrases(texts, langs, names, split)
             for texts, langs in zip(texts_by, languages_by, strict=True)]
    spread: Counter[str] = Counter()
    for per_statement in found:
        for keys in per_statement:
            spread.update({p.key for p in keys})
    average = sum(len(f) for f in found) / max(1, len(found))
    out: list[Description] = []
    for texts, langs, per_statement in zip(texts_by, languages_by, found, strict=True):
        lang = display_language(langs)
        desc = Description(language=lang)
        desc.keywords = _key_phrases(per_statement, spread, average, lang, top_n)
        picks = [i for i, statement_lang in enumerate(langs) if statement_lang == lang] or list(range(len(texts)))
        if picks:
            desc.label_source = picks[0]
            desc.label = statement_core(texts[picks[0]], langs[picks[0]])
            other = picks[1] if len(picks) > 1 else picks[0]
            desc.description = statement_core(texts[other], langs[other], DESCRIPTION_CHARS)
        out.append(desc)
    return out


def _name_keys(names: Sequence[str], *, whole: bool) -> frozenset[str]:
    """Merge keys of whole names, or of every word of them."""
    keys = set()
    for name in names:
        for p in phrases(name, None):
            if p.words == 1 and not whole or p.words == len(name.split()) or _cjk(p.key):
                keys.add(p.key)
    return frozenset(k for k in keys if k)


def _statement_phrases(texts: Sequence[str], languages: Sequence[str | None], names: frozenset[str],
                       split: tuple[frozenset[str], tuple[str, ...]]) -> list[list[Phrase]]:
    out = []
    for text, lang in zip(texts, languages, strict=True):
        found = phrases(text, lang)
        out.append([p for p in found if not names or not _names_in(p.key, names, split)])
    return out


def _split_names(names: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Names written with spaces, and CJK names of two characters or more (matched inside a key)."""
    return frozenset(n for n in names if not _cjk(n)), tuple(n for n in names if _cjk(n) and len(n) >= 2)


def _names_in(key: str, names: frozenset[str], split: tuple[frozenset[str], tuple[str, ...]] | None = None) -> bool:
    """Does the phrase contain a name: a CJK name anywhere in a CJK key, any other as a run of whole words.

    Runs of the key's words are looked up in a set, not every name searched for in every key: with the
    hundreds of outlets of a real corpus, that search was most of a first ``tracker run``.
    """
    if key in names:
        return True
    plain, cjk = split if split is not None else _split_names(names)
    if _cjk(key):
        return any(name in key for name in cjk)
    tokens = key.split(" ")
    return any(" ".join(tokens[i:j]) in plain for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1))


def _key_phrases(per_statement: list[list[Phrase]], spread: Counter[str], average: float, language: str | None,
                 top_n: int) -> list[str]:
    """The narrative's best phrases by c-TF-IDF over statement counts, absorbed, diverse, one language."""
    n = len(per_statement)
    if n == 0:
        return []
    df: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    tongue: dict[str, Counter[str]] = defaultdict(Counter)
    words: dict[str, int] = {}
    for statement in per_statement:
        for p in statement:
            forms[p.key][p.text] += 1
            tongue[p.key][p.language] += 1
            words[p.key] = p.words
        df.update({p.key for p in statement})
    least = 2 if n >= 3 else 1  # a phrase one statement uses is that statement's, not the narrative's
    score = {k: (c / n) * float(np.log(1.0 + average / spread[k])) for k, c in df.items() if c >= least}
    ranked = _absorb(sorted(score, key=lambda k: (-score[k], -words[k], k)), df, words)
    chosen = _diverse(ranked)
    own = [k for k in chosen if tongue[k].most_common(1)[0][0] == language]
    keep = own if len(own) >= MIN_DISPLAY else chosen
    return [_display(forms[k]) for k in keep[:top_n]]


def _parts(key: str) -> set[str]:
    """The shorter keys a phrase contains: runs of its words, or for CJK (written without spaces) its
    substrings."""
    if _cjk(key):
        return {key[i:j] for i in range(len(key)) for j in range(i + 1, len(key) + 1) if (i, j) != (0, len(key))}
    tokens = key.split(" ")
    return {" ".join(tokens[i : i + m]) for m in range(1, len(tokens)) for i in range(len(tokens) - m + 1)}


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _cjk(key: str) -> bool:
    return _CJK.search(key) is not None


def _absorb(ranked: list[str], df: Counter[str], words: dict[str, int]) -> list[str]:
    """Drop a phrase when a longer one containing it is in nearly as many statements."""
    longer: dict[str, list[str]] = defaultdict(list)
    for key in ranked:
        if words[key] > 1:
            for part in _parts(key):
                longer[part].append(key)
    return [k for k in ranked if not any(df[big] >= ABSORB * df[k] for big in longer.get(k, ()))]


def _diverse(ranked: list[str]) -> list[str]:
    """Keep a phrase only if none of its words is in a phrase already chosen (for CJK: if it neither
    contains nor is contained in one)."""
    chosen: list[str] = []
    used: set[str] = set()
    for key in ranked:
        if _cjk(key):
            if any(key in c or c in key for c in chosen if _cjk(c)):
                continue
        elif used & set(key.split(" ")):
            continue
        else:
            used |= set(key.split(" "))
        chosen.append(key)
    return chosen


def _display(forms: Counter[str]) -> str:
    """The spelling used most; an all-capitals form (an acronym) wins ties."""
    return min(forms, key=lambda f: (-forms[f], not f.isupper(), f))


# ---------------------------------------------------------------- compatibility helpers


def keywords(texts_by: Sequence[Sequence[str]], languages: Sequence[Sequence[str | None]] | None = None,
             top_n: int = 8) -> list[list[str]]:
    """Key phrases only (see :func:`describe`)."""
    langs = languages if languages is not None else [[None] * len(t) for t in texts_by]
    return [d.keywords for d in describe(texts_by, langs, top_n=top_n)]


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
