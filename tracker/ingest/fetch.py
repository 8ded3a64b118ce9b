"""The one HTTP client: every byte the tracker reads from the network comes through ``fetch``.

Sources are added by users and the servers behind them are untrusted, so this client enforces
what a polite, paranoid crawler must (see RELIABILITY.md items 3-5):

* only http/https; the host is resolved here, every address is checked against private,
  loopback, link-local, CGNAT, multicast, reserved and metadata ranges, and the connection goes to
  the very address that was checked (with the original Host header and TLS name), so a DNS answer
  that changes between check and connect cannot slip through; redirects are re-checked per hop;
  ``FetchPolicy.allow_hosts`` is the explicit override;
* a connect timeout, an idle-read timeout and a total deadline enforced by a watchdog that shuts
  the socket down, so a server trickling one byte a second is cut off on time;
* a body cap counted after incremental gzip/deflate decompression, so a gzip bomb stops early;
* conditional GET, Retry-After, a minimum delay per host, robots.txt through this same client.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from tracker.ingest.charset import decode_body

logger = logging.getLogger(__name__)

FEED_MAX_BYTES = 15 * 1024 * 1024  # 15 MiB
PAGE_MAX_BYTES = 20_000_000  # 20 MB
ROBOTS_MAX_BYTES = 512 * 1024
USER_AGENT = "narrative-tracker/0.1 (+https://example.org/tracker)"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
          "text/html;q=0.8, */*;q=0.5")
_CHUNK = 64 * 1024
_ROBOTS_TTL = 24 * 3600.0

# Cloud metadata endpoints; most also fall in a blocked range, listed so the intent is explicit.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_PART = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_CANONICAL_V4_PART = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")

Resolver = Callable[[str, int], list[str]]


# ---------------------------------------------------------------- errors


class FetchError(Exception):
    """A fetch failed; ``reason`` says why in words a researcher can act on."""

    retry_after: float | None = None

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BadURL(FetchError):
    """The URL cannot be fetched as written (no host, bad port, unencodable host)."""


class BadScheme(BadURL):
    """Only http and https are fetched; file:, gopher:, ftp: and friends are refused."""


class BlockedAddress(FetchError):
    """The host resolves to an address the SSRF guard refuses (private, loopback, metadata...)."""


class FetchTimeout(FetchError):
    """Connecting, waiting for bytes, or the whole fetch took too long."""


class ResponseTooLarge(FetchError):
    """The body (after decompression) passed the cap."""


class TooManyRedirects(FetchError):
    """More redirects than the policy allows (or a loop)."""


class ConnectionFailed(FetchError):
    """DNS failure, refused connection, TLS failure or a malformed HTTP response."""


class HTTPStatusError(FetchError):
    """The server answered with a 4xx or 5xx status."""

    def __init__(self, url: str, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(url, f"HTTP {status} {reason}".rstrip())
        self.status = status
        self.retry_after = retry_after


class RobotsDisallowed(FetchError):
    """robots.txt asks crawlers like us to stay away from this URL."""


# ---------------------------------------------------------------- policy and result


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
        if isinstance(self.allow_hosts, (list, set, tuple)):  # accept any collection from config
            object.__setattr__(self, "allow_hosts", frozenset(self.allow_hosts))


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


# ---------------------------------------------------------------- the SSRF guard


def blocked_reason(address: str) -> str | None:
    """Why an IP address may not be fetched, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"unparseable address {address!r}"
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 address"
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and blocked_reason(str(embedded)):
            return f"IPv6 address embedding {embedded}"
    checks = (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
              ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
              ("private", ip.is_private), ("reserved", ip.is_reserved))
    for name, hit in checks:
        if hit:
            return f"{name} address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("100.64.0.0/10"):
        return "carrier-grade NAT address"
    if not ip.is_global:
        return "non-global address"
    return None


def _odd_numeric_host(host: str) -> bool:
    """True for hosts like 2130706433, 0177.0.0.1, 0x7f.1 or 127.1 that resolvers expand to an IP."""
    parts = host.split(".")
    if not all(_NUMERIC_PART.match(p) for p in parts):
        return False
    canonical = len(parts) == 4 and all(_CANONICAL_V4_PART.match(p) and int(p) <= 255 for p in parts)
    return not canonical


