"""The one HTTP client against a real loopback server: deadlines, caps, redirects, SSRF, robots, politeness."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.httpfixture import FixtureServer, elapsed, self_signed
from tracker.ingest import fetch as net
from tracker.ingest.fetch import (
    BadScheme,
    BadURL,
    BlockedAddress,
    ConnectionFailed,
    FetchPolicy,
    FetchTimeout,
    HostThrottle,
    HTTPStatusError,
    ResponseTooLarge,
    RobotsCache,
    RobotsDisallowed,
    TooManyRedirects,
    blocked_reason,
    check_robots,
    check_url,
    fetch,
    parse_retry_after,
    robots_allowed,
)

LOOPBACK = frozenset({"127.0.0.1"})


def policy(**overrides: object) -> FetchPolicy:
    """Short deadlines so hostile routes fail fast; loopback allowed because the server lives there."""
    values: dict[str, object] = {"connect_timeout": 1.0, "read_timeout": 1.0, "total_timeout": 2.0,
                                 "allow_hosts": LOOPBACK, "min_host_delay": 0.0, "throttle": HostThrottle()}
    values.update(overrides)
    return FetchPolicy(**values)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as srv:
        yield srv


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Fail any attempt to open a socket: the guard must refuse before connecting."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(net.connection.socket, "create_connection", refuse)
    return attempts


# ---------------------------------------------------------------- ordinary fetching


def test_fetch_returns_body_status_and_headers(server: FixtureServer) -> None:
    server.serve_file("/feed.xml", "rss_state_media.xml", "application/rss+xml; charset=utf-8")
    result = fetch(server.url("/feed.xml"), policy())
    assert result.status == 200
    assert b"Northern Courier" in result.body
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.url == server.url("/feed.xml")
    assert not result.not_modified


def test_request_identifies_itself_and_offers_compression(server: FixtureServer) -> None:
    sent = json.loads(fetch(server.url("/echo"), policy(user_agent="narrative-tracker/0.1 (+test)")).body)
    assert sent["User-Agent"] == "narrative-tracker/0.1 (+test)"
    assert "gzip" in sent["Accept-Encoding"]
    assert sent["Host"] == f"127.0.0.1:{server.port}"


def test_default_policy_matches_the_reliability_limits() -> None:
    p = FetchPolicy()
    assert (p.connect_timeout, p.read_timeout, p.total_timeout, p.max_redirects) == (5.0, 10.0, 30.0, 3)
    assert net.FEED_MAX_BYTES == 15 * 1024 * 1024 and net.PAGE_MAX_BYTES == 20_000_000
    assert p.user_agent == "narrative-tracker/0.1 (+https://example.org/tracker)"
    assert p.allow_hosts == frozenset()


def test_gzip_body_is_decompressed(server: FixtureServer) -> None:
    server.serve_bytes("/z", b"hello " * 1000, "text/plain", gzipped=True)
    assert fetch(server.url("/z"), policy()).body == b"hello " * 1000


def test_raw_deflate_body_is_decompressed(server: FixtureServer) -> None:
    import zlib

    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = comp.compress(b"deflated text " * 50) + comp.flush()
    server.serve_bytes("/d", raw, "text/plain", {"Content-Encoding": "deflate"})
    assert fetch(server.url("/d"), policy()).body == b"deflated text " * 50


def test_etag_gives_not_modified_and_empty_body(server: FixtureServer) -> None:
    first = fetch(server.url("/conditional"), policy())
    assert first.etag == '"v1"' and first.body == b"fresh body"
    second = fetch(server.url("/conditional"), policy(), etag=first.etag)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert server.requests[-1][1]["if-none-match"] == '"v1"'


def test_last_modified_is_sent_as_if_modified_since(server: FixtureServer) -> None:
    first = fetch(server.url("/conditional"), policy())
    second = fetch(server.url("/conditional"), policy(), last_modified=first.last_modified)
    assert second.not_modified
    assert second.last_modified == "Wed, 03 Mar 2021 10:00:00 GMT"


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_status_raises_with_the_code(server: FixtureServer, code: int) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url(f"/status/{code}"), policy())
    assert info.value.status == code
    assert str(code) in str(info.value)


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_parsed_on_429_and_503(server: FixtureServer, code: int) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url(f"/status/{code}"), policy())
    assert info.value.retry_after == 120.0


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2021, 3, 3, 10, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 03 Mar 2021 10:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("soon") is None


def test_redirect_is_followed_and_final_url_reported(server: FixtureServer) -> None:
    server.serve_bytes("/target", b"arrived", "text/plain")
    result = fetch(server.url("/redirect?to=/target&code=301"), policy())
    assert result.body == b"arrived"
    assert result.url == server.url("/target")


def test_slow_dns_is_bounded_by_the_connect_timeout(no_connections: list[tuple[str, int]]) -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(3)
        return ["93.184.216.34"]

    seconds, outcome = elapsed(lambda: fetch("http://slow-dns.example.test/", policy(connect_timeout=0.3, resolver=slow)))
    assert isinstance(outcome, FetchTimeout) and "resolving" in str(outcome)
    assert seconds < 0.3 + 1


def test_unresolvable_host_is_a_connection_failure() -> None:
    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(ConnectionFailed):
        fetch("http://no-such-host.example.test/", policy(resolver=nxdomain))


def test_connection_refused_is_a_connection_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the fetch: nothing listens there
    with pytest.raises(ConnectionFailed):
        fetch(f"http://127.0.0.1:{port}/", policy())


# ---------------------------------------------------------------- hostile servers, bounded time


def test_redirect_loop_stops_after_max_redirects(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/loop"), policy()))
    assert isinstance(outcome, TooManyRedirects)
    assert server.hits("/loop") == 4  # the first request and three redirects
    assert seconds < 2.0 + 1


def test_trickled_body_aborts_at_total_deadline(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/trickle"), policy(total_timeout=1.5)))
    assert isinstance(outcome, FetchTimeout), outcome
    assert "total deadline" in str(outcome)
    assert 1.4 < seconds < 1.5 + 1


def test_trickled_headers_abort_at_total_deadline(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/trickle-headers"), policy(total_timeout=1.5)))
    assert isinstance(outcome, FetchTimeout), outcome
    assert seconds < 1.5 + 1


def test_silent_server_hits_idle_read_timeout(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/stall"), policy(read_timeout=0.5, total_timeout=5)))
    assert isinstance(outcome, FetchTimeout), outcome
    assert "idle read timeout" in str(outcome)
    assert seconds < 0.5 + 1


def test_gzip_bomb_aborts_at_the_decompressed_cap(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/gzip-bomb"), policy(), max_bytes=1 << 20))
    assert isinstance(outcome, ResponseTooLarge), outcome
    assert "after decompression" in str(outcome)
    assert seconds < 2.0 + 1


def test_gigabyte_stream_aborts_at_the_cap(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/huge"), policy(max_bytes=2 << 20)))
    assert isinstance(outcome, ResponseTooLarge), outcome
    assert seconds < 2.0 + 1


def test_declared_oversize_length_is_refused_before_reading(server: FixtureServer) -> None:
    seconds, outcome = elapsed(lambda: fetch(server.url("/huge-declared"), policy(max_bytes=1 << 20)))
    assert isinstance(outcome, ResponseTooLarge)
    assert "Content-Length" in str(outcome)
    assert seconds < 1.0


def test_body_at_exactly_the_cap_is_accepted(server: FixtureServer) -> None:
    server.serve_bytes("/exact", b"a" * 5000, "text/plain", gzipped=True)
    assert len(fetch(server.url("/exact"), policy(), max_bytes=5000).body) == 5000
    with pytest.raises(ResponseTooLarge):
        fetch(server.url("/exact"), policy(), max_bytes=4999)


# ---------------------------------------------------------------- SSRF guard


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://0.0.0.0/", "http://[::1]/", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://172.31.255.254/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://2130706433/",
    "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/", "http://localhost/", "http://224.0.0.1/",
    "http://[fc00::1]/", "http://[::]/", "http://240.0.0.1/", "http://[2002:7f00:1::]/", "http://[64:ff9b::a00:1]/",
    "http://192.0.0.192/", "http://100.100.100.200/", "https://127.0.0.1:8443/",
])
def test_ssrf_guard_refuses_internal_addresses(url: str, no_connections: list[tuple[str, int]]) -> None:
    with pytest.raises(BlockedAddress):
        fetch(url, policy(allow_hosts=frozenset()))
    assert no_connections == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.org/x",
                                 "javascript:alert(1)", "data:text/plain,hi", "//example.org/"])
def test_only_http_and_https_schemes_are_fetched(url: str, no_connections: list[tuple[str, int]]) -> None:
    with pytest.raises(BadScheme):
        fetch(url, policy())
    assert no_connections == []


def test_url_without_host_is_refused() -> None:
    with pytest.raises(BadURL):
        fetch("http:///path", policy())


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"])
def test_public_addresses_pass_the_guard(address: str) -> None:
    assert blocked_reason(address) is None


@pytest.mark.parametrize("target", ["http://10.0.0.1/feed", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]/", "http://2130706433/", "file:///etc/passwd"])
def test_redirect_from_allowed_host_to_blocked_one_is_refused(server: FixtureServer, target: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.create_connection
    attempts: list[tuple[str, int]] = []

    def only_loopback(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        assert address[0] == "127.0.0.1", f"connected to {address}"
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(net.connection.socket, "create_connection", only_loopback)
    with pytest.raises((BlockedAddress, BadScheme)):
        fetch(server.url(f"/redirect?to={target}"), policy())
    assert [a[0] for a in attempts] == ["127.0.0.1"]


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/echo", "http://localhost:{port}/echo",
                                    "http://[::ffff:127.0.0.1]:{port}/echo"])
def test_redirect_to_loopback_is_refused(server: FixtureServer, target: str) -> None:
    # Only the first hop's name is allowed (it resolves to the server); the loopback hop is not.
    p = policy(allow_hosts=frozenset({"feeds.example.test"}),
               resolver=lambda host, port: ["127.0.0.1"] if host == "feeds.example.test" else net.system_resolver(host, port))
    hop = target.format(port=server.port)
    with pytest.raises(BlockedAddress):
        fetch(f"http://feeds.example.test:{server.port}/redirect?to={hop}", p)
    assert server.hits("/redirect") == 1 and server.hits("/echo") == 0


def test_name_resolving_to_private_address_is_refused(no_connections: list[tuple[str, int]]) -> None:
    p = policy(allow_hosts=frozenset(), resolver=lambda host, port: ["192.168.0.10"])
    with pytest.raises(BlockedAddress) as info:
        fetch("https://intranet.example.test/", p)
    assert "192.168.0.10" in str(info.value)


def test_public_answer_is_chosen_over_private_ones() -> None:
    p = policy(allow_hosts=frozenset(), resolver=lambda host, port: ["10.0.0.7", "93.184.216.34"])
    assert check_url("https://mixed.example.test/a?b=c", p).address == "93.184.216.34"


def test_connection_goes_to_the_checked_address_with_the_original_host(server: FixtureServer) -> None:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]  # a rebinding resolver would answer differently on a second call

    url = f"http://feeds.example.test:{server.port}/echo"
    sent = json.loads(fetch(url, policy(resolver=resolver)).body)
    assert sent["Host"] == f"feeds.example.test:{server.port}"
    assert calls == ["feeds.example.test"]  # resolved once; the connection used that answer


def test_allowlist_can_name_a_host(server: FixtureServer) -> None:
    p = policy(allow_hosts=frozenset({"feeds.intranet.test"}), resolver=lambda host, port: ["127.0.0.1"])
    assert fetch(f"http://feeds.intranet.test:{server.port}/echo", p).status == 200
    with pytest.raises(BlockedAddress):
        fetch(f"http://other.intranet.test:{server.port}/echo", p)


# ---------------------------------------------------------------- robots.txt and politeness


def test_robots_disallowed_path_is_refused(server: FixtureServer) -> None:
    server.robots = (200, "User-agent: *\nDisallow: /private/\n")
    cache = RobotsCache()
    assert robots_allowed(server.url("/public/page"), policy(), cache)
    assert not robots_allowed(server.url("/private/page"), policy(), cache)
    with pytest.raises(RobotsDisallowed):
        check_robots(server.url("/private/page"), policy(), cache)


def test_robots_rules_for_our_agent_apply(server: FixtureServer) -> None:
    server.robots = (200, "User-agent: narrative-tracker\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    assert not robots_allowed(server.url("/news"), policy(), RobotsCache())


def test_missing_robots_allows_everything(server: FixtureServer) -> None:
    server.robots = (404, "")
    assert robots_allowed(server.url("/anything"), policy(), RobotsCache())


def test_robots_server_error_disallows_everything(server: FixtureServer) -> None:
    server.robots = (500, "")
    assert not robots_allowed(server.url("/anything"), policy(), RobotsCache())


def test_robots_is_fetched_once_per_host(server: FixtureServer) -> None:
    server.robots = (200, "User-agent: *\nDisallow: /x\n")
    cache = RobotsCache()
    for path in ("/a", "/b", "/x", "/c"):
        robots_allowed(server.url(path), policy(), cache)
    assert server.hits("/robots.txt") == 1


def test_min_host_delay_spaces_requests_to_one_host(server: FixtureServer) -> None:
    p = policy(min_host_delay=0.4)
    seconds, _ = elapsed(lambda: [fetch(server.url("/echo"), p) for _ in range(3)])
    assert seconds >= 0.8


def test_fetch_result_text_uses_the_http_charset(server: FixtureServer) -> None:
    server.serve_bytes("/ru", "Заявление министерства".encode("koi8-r"), "text/plain; charset=koi8-r")
    assert fetch(server.url("/ru"), policy()).text() == "Заявление министерства"



# ---------------------------------------------------------------- TLS to the pinned address


def test_https_connects_to_the_checked_address_and_verifies_the_original_name(tmp_path: Path) -> None:
    tls = self_signed(tmp_path, "feeds.example.test")
    if tls is None:
        pytest.skip("the openssl command is not installed; it makes the throw-away certificate")
    context = ssl.create_default_context(cafile=str(tls[0]))
    p = policy(ssl_context=context, resolver=lambda host, port: ["127.0.0.1"])
    with FixtureServer(tls=tls) as server:
        sent = json.loads(fetch(f"https://feeds.example.test:{server.port}/echo", p).body)
        assert sent["Host"] == f"feeds.example.test:{server.port}"
        with pytest.raises(ConnectionFailed) as info:  # same address, but the certificate names another host
            fetch(f"https://other.example.test:{server.port}/echo", p)
        assert "certificate" in str(info.value).lower()
