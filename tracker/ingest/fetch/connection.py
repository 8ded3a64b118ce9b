"""Connections that honour the deadlines: pinned to the checked address, cut off by a watchdog.

A connect timeout and an idle-read timeout live on the socket; the total deadline is a timer that
shuts the socket down, so a server trickling one byte a second is cut off on time.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time

from tracker.ingest.fetch.errors import FetchTimeout
from tracker.ingest.fetch.guard import _Target
from tracker.ingest.fetch.policy import FetchPolicy


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
