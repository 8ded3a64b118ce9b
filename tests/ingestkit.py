"""Shared by the ingest tests: configs and environments pointing at a test database, feed builders,
an HTTP handler with conditional GET, and adding sources."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from httpfixture import _Handler

from tracker.config import Config, load_config
from tracker.db import Database
from tracker.ingest.sources import add_source


def ingest_env(db_url: str, tmp_path: Path, **ingest: object) -> dict[str, str]:
    """Environment for a config (or a `tracker` subprocess) that may fetch from 127.0.0.1, fast."""
    env = {
        "TRACKER_DATABASE_URL": db_url,
        "TRACKER_DATA_DIR": str(tmp_path / "data"),
        "TRACKER_CONFIG": "",
        "TRACKER_INGEST_ALLOW_HOSTS": "127.0.0.1",
        "TRACKER_INGEST_MIN_HOST_DELAY": "0",
        "TRACKER_INGEST_CONNECT_TIMEOUT": "1",
        "TRACKER_INGEST_READ_TIMEOUT": "1",
        "TRACKER_INGEST_TOTAL_TIMEOUT": "2",
        "TRACKER_EMBEDDING_MODEL": "hashing-ngrams-384",
    }
    env.update({f"TRACKER_INGEST_{k.upper()}": str(v) for k, v in ingest.items()})
    return env


def ingest_config(db_url: str, tmp_path: Path, **ingest: object) -> Config:
    return load_config(env=ingest_env(db_url, tmp_path, **ingest))


def rss(title: str, items: list[dict[str, str]], *, language: str | None = None) -> str:
    """An RSS 2.0 document; each item may have guid, title, link, text, date (RFC 822).

    A channel ``language`` spares the store its language detection (lingua takes ~2 s to load in
    each new process, which the subprocess tests would pay on every start).
    """
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
             f"<title>{escape(title)}</title><link>https://example.org/</link><description>d</description>"]
    if language:
        parts.append(f"<language>{language}</language>")
    for item in items:
        parts.append("<item>")
        for tag, key in (("title", "title"), ("link", "link"), ("guid", "guid"), ("pubDate", "date"),
                         ("description", "text")):
            if item.get(key):
                attrs = ' isPermaLink="false"' if tag == "guid" else ""
                parts.append(f"<{tag}{attrs}>{escape(item[key])}</{tag}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def numbered_items(prefix: str, n: int, *, words: str = "said the ministry about the matter") -> list[dict[str, str]]:
    """``n`` distinct entries with guids ``<prefix>-<i>``."""
    when = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
    return [{"guid": f"{prefix}-{i}", "title": f"{prefix} story {i}", "link": f"https://example.org/{prefix}/{i}",
             "date": format_datetime(when), "text": f"Statement {i} of {prefix}: {words} number {i}."}
            for i in range(n)]


class Validated:
    """A route serving ``body`` with optional ETag / Last-Modified that answers 304 to a match.

    ``body`` may be replaced between fetches; ``delay`` holds every answer back; ``active`` and
    ``max_active`` count requests in flight (two schedulers must never fetch one source at once).
    """

    def __init__(self, body: bytes, content_type: str = "application/rss+xml", *, etag: str | None = None,
                 last_modified: str | None = None, delay: float = 0.0) -> None:
        self.body, self.content_type, self.etag, self.last_modified = body, content_type, etag, last_modified
        self.delay = delay
        self.not_modified = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(self, h: _Handler) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            headers = {}
            if self.etag:
                headers["ETag"] = self.etag
            if self.last_modified:
                headers["Last-Modified"] = self.last_modified
            matches = (self.etag and h.headers.get("If-None-Match") == self.etag) or (
                self.last_modified and not self.etag and h.headers.get("If-Modified-Since") == self.last_modified)
            if matches:
                self.not_modified += 1
                h.send_response(304)
                for name, value in headers.items():
                    h.send_header(name, value)
                h.end_headers()
                return
            h.send(200, self.body, self.content_type, headers)
        finally:
            with self._lock:
                self.active -= 1


def add(db: Database, cfg: Config, url: str, kind: str, name: str, **kw: Any) -> None:
    with db.transaction() as session:
        add_source(session, cfg, url, kind, name=name, **kw)
