"""RSS and Atom feeds -> statement drafts, one per entry, with entries' HTML reduced to plain text.

Feeds are hostile input. feedparser parses them with the stdlib SAX parser and keeps "simple"
entity declarations, which still allows a quadratic blow-up, and it treats a bytes argument as a
file name first. So this module decodes the bytes itself, refuses any document that declares XML
entities, drops DOCTYPEs (no external DTD is ever fetched), and hands feedparser a stream.
"""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tracker.ingest.charset import decode_body
from tracker.ingest.drafts import RowError, StatementDraft

logger = logging.getLogger(__name__)

MIN_FULL_TEXT_CHARS = 600  # a feed text shorter than this is probably a teaser
MAX_ENTRIES = 5000

_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>", re.IGNORECASE)
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEASER_END = re.compile(r"(\.\.\.|…|\[…\]|\[\.\.\.\]|read more|continue reading|подробнее|далее)\s*$",
                         re.IGNORECASE)
_BLOCK_TAGS = ("p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
               "pre", "table", "tr", "section", "article", "header", "footer", "figure", "figcaption", "dd",
               "dt", "hr")
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head")


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, entities decoded, paragraphs kept."""
    if not markup:
        return ""
    markup = _CONTROL.sub("", markup)
    if "<" not in markup:
        return _tidy(html.unescape(markup))
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()
    for element in root.iter(*_BLOCK_TAGS):
        if element.tag != "br":
            element.text = "\n\n" + (element.text or "")
        element.tail = ("\n" if element.tag == "br" else "\n\n") + (element.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    """Collapse runs of spaces; keep single line breaks and one blank line between paragraphs."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = " ".join(line.split())
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def prepare_feed(body: bytes | str, content_type: str | None = None) -> bytes:
    """UTF-8 bytes safe to give feedparser; raises ``ValueError`` for entity declarations."""
    text = body if isinstance(body, str) else decode_body(body, content_type)[0]
    text = text.lstrip("\ufeff")
    if _ENTITY_DECL.search(text):
        raise ValueError("the document declares XML entities (refused: entity expansion and external "
                         "entities are never parsed)")
    text = _DOCTYPE.sub("", text, count=1)
    text = _XML_ENCODING.sub(r"\1", text, count=1)
    return _CONTROL.sub("", text).encode("utf-8")


def parse_feed(body: bytes | str, source_url: str, outlet: str | None = None, actor: str | None = None,
               country: str | None = None, actor_kind: str | None = None, content_type: str | None = None,
               max_entries: int = MAX_ENTRIES) -> list[StatementDraft | RowError]:
    """One draft per entry (or a ``RowError`` per bad entry; one for the whole body if it is no feed)."""
    import feedparser

    try:
        data = prepare_feed(body, content_type)
    except ValueError as exc:
        return [RowError(source_url, None, str(exc), field="body")]
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": source_url}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = parsed.get("entries") or []
    if not entries:
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception") or "no rss, feed or RDF root element"
            return [RowError(source_url, None, f"not an RSS or Atom feed: {reason}", field="body")]
        return []
    feed: Mapping[str, Any] = parsed.get("feed") or {}
    feed_outlet = outlet or _clean_line(feed.get("title")) or None
    feed_language = _language(feed.get("language"))
    items: list[StatementDraft | RowError] = []
    for number, entry in enumerate(entries[:max_entries], start=1):
        try:
            items.append(_draft(entry, number, source_url, feed_outlet, actor, actor_kind, country, feed_language))
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            items.append(RowError(source_url, number, f"unreadable entry: {type(exc).__name__}: {exc}"))
    if len(entries) > max_entries:
        items.append(RowError(source_url, None, f"{len(entries) - max_entries} entries past the cap of "
                              f"{max_entries} were skipped"))
    return items


def _draft(entry: Mapping[str, Any], number: int, source_url: str, outlet: str | None, actor: str | None,
           actor_kind: str | None, country: str | None, feed_language: str | None) -> StatementDraft | RowError:
    title = _clean_line(entry.get("title"))
    content, summary_only = entry_html(entry)
    text = html_to_text(content) or title
    if not text:
        return RowError(source_url, number, "entry has neither text nor title", field="text")
    link = entry.get("link") or None
    external_id = entry.get("id") or entry.get("guid") or link
    extra: dict[str, Any] = {"summary_only": summary_only}
    if entry.get("author"):
        extra["author"] = _clean_line(entry.get("author"))
    tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    if tags:
        extra["tags"] = tags
    return StatementDraft(
        text=text,
        external_id=str(external_id) if external_id else None,
        published_at=_when(entry),
        actor=actor,
        actor_kind=actor_kind,
        outlet=outlet,
        country=country,
        language=_language((entry.get("content") or [{}])[0].get("language")) or feed_language,
        url=link,
        title=title or None,
        origin=f"{source_url}#entry{number}",
        extra=extra,
    )


def entry_html(entry: Mapping[str, Any]) -> tuple[str, bool]:
    """(the richest HTML the entry carries, True when that is only a summary/description)."""
    contents = [c.get("value") or "" for c in entry.get("content") or []]
    best = max(contents, key=len, default="")
    summary = entry.get("summary") or ""
    if len(best) >= len(summary) and best:
        return best, False
    return summary, True


def needs_full_text(item: StatementDraft | Mapping[str, Any], min_chars: int = MIN_FULL_TEXT_CHARS) -> bool:
    """Should the caller fetch the article page? True when the entry has a URL and its text is cut
    off ("...", "Read more") or is only a short summary (full ``content`` is trusted).

    Takes a draft from ``parse_feed`` or a raw feedparser entry.
    """
    if isinstance(item, StatementDraft):
        url, text = item.url, item.text
        summary_only = bool(item.extra.get("summary_only", True))
    else:
        url = item.get("link")
        markup, summary_only = entry_html(item)
        text = html_to_text(markup) or _clean_line(item.get("title"))
    if not url:
        return False
    if _TEASER_END.search(text):
        return True
    return summary_only and len(text) < min_chars


def _clean_line(value: Any) -> str:
    return " ".join(html_to_text(str(value)).split()) if value else ""


def _language(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == 2 and code.isalpha() else None


def _when(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's publication time in UTC (feedparser normalises parsed dates to UTC)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                year, month, day, hour, minute, second = (int(v) for v in parsed[:6])
                return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None
