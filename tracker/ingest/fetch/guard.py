"""The SSRF guard: decides, before any connection, whether a URL may be fetched and at which address.

The host is resolved here and every address is checked against private, loopback, link-local,
CGNAT, multicast, reserved and metadata ranges; the chosen address travels on in ``_Target`` so the
connection goes to the very address that was checked.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from tracker.ingest.fetch.errors import BadScheme, BadURL, BlockedAddress, ConnectionFailed, FetchTimeout
from tracker.ingest.fetch.policy import FetchPolicy

# Cloud metadata endpoints; most also fall in a blocked range, listed so the intent is explicit.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_PART = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_CANONICAL_V4_PART = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")


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
