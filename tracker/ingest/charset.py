"""Turn fetched bytes into text, choosing the character set the way browsers and feed readers do.

Order: byte-order mark, the HTTP ``charset``, the document's own declaration (``<?xml encoding>``,
``<meta charset>``), then UTF-8, then statistical detection (charset-normalizer). One exception:
servers and CMSs often label UTF-8 as ISO-8859-1 / windows-1252 by default, so when a body so
labelled is valid UTF-8 with non-ASCII bytes in it, UTF-8 wins (random Latin-1 text almost never
forms valid multi-byte UTF-8).
"""

from __future__ import annotations

import codecs
import logging
import re

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that CMS defaults put on everything, often wrongly.
_WEAK_LABELS = frozenset({"iso8859-1", "cp1252", "ascii", "latin-1"})
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 4096
_DETECT_BYTES = 256 * 1024  # enough for detection; detecting on 20 MB is slow


def normalise_label(label: str | None) -> str | None:
    """The codec name Python uses for a charset label, or None when Python does not know it."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    # WHATWG: browsers decode these as windows-1252, which is a superset.
    if label in ("iso-8859-1", "latin1", "latin-1", "iso8859-1", "us-ascii", "ascii"):
        label = "windows-1252" if label not in ("us-ascii", "ascii") else "ascii"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def sniff_bom(body: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) when the body starts with a byte-order mark."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def declared_charset(body: bytes) -> str | None:
    """The charset the document declares for itself in its first few KiB (XML or HTML)."""
    head = body[:_SNIFF_BYTES]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _try(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_encoding(body: bytes, content_type: str | None = None) -> str:
    """The codec to decode ``body`` with (see the module docstring for the order)."""
    bom = sniff_bom(body)
    if bom:
        return bom[0]
    for label in (charset_from_content_type(content_type), declared_charset(body)):
        codec = normalise_label(label)
        if codec is None:
            continue
        if codec in _WEAK_LABELS and _is_utf8_with_non_ascii(body):
            logger.debug("body labelled %s is valid UTF-8; decoding as UTF-8", label)
            return "utf-8"
        if codec.startswith("utf-16") or codec.startswith("utf-32"):
            # A declaration read as ASCII cannot be right about UTF-16 without a BOM; skip it.
            continue
        if _try(body, codec) is not None:
            return codec
        logger.debug("body does not decode as its label %s; trying others", label)
    if _try(body, "utf-8") is not None:
        return "utf-8"
    return _guess(body)


def _guess(body: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with requests/trafilatura
        return _cyrillic_or_western(body)
    best = from_bytes(body[:_DETECT_BYTES]).best()
    if best is None:
        return _cyrillic_or_western(body)
    return codecs.lookup(best.encoding).name


def _cyrillic_or_western(body: bytes) -> str:
    """Without a detector: bytes 0xC0-0xFF dominate in windows-1251 Russian text."""
    high = sum(1 for b in body[:_DETECT_BYTES] if b >= 0x80)
    cyr = sum(1 for b in body[:_DETECT_BYTES] if b >= 0xC0)
    return "cp1251" if high and cyr / high > 0.8 else "cp1252"


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, codec): the body decoded; undecodable bytes become U+FFFD rather than failing."""
    codec = detect_encoding(body, content_type)
    bom = sniff_bom(body)
    if bom and bom[0] == codec:
        body = body[bom[1]:]
    return body.decode(codec, errors="replace"), codec
