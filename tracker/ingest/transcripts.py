"""Press-briefing transcripts -> one statement per answer (or per section of opening remarks).

Foreign ministries publish their regular briefings as one long page: the Chinese MFA as
"CCTV: <question>" / "Zhao Lijian: <answer>" paragraphs, the Russian MFA as headed sections of
opening remarks followed by "Question:" / "Answer:" (or "Вопрос:" / "Ответ:") pairs. Each answer is
a statement by the spokesperson in its own right, with the question kept as its context, so a
narrative pushed in one answer is not diluted by the other twenty topics of the same briefing.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tracker.ingest.charset import decode_body
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.language import declared_language

logger = logging.getLogger(__name__)

QUESTION_LABELS = frozenset({"question", "q", "follow-up", "follow up", "follow-up question", "followup",
                             "вопрос", "уточняющий вопрос", "дополнительный вопрос", "reporter", "journalist",
                             "记者", "问", "追问"})
ANSWER_LABELS = frozenset({"answer", "a", "ответ", "答"})
_SEPARATOR = re.compile(r"^(?:из\s+)?ответ\w*\s+на\s+вопрос\w*|^answers?\s+to\s+(?:the\s+)?(?:media|journalists?'?|"
                        r"press)\s+questions|^questions?\s+(?:and\s+answers|from\s+(?:the\s+)?media)",
                        re.IGNORECASE)
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "div", "td", "dd")
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
_DROP = ("script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe", "svg", "head")
_CHROME = re.compile(r"(?:^|[\s_-])(?:footer|nav|navbar|menu|breadcrumbs?|share|sharing|sidebar|social)(?:$|[\s_-])",
                     re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONNECTORS = frozenset({"of", "the", "and", "&", "de", "du", "la", "for", "news", "tv", "и"})

_EN_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
_RU_MONTHS = {m: i for i, m in enumerate(
    ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
     "ноября", "декабря"), start=1)}
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(" + "|".join(_EN_MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})", re.IGNORECASE), "mdy"),
    (re.compile(r"\b(\d{1,2})\s+(" + "|".join(_EN_MONTHS) + r"),?\s+(\d{4})", re.IGNORECASE), "dmy_en"),
    (re.compile(r"\b(\d{1,2})\s+(" + "|".join(_RU_MONTHS) + r")\s+(\d{4})", re.IGNORECASE), "dmy_ru"),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "iso"),
    (re.compile(r"\b(\d{2})\.(\d{2})\.(\d{4})\b"), "dots"),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"), "cjk"),
)
_EN_SPEAKER = re.compile(r"(?:Spokes(?:person|woman|man)|Department|Representative|Ambassador)\s+"
                         r"((?:[A-Z][\w.'’-]*\s*){1,4})")
_RU_SPEAKER = re.compile(r"представител[а-я]*\s+(?:МИД\s+(?:России|РФ)\s+)?((?:[А-ЯЁ][\w.]*\s*){1,3})")


@dataclass
class _Block:
    text: str
    heading: bool
    label: str | None = None  # text before the colon, when it looks like a speaker label
    rest: str = ""  # text after the label


@dataclass
class _Unit:
    kind: str  # answer, section, question
    heading: str | None = None
    label: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    question: str | None = None
    asked_by: str | None = None


def parse_transcript(html: bytes | str, url: str, default_speaker: str | None = None, outlet: str | None = None,
                     country: str | None = None, content_type: str | None = None,
                     actor_kind: str = "official") -> list[StatementDraft | RowError]:
    """One draft per answer and per headed section of remarks; a single ``RowError`` if none is found."""
    import lxml.html
    from lxml import etree

    markup = html if isinstance(html, str) else decode_body(html, content_type)[0]
    markup = _CONTROL.sub("", markup)
    if not markup.strip():
        return [RowError(url, None, "empty page", field="body")]
    try:
        root = lxml.html.document_fromstring(
            markup.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8", no_network=True))
    except (etree.LxmlError, ValueError) as exc:
        return [RowError(url, None, f"page could not be parsed: {exc}", field="body")]
    page_title = _page_title(root)
    title_speaker = speaker_from_title(page_title)
    speaker = title_speaker or default_speaker
    published = find_date(page_title) or find_date(_head_text(root))
    language = declared_language(root.get("lang"))
    site = outlet or _meta(root, "og:site_name")
    for element in list(root.iter(*_DROP)):
        if element.getparent() is not None:
            element.drop_tree()
    for element in list(root.iter()):
        if element.getparent() is not None and isinstance(element.tag, str) \
                and _CHROME.search(f"{element.get('class', '')} {element.get('id', '')}"):
            element.drop_tree()
    blocks = _blocks(root)
    names = [n for n in (title_speaker, default_speaker) if n]
    answer_names = _answer_names(blocks, names)
    units = _units(blocks, answer_names)
    drafts: list[StatementDraft | RowError] = []
    counters = Counter[str]()
    for unit in units:
        text = "\n\n".join(p for p in unit.paragraphs if p)
        if not text:
            continue
        if unit.kind == "answer":
            counters["a"] += 1
            ref = f"#a{counters['a']}"
            actor = _label_speaker(unit.label, speaker)
            context = unit.question
        else:
            counters["s"] += 1
            ref = f"#s{counters['s']}"
            actor, context = speaker, unit.heading
        extra: dict[str, Any] = {"part": unit.kind}
        if unit.asked_by:
            extra["asked_by"] = unit.asked_by
        if unit.kind == "section" and unit.heading:
            extra["heading"] = unit.heading
        drafts.append(StatementDraft(
            text=text, external_id=f"{url}{ref}", published_at=published, actor=actor, actor_kind=actor_kind,
            outlet=site, country=country, language=language, url=url, title=page_title or None,
            context=context or None, origin=f"{url}{ref}", extra=extra))
    if not drafts:
        return [RowError(url, None, "no answers or headed sections found in the transcript", field="text")]
    return drafts


# ---------------------------------------------------------------- page structure


def _page_title(root: Any) -> str:
    for path in ("//h1", "//title"):
        for element in root.xpath(path):
            text = " ".join(element.text_content().split())
            if text:
                return text
    return ""


def _head_text(root: Any) -> str:
    """The first few hundred characters of the page body, where date lines live."""
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    return " ".join(text.split())[:2000]


def _meta(root: Any, prop: str) -> str | None:
    for meta in root.iter("meta"):
        if (meta.get("property") or meta.get("name")) == prop and meta.get("content"):
            return " ".join(meta.get("content").split())
    return None


def _blocks(root: Any) -> list[_Block]:
    """Leaf blocks (paragraphs, headings, list items) in document order, inside the transcript body."""
    leaves = [e for e in root.iter(*_BLOCKS) if not any(True for _ in e.iterdescendants(*_BLOCKS))]
    blocks: list[tuple[Any, _Block]] = []
    for element in leaves:
        text = " ".join(element.text_content().split())
        if not text or element.tag == "h1":
            continue
        block = _Block(text=text, heading=element.tag in _HEADINGS or _is_bold_line(element, text))
        label, rest = _split_label(text)
        if label is not None:
            block.label, block.rest = label, rest
        blocks.append((element, block))
    labelled = [e.getparent() for e, b in blocks if b.label is not None]
    if labelled:
        container, count = Counter(labelled).most_common(1)[0]
        if count >= 0.6 * len(labelled):
            blocks = [(e, b) for e, b in blocks if _inside(e, container)]
    return [b for _, b in blocks]


def _inside(element: Any, container: Any) -> bool:
    while element is not None:
        if element is container:
            return True
        element = element.getparent()
    return False


def _is_bold_line(element: Any, text: str) -> bool:
    """A short paragraph set entirely in bold reads as a heading."""
    if len(text) > 200:
        return False
    bold = "".join(" ".join(b.text_content().split()) for b in element.iter("b", "strong"))
    return bold.replace(" ", "") == text.replace(" ", "") and not text.endswith("?")


def _split_label(text: str) -> tuple[str | None, str]:
    """("CCTV", "question...") for "CCTV: question..."; (None, text) when there is no label."""
    match = re.match(r"^([^:：]{1,80}?)\s*([:：])(.*)$", text, re.DOTALL)
    if not match:
        return None, text
    label, colon, rest = match.group(1).strip(), match.group(2), match.group(3)
    if colon == ":" and rest and not rest[0].isspace():
        return None, text  # "19:45", "http://", "10:1"
    if not label or not label[0].isalpha() and label[0] not in "«\"“":
        return None, text
    if re.search(r"[,;!?\"“”]", label) or len(label.split()) > 8:
        return None, text
    return label, rest.strip()


def _norm(label: str) -> str:
    return " ".join(label.replace(".", ". ").split()).casefold()


def _same_person(label: str, name: str) -> bool:
    a, b = _norm(label), _norm(name)
    if a == b:
        return True
    last_a, last_b = a.split()[-1], b.split()[-1]
    return len(last_a) >= 4 and last_a == last_b


def _looks_like_outlet(label: str) -> bool:
    """Media names are short and capitalised: "CCTV", "Global Times", "РИА Новости"."""
    words = label.split()
    if not 1 <= len(words) <= 6:
        return False
    return all(w[0].isupper() or w[0] in "«\"“(" or w.casefold() in _CONNECTORS or any(c.isupper() for c in w)
               for w in words)


def _answer_names(blocks: list[_Block], names: list[str]) -> list[str]:
    """Labels that mark the spokesperson's answers: known names, else the most frequent label."""
    labels = [b.label for b in blocks if b.label and b.label.casefold() not in QUESTION_LABELS | ANSWER_LABELS]
    known = [lab for lab in set(labels) if any(_same_person(lab, n) for n in names)]
    if known or not labels:
        return known
    label, count = Counter(labels).most_common(1)[0]
    others = [c for lab, c in Counter(labels).items() if lab != label]
    return [label] if count >= 2 and count > max(others, default=0) else []


