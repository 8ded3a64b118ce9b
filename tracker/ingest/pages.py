"""One article page -> one statement draft: the main text, title, date and outlet, via trafilatura.

Boilerplate (menus, "most read", footers) is what trafilatura removes; what it cannot give is a
publication time finer than a day, so the page's own machine-readable timestamp
(``article:published_time``, ``<time datetime>``, JSON-LD ``datePublished``) is preferred when present.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tracker.ingest.charset import decode_body
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.ingest.language import declared_language

logger = logging.getLogger(__name__)

_TIME_META = ("article:published_time", "og:published_time", "datePublished", "pubdate", "publishdate",
              "dc.date.issued", "dcterms.created", "date")
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
MIN_TEXT_CHARS = 25  # below this, what trafilatura found is a menu item or a caption, not an article
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse_page(html: bytes | str, url: str, outlet: str | None = None, actor: str | None = None,
               country: str | None = None, actor_kind: str | None = None,
               content_type: str | None = None, min_chars: int = MIN_TEXT_CHARS) -> StatementDraft | RowError:
    """The article on ``html`` as a draft, or a ``RowError`` when no article text can be found."""
    import trafilatura
    from lxml import etree

    text_html = html if isinstance(html, str) else decode_body(html, content_type)[0]
    text_html = _CONTROL.sub("", text_html)
    if not text_html.strip():
        return RowError(url, None, "empty page", field="body")
    try:
        doc = trafilatura.bare_extraction(text_html, url=url, with_metadata=True, include_comments=False,
                                          include_tables=True, include_images=False)
    except (ValueError, TypeError, etree.LxmlError, RecursionError) as exc:
        return RowError(url, None, f"page could not be parsed: {type(exc).__name__}: {exc}", field="body")
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < min_chars:
        return RowError(url, None, f"no article text found on the page ({len(text)} characters)", field="text")
    meta = _page_meta(text_html)
    published = meta.get("published") or _day(getattr(doc, "date", None))
    extra: dict[str, Any] = {}
    for key in ("author", "description", "sitename"):
        value = getattr(doc, key, None)
        if value:
            extra[key] = value
    return StatementDraft(
        text=text,
        external_id=url,
        published_at=published,
        actor=actor,
        actor_kind=actor_kind,
        outlet=outlet or getattr(doc, "sitename", None) or getattr(doc, "author", None)
        or (urlsplit(url).hostname or None),
        country=country,
        language=declared_language(getattr(doc, "language", None)) or meta.get("language"),
        url=url,
        title=getattr(doc, "title", None) or None,
        origin=url,
        extra=extra,
    )


def _page_meta(markup: str) -> dict[str, Any]:
    """The precise publication time and the declared language, read from the page head."""
    import lxml.html
    from lxml import etree

    found: dict[str, Any] = {}
    try:
        root = lxml.html.document_fromstring(markup.encode("utf-8"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8", no_network=True))
    except (etree.LxmlError, ValueError):
        return found
    lang = declared_language(root.get("lang"))
    if lang:
        found["language"] = lang
    candidates: list[str] = []
    for meta in root.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
        if key.lower() in {k.lower() for k in _TIME_META} and meta.get("content"):
            candidates.append(meta.get("content", ""))
    candidates += [t.get("datetime", "") for t in root.iter("time") if t.get("datetime")]
    for script in root.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            candidates += _JSONLD_DATE.findall(script.text)
    for value in candidates:
        when = parse_timestamp(value)
        if when is not None:
            found["published"] = when
            break
    return found


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp with a time and zone, as UTC; None for dates alone or nonsense."""
    value = value.strip().replace("Z", "+00:00")
    if "T" not in value and " " not in value.strip():
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # a local time without its zone is no better than the day
    return when.astimezone(UTC)


def _day(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
