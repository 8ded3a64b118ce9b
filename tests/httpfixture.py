"""A real HTTP server on 127.0.0.1, in a thread, serving fixture files and hostile responses.

Ingestion tests talk to it through the real client (``tracker.ingest.fetch``), so timeouts, caps,
redirects and decompression are exercised on real sockets. Hostile routes:

    /trickle          headers, then one body byte every ``trickle_interval`` seconds, forever
    /trickle-headers  the status line and headers themselves one byte at a time
    /stall            headers, then silence (idle read timeout)
    /huge             a 1 GB body without Content-Length;  /huge-declared  with Content-Length: 1 GB
    /gzip-bomb        256 MiB of zeros gzipped to ~260 KB
    /loop             redirects to itself forever;  /redirect?to=URL  redirects anywhere
    /status/<code>    that status (429 and 503 carry Retry-After: 120)
    /conditional      ETag "v1" and Last-Modified; answers 304 to a matching validator
    /echo             the request headers as JSON
    /robots.txt       ``server.robots`` = (status, text)

Every request is recorded in ``server.requests`` as (path, headers).
"""

from __future__ import annotations

import gzip
import json
import shutil
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
GB = 1_000_000_000
_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """256 MiB of zeros as one gzip stream (built once per process, ~0.5 s)."""
    if not _BOMB:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        _BOMB.append(b"".join(comp.compress(zeros) for _ in range(256)) + comp.flush())
    return _BOMB[0]


def self_signed(directory: Path, name: str) -> tuple[Path, Path] | None:
    """A throw-away certificate for ``name`` made with the openssl CLI; None when openssl is missing."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"], check=True, capture_output=True, timeout=30)
    return cert, key


Route = Callable[["_Handler"], None]


class FixtureServer:
    """Start with ``with FixtureServer() as server:``; ``server.url("/path")`` is the full URL."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        """``tls`` = (certificate, key) serves HTTPS instead of HTTP."""
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.robots: tuple[int, str] = (404, "")
        self.trickle_interval = 0.25
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fixture = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FixtureServer:
        gzip_bomb()  # built before any client waits: under load its ~0.5 s could exceed a 1 s read timeout
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def serve_file(self, path: str, name: str, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Serve ``tests/fixtures/web/<name>`` at ``path``."""
        self.serve_bytes(path, (FIXTURES / name).read_bytes(), content_type, headers)

    def serve_bytes(self, path: str, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                    *, gzipped: bool = False) -> None:
        payload = gzip.compress(body) if gzipped else body
        extra = dict(headers or {})
        if gzipped:
            extra["Content-Encoding"] = "gzip"

        def route(h: _Handler) -> None:
            h.send(200, payload, content_type, extra)

        self.routes[path] = route

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if urlsplit(p).path == path)


class _Handler(BaseHTTPRequestHandler):
    server_version = "fixture/1"

    @property
    def fixture(self) -> FixtureServer:
        return self.server.fixture  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def send(self, status: int, body: bytes, content_type: str = "text/plain",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.fixture.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        parts = urlsplit(self.path)
        route = self.fixture.routes.get(parts.path)
        try:
            if route is not None:
                route(self)
            elif parts.path == "/robots.txt":
                status, text = self.fixture.robots
                self.send(status, text.encode(), "text/plain")
            elif parts.path.startswith("/status/"):
                self._status(int(parts.path.rsplit("/", 1)[1]))
            else:
                handler = getattr(self, "_route_" + parts.path.strip("/").replace("-", "_"), None)
                if handler is None:
                    self.send(404, b"not found")
                else:
                    handler(parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client gave up, which is what most hostile routes are for

    # ---------------------------------------------------------------- routes

    def _status(self, code: int) -> None:
        headers = {"Retry-After": "120"} if code in (429, 503) else {}
        self.send(code, f"status {code}".encode(), "text/plain", headers)

    def _route_echo(self, query: dict[str, list[str]]) -> None:
        self.send(200, json.dumps(dict(self.headers.items())).encode(), "application/json")

    def _route_conditional(self, query: dict[str, list[str]]) -> None:
        etag, modified = '"v1"', "Wed, 03 Mar 2021 10:00:00 GMT"
        if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == modified:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send(200, b"fresh body", "text/plain", {"ETag": etag, "Last-Modified": modified})

    def _route_loop(self, query: dict[str, list[str]]) -> None:
        n = int(query.get("n", ["0"])[0])
        self.send(302, b"", "text/plain", {"Location": f"/loop?n={n + 1}"})

    def _route_redirect(self, query: dict[str, list[str]]) -> None:
        self.send(int(query.get("code", ["302"])[0]), b"", "text/plain", {"Location": query["to"][0]})

    def _route_gzip_bomb(self, query: dict[str, list[str]]) -> None:
        self.send(200, gzip_bomb(), "application/rss+xml", {"Content-Encoding": "gzip"})

    def _stream(self, total: int, declared: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declared:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        chunk = b"a" * 65536
        sent = 0
        while sent < total and not self.fixture.stopping.is_set():
            self.wfile.write(chunk)
            sent += len(chunk)

    def _route_huge(self, query: dict[str, list[str]]) -> None:
        self._stream(GB, declared=False)

    def _route_huge_declared(self, query: dict[str, list[str]]) -> None:
        self._stream(GB, declared=True)

    def _route_trickle(self, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.flush()
        while not self.fixture.stopping.wait(self.fixture.trickle_interval):
            self.wfile.write(b"x")
            self.wfile.flush()

    def _route_trickle_headers(self, query: dict[str, list[str]]) -> None:
        head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n" + b"X-Padding: " + b"y" * 100000
        for byte in head:
            if self.fixture.stopping.wait(self.fixture.trickle_interval):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def _route_stall(self, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.flush()
        self.fixture.stopping.wait(60)


def elapsed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result or the exception raised) of calling ``fn``."""
    start = time.monotonic()
    try:
        result: object = fn()
    except Exception as exc:  # noqa: BLE001 - the caller asserts on what came back
        result = exc
    return time.monotonic() - start, result