def _units(blocks: list[_Block], answer_names: list[str]) -> list[_Unit]:
    """Walk the blocks as a small state machine: questions, answers, sections, continuations."""
    units: list[_Unit] = []
    current: _Unit | None = None
    last_asked_by: str | None = None
    for block in blocks:
        label = block.label
        folded = label.casefold() if label else None
        if label and _SEPARATOR.match(label) and not block.rest:
            current = None
            continue
        if folded and (folded in ANSWER_LABELS or label in answer_names):
            question, asked_by = None, None
            if current is not None and current.kind == "question":
                question, asked_by = "\n\n".join(current.paragraphs), current.asked_by
            elif current is not None and current.kind == "section" and current.heading and not current.paragraphs:
                question = current.heading  # a bold, unlabelled question followed by "Answer:"
                units.remove(current)
            current = _Unit("answer", label=label, paragraphs=[block.rest], question=question, asked_by=asked_by)
            units.append(current)
        elif folded and (folded in QUESTION_LABELS or _looks_like_outlet(label or "")) and not block.heading:
            asked_by = None if folded in QUESTION_LABELS else label
            if folded.startswith(("follow", "уточн", "追问")):
                asked_by = last_asked_by  # the same journalist asks again
            last_asked_by = asked_by
            current = _Unit("question", paragraphs=[block.rest] if block.rest else [], asked_by=asked_by)
        elif block.heading:
            heading = block.text.rstrip(":").strip()
            if _SEPARATOR.match(heading):
                current = None
                continue
            current = _Unit("section", heading=heading)
            units.append(current)
        elif current is not None:
            current.paragraphs.append(block.text)
    return [u for u in units if u.kind != "question"]