def _allowed_by_list(host: str, address: str | None, allow: frozenset[str]) -> bool:
    if not allow:
        return False
    if host in allow:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    for entry in allow:
        try:
            if "/" in entry and ip in ipaddress.ip_network(entry, strict=False):
                return True
            if "/" not in entry and ip == ipaddress.ip_address(entry.strip("[]")):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # IDNA-encoded, lower case, no brackets
    port: int
    path: str  # path + query, percent-encoded
    address: str  # the checked IP we connect to


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise BadScheme(url, f"scheme {scheme or '(none)'!r} is not fetched; only http and https")
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise BadURL(url, f"unparseable URL: {exc}") from None
    if not host:
        raise BadURL(url, "no host in URL")
    if ":" not in host:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise BadURL(url, f"host {host!r} cannot be IDNA-encoded") from None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~-._?")
    return scheme, host, port, path


def check_url(url: str, policy: FetchPolicy) -> _Target:
    """Validate scheme and host and pick the address to connect to; raises before any connection."""
    scheme, host, port, path = _split(url)
    if _odd_numeric_host(host) and not _allowed_by_list(host, None, policy.allow_hosts):
        raise BlockedAddress(url, f"host {host!r} is an IP address in a non-canonical form")
    addresses = [host] if _is_ip(host) else _resolve(host, port, policy, url)
    if not addresses:
        raise ConnectionFailed(url, f"{host!r} resolves to no address")
    refused: list[str] = []
    for address in addresses:
        if _allowed_by_list(host, address, policy.allow_hosts):
            return _Target(url, scheme, host, port, path, address)
        reason = blocked_reason(address)
        if reason is None:
            return _Target(url, scheme, host, port, path, address)
        refused.append(f"{address} ({reason})")
    raise BlockedAddress(url, f"{host} resolves only to refused addresses: {', '.join(refused)}")


def _resolve(host: str, port: int, policy: FetchPolicy, url: str) -> list[str]:
    """The resolver's answer within the connect timeout (getaddrinfo itself has no timeout)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["addresses"] = policy.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(policy.connect_timeout)
    if worker.is_alive():
        raise FetchTimeout(url, f"resolving {host!r} took longer than the connect timeout "
                                f"({policy.connect_timeout:g} s)")
    if "error" in box:
        raise ConnectionFailed(url, f"cannot resolve {host!r}: {box['error']}")
    return list(box.get("addresses") or [])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- deadlines


class _Deadline:
    """The total deadline: a timer that shuts the current socket down when time is up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)

    def check(self, url: str) -> None:
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise FetchTimeout(url, f"total deadline of {self.seconds:g} s exceeded")

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        # The plain socket method, even on an SSLSocket: no TLS close_notify, just stop the reads.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the guard checked, not to whatever DNS says now."""

    def __init__(self, target: _Target, policy: FetchPolicy, deadline: _Deadline) -> None:
        super().__init__(target.host, target.port, timeout=policy.read_timeout)
        self._target, self._policy, self._deadline = target, policy, deadline
        self.connected = False

    def _open_socket(self) -> socket.socket:
        timeout = max(0.01, min(self._policy.connect_timeout, self._deadline.remaining()))
        sock = socket.create_connection((self._target.address, self._target.port), timeout=timeout)
        self._deadline.watch(sock)
        sock.settimeout(self._policy.read_timeout)
        self.connected = True
        return sock

    def connect(self) -> None:
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        raw = self._open_socket()
        context = self._policy.ssl_context or ssl.create_default_context()
        self.sock = context.wrap_socket(raw, server_hostname=self._target.host)
        self._deadline.watch(self.sock)


# ---------------------------------------------------------------- fetching


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def fetch(url: str, policy: FetchPolicy, etag: str | None = None, last_modified: str | None = None,
          max_bytes: int | None = None) -> FetchResult:
    """GET ``url`` under ``policy``; raises a ``FetchError`` subclass for every kind of failure."""
    cap = policy.max_bytes if max_bytes is None else max_bytes
    target = check_url(url, policy)
    _throttle(target, policy, limit=policy.total_timeout)
    deadline = _Deadline(policy.total_timeout)
    try:
        hops = 0
        while True:
            status, reason, headers, body = _request(target, policy, deadline, cap, etag, last_modified)
            if status not in REDIRECT_CODES or not headers.get("location"):
                return _result(target, status, reason, headers, body, etag, last_modified)
            if hops >= policy.max_redirects:
                raise TooManyRedirects(url, f"more than {policy.max_redirects} redirects (last: {target.url})")
            hops += 1
            nxt = urljoin(target.url, headers["location"])
            logger.debug("%s redirects (%d) to %s", target.url, status, nxt)
            target = check_url(nxt, policy)  # the guard again, before connecting anywhere
            _throttle(target, policy, limit=deadline.remaining(), url=url, deadline=deadline)
    finally:
        deadline.cancel()


