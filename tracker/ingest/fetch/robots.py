"""robots.txt, read through this same client and kept per scheme://host:port for a day."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlunsplit
from urllib.robotparser import RobotFileParser

from tracker.ingest.fetch.client import fetch
from tracker.ingest.fetch.errors import HTTPStatusError, ResponseTooLarge, RobotsDisallowed
from tracker.ingest.fetch.guard import _split
from tracker.ingest.fetch.policy import FetchPolicy

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024
_ROBOTS_TTL = 24 * 3600.0


class RobotsCache:
    """robots.txt decisions per scheme://host:port, kept for a day."""

    def __init__(self, ttl: float = _ROBOTS_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._parsers: dict[str, tuple[float, RobotFileParser]] = {}

    def get(self, key: str) -> RobotFileParser | None:
        with self._lock:
            hit = self._parsers.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def put(self, key: str, parser: RobotFileParser) -> None:
        with self._lock:
            self._parsers[key] = (time.monotonic(), parser)


DEFAULT_ROBOTS_CACHE = RobotsCache()


def robots_allowed(url: str, policy: FetchPolicy, cache: RobotsCache | None = None) -> bool:
    """May ``policy.user_agent`` fetch ``url``? 4xx robots.txt means yes, 5xx means no.

    Network failures other than an HTTP status are raised (as ``FetchError``), not guessed.
    """
    cache = cache or DEFAULT_ROBOTS_CACHE
    scheme, host, port, _ = _split(url)
    key = f"{scheme}://{host}:{port}"
    parser = cache.get(key)
    if parser is None:
        parser = _load_robots(key, url, policy)
        cache.put(key, parser)
    return parser.can_fetch(policy.user_agent, url)


def _load_robots(key: str, url: str, policy: FetchPolicy) -> RobotFileParser:
    scheme, host, port, _ = _split(url)
    netloc = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    robots_url = urlunsplit((scheme, netloc if port == default_port else f"{netloc}:{port}", "/robots.txt", "", ""))
    parser = RobotFileParser(robots_url)
    try:
        result = fetch(robots_url, policy, max_bytes=ROBOTS_MAX_BYTES)
    except HTTPStatusError as exc:
        allowed = 400 <= exc.status < 500  # no robots.txt (or forbidden) means no rules; 5xx means keep out
        logger.info("robots.txt for %s: HTTP %d, %s", key, exc.status, "all allowed" if allowed else "all disallowed")
        parser.parse([] if allowed else ["User-agent: *", "Disallow: /"])
        return parser
    except ResponseTooLarge:
        parser.parse([])  # crawlers read only the first ~500 KiB; an oversized file is no ban
        return parser
    parser.parse(result.text().splitlines())
    return parser


def check_robots(url: str, policy: FetchPolicy, cache: RobotsCache | None = None) -> None:
    """Raise ``RobotsDisallowed`` when robots.txt forbids ``url``."""
    if not robots_allowed(url, policy, cache):
        raise RobotsDisallowed(url, "disallowed by robots.txt")