# ---------------------------------------------------------------- speakers and dates


def speaker_from_title(title: str) -> str | None:
    """The spokesperson named in a briefing title, in the nominative case for Russian titles."""
    match = _EN_SPEAKER.search(title)
    if match:
        words: list[str] = []
        for word in match.group(1).split():
            stop = word.endswith((",", "'s", "’s"))
            word = re.sub(r"(?:'s|’s)?,?$", "", word)
            words.append(word)
            if stop or len(words) == 3:
                break
        return " ".join(words) or None
    match = _RU_SPEAKER.search(title)
    if match:
        name = match.group(1).strip().rstrip(",")
        parts = re.split(r"(\s+|\.)", name)
        parts[-1] = _nominative(parts[-1])
        return "".join(parts)
    return None


def _nominative(surname: str) -> str:
    """Russian surname in the genitive ("Захаровой", "Лаврова") back to the nominative."""
    for ending, replacement in (("ской", "ская"), ("цкой", "цкая"), ("ого", "ий"), ("ой", "а"),
                                ("ова", "ов"), ("ева", "ев"), ("ёва", "ёв"), ("ина", "ин"), ("ына", "ын")):
        if surname.endswith(ending) and len(surname) > len(ending) + 1:
            return surname[: -len(ending)] + replacement
    return surname


def find_date(text: str) -> datetime | None:
    """The first date in ``text`` (English, Russian, ISO, dd.mm.yyyy or CJK form), as UTC midnight."""
    best: tuple[int, datetime] | None = None
    for pattern, form in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        when = _to_date(match.groups(), form)
        if when is not None and (best is None or match.start() < best[0]):
            best = (match.start(), when)
    return best[1] if best else None


def _to_date(groups: tuple[str, ...], form: str) -> datetime | None:
    try:
        if form == "mdy":
            year, month, day = int(groups[2]), _EN_MONTHS[groups[0].lower()], int(groups[1])
        elif form == "dmy_en":
            year, month, day = int(groups[2]), _EN_MONTHS[groups[1].lower()], int(groups[0])
        elif form == "dmy_ru":
            year, month, day = int(groups[2]), _RU_MONTHS[groups[1].lower()], int(groups[0])
        elif form == "dots":
            year, month, day = int(groups[2]), int(groups[1]), int(groups[0])
        else:
            year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        return datetime(year, month, day, tzinfo=UTC)
    except (ValueError, KeyError):
        return None


def _label_speaker(label: str | None, speaker: str | None) -> str | None:
    if label and label.casefold() not in ANSWER_LABELS:
        return " ".join(label.split())
    return speaker