def _throttle(target: _Target, policy: FetchPolicy, *, limit: float, url: str | None = None,
              deadline: _Deadline | None = None) -> None:
    try:
        policy.throttle.wait(target.host, policy.min_host_delay, limit=max(0.0, limit))
    except TimeoutError as exc:
        raise FetchTimeout(url or target.url, f"politeness delay would pass the deadline: {exc}") from None
    if deadline is not None:
        deadline.check(url or target.url)


def _result(target: _Target, status: int, reason: str, headers: dict[str, str], body: bytes,
            etag: str | None, last_modified: str | None) -> FetchResult:
    retry = parse_retry_after(headers.get("retry-after"))
    if status == 304:
        return FetchResult(status, target.url, headers, b"", headers.get("etag") or etag,
                           headers.get("last-modified") or last_modified, True, retry)
    if status >= 400 or status < 200:
        raise HTTPStatusError(target.url, status, reason, retry if status in (429, 503) else None)
    if status in REDIRECT_CODES:
        raise ConnectionFailed(target.url, f"HTTP {status} redirect without a Location header")
    return FetchResult(status, target.url, headers, body, headers.get("etag"), headers.get("last-modified"),
                       False, retry)


def _request(target: _Target, policy: FetchPolicy, deadline: _Deadline, cap: int, etag: str | None,
             last_modified: str | None) -> tuple[int, str, dict[str, str], bytes]:
    """One request/response on a fresh connection to the checked address."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, policy, deadline)
    url = target.url
    try:
        deadline.check(url)
        conn.putrequest("GET", target.path, skip_accept_encoding=True)
        for name, value in _request_headers(policy, etag, last_modified).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        status = response.status
        if status in REDIRECT_CODES or status == 304 or status >= 400:
            return status, response.reason, headers, b""  # bodies of these are never needed
        body = _read_body(response, headers, cap, deadline, url)
        return status, response.reason, headers, body
    except FetchError:
        raise
    except TimeoutError:
        deadline.check(url)
        raise FetchTimeout(url, f"no response within {_timeout_words(conn, policy)}") from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        deadline.check(url)  # a socket shut down by the watchdog surfaces as a reset or short read
        raise ConnectionFailed(url, f"{type(exc).__name__}: {exc}") from None
    finally:
        deadline.watch(None)
        conn.close()


def _timeout_words(conn: _PinnedHTTPConnection, policy: FetchPolicy) -> str:
    if not conn.connected:
        return f"the connect timeout ({policy.connect_timeout:g} s)"
    return f"the idle read timeout ({policy.read_timeout:g} s)"


def _request_headers(policy: FetchPolicy, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": policy.user_agent, "Accept": policy.accept,
               "Accept-Encoding": "gzip, deflate", "Connection": "close"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than the cap (+1 byte)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_fallback = encoding == "deflate"
        self._obj: Any = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "x-gzip", "deflate") \
            else None

    def feed(self, data: bytes, room: int) -> bytes:
        if self._obj is None:
            return data
        out = bytearray()
        pending = data
        while pending and len(out) <= room:
            try:
                out += self._obj.decompress(pending, room + 1 - len(out))
            except zlib.error:
                if not self._raw_fallback:
                    raise
                # "deflate" sent raw, without the zlib header (old IIS and friends).
                self._raw_fallback = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_fallback = False
            pending = self._obj.unconsumed_tail
        return bytes(out)


def _read_body(response: http.client.HTTPResponse, headers: dict[str, str], cap: int, deadline: _Deadline,
               url: str) -> bytes:
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise ConnectionFailed(url, f"unsupported Content-Encoding {encoding!r}")
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > cap + (1024 if encoding not in ("identity", "") else 0):
        raise ResponseTooLarge(url, f"Content-Length {int(length)} is over the cap of {cap} bytes")
    decoder = _Decoder(encoding)
    body = bytearray()
    while True:
        deadline.check(url)
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        try:
            body += decoder.feed(chunk, cap - len(body))
        except zlib.error as exc:
            raise ConnectionFailed(url, f"corrupt {encoding} body: {exc}") from None
        if len(body) > cap:
            raise ResponseTooLarge(url, f"body passed the cap of {cap} bytes"
                                   + (" after decompression" if encoding not in ("identity", "") else ""))
    deadline.check(url)
    return bytes(body)


# ---------------------------------------------------------------- robots.txt


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
