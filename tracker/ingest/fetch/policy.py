"""What one kind of fetch may do (``FetchPolicy``) and what it brings back (``FetchResult``).

Also the defaults a policy starts from: size caps, the user agent, the system resolver and the
process-wide per-host throttle.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tracker.ingest.charset import decode_body

FEED_MAX_BYTES = 15 * 1024 * 1024  # 15 MiB
PAGE_MAX_BYTES = 20_000_000  # 20 MB
USER_AGENT = "narrative-tracker/0.1 (+https://example.org/tracker)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
          "text/html;q=0.8, */*;q=0.5")

Resolver = Callable[[str, int], list[str]]


class HostThrottle:
    """Spaces requests to one host by at least ``delay`` seconds, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, host: str, delay: float, *, limit: float | None = None) -> float:
        """Sleep until ``host`` may be asked again; returns the seconds slept.

        ``limit`` is the most the caller can afford to wait; a longer wait raises ``TimeoutError``
        without reserving the slot.
        """
        if delay <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            pause = start - now
            if limit is not None and pause > limit:
                raise TimeoutError(f"next request to {host} allowed in {pause:.1f} s")
            self._next[host] = start + delay
        if pause > 0:
            time.sleep(pause)
        return pause


DEFAULT_THROTTLE = HostThrottle()  # shared by every fetch in the process unless a policy brings its own


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in seen:
            seen.append(addr)
    return seen


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and manners for one kind of fetch; defaults follow RELIABILITY.md."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # longest wait for the next bytes
    total_timeout: float = 30.0  # the whole fetch, redirects included
    max_redirects: int = 3
    max_bytes: int = PAGE_MAX_BYTES  # after decompression
    user_agent: str = USER_AGENT
    allow_hosts: frozenset[str] = frozenset()  # host names, addresses or networks exempt from the SSRF guard
    min_host_delay: float = 1.0
    accept: str = ACCEPT
    resolver: Resolver = system_resolver
    throttle: HostThrottle = field(default=DEFAULT_THROTTLE, compare=False, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        hosts: object = self.allow_hosts
        if isinstance(hosts, (list, set, tuple)):  # accept any collection from config
            object.__setattr__(self, "allow_hosts", frozenset(hosts))


@dataclass(frozen=True)
class FetchResult:
    status: int
    url: str  # after redirects
    headers: dict[str, str]  # lower-case names
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    retry_after: float | None = None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def text(self) -> str:
        """The body decoded (BOM, HTTP charset, declaration, UTF-8, detection)."""
        return decode_body(self.body, self.content_type)[0]
