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

The package is split by job: ``errors`` (the ``FetchError`` family), ``policy`` (limits, defaults
and the result), ``guard`` (the SSRF guard), ``connection`` (pinned connections and the total
deadline), ``body`` (capped, incremental decompression), ``client`` (``fetch``) and ``robots``.
Import from the package itself; the names below are its public face.
"""

from tracker.ingest.fetch.client import REDIRECT_CODES, fetch, parse_retry_after
from tracker.ingest.fetch.errors import (
    BadScheme,
    BadURL,
    BlockedAddress,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    RobotsDisallowed,
    TooManyRedirects,
)
from tracker.ingest.fetch.guard import METADATA_ADDRESSES, blocked_reason, check_url
from tracker.ingest.fetch.policy import (
    ACCEPT,
    DEFAULT_THROTTLE,
    FEED_MAX_BYTES,
    PAGE_MAX_BYTES,
    USER_AGENT,
    FetchPolicy,
    FetchResult,
    HostThrottle,
    Resolver,
    system_resolver,
)
from tracker.ingest.fetch.robots import (
    DEFAULT_ROBOTS_CACHE,
    ROBOTS_MAX_BYTES,
    RobotsCache,
    check_robots,
    robots_allowed,
)

__all__ = [
    "ACCEPT",
    "DEFAULT_ROBOTS_CACHE",
    "DEFAULT_THROTTLE",
    "FEED_MAX_BYTES",
    "METADATA_ADDRESSES",
    "PAGE_MAX_BYTES",
    "REDIRECT_CODES",
    "ROBOTS_MAX_BYTES",
    "USER_AGENT",
    "BadScheme",
    "BadURL",
    "BlockedAddress",
    "ConnectionFailed",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "FetchTimeout",
    "HTTPStatusError",
    "HostThrottle",
    "Resolver",
    "ResponseTooLarge",
    "RobotsCache",
    "RobotsDisallowed",
    "TooManyRedirects",
    "blocked_reason",
    "check_robots",
    "check_url",
    "fetch",
    "parse_retry_after",
    "robots_allowed",
    "system_resolver",
]
