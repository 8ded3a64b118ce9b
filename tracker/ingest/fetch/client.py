"""``fetch`` itself: one GET under a policy, following redirects with the guard re-checked per hop.

Conditional GET (ETag, Last-Modified), Retry-After and the per-host politeness delay live here;
every failure comes out as a ``FetchError`` subclass.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import ssl
from datetime import UTC, datetime
from urllib.parse import urljoin

from tracker.ingest.fetch.body import _read_body
from tracker.ingest.fetch.connection import _Deadline, _PinnedHTTPConnection, _PinnedHTTPSConnection
from tracker.ingest.fetch.errors import (
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from tracker.ingest.fetch.guard import _Target, check_url
from tracker.ingest.fetch.policy import FetchPolicy, FetchResult

logger = logging.getLogger(__name__)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


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
