"""Reading a response body under a size cap, counted after incremental gzip/deflate decompression.

Decompression never runs more than one byte past the cap, so a gzip bomb stops early.
"""

from __future__ import annotations

import http.client
import zlib
from typing import Any

from tracker.ingest.fetch.connection import _Deadline
from tracker.ingest.fetch.errors import ConnectionFailed, ResponseTooLarge

_CHUNK = 64 * 1024


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
