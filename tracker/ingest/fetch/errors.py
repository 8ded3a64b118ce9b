"""The failures ``fetch`` raises: one ``FetchError`` family, so callers can catch every network failure at once."""

from __future__ import annotations


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
