"""Large read-only response bodies built once per data version, then sent gzipped and revalidated by ETag.

Why: at 1M statements a narrative holds thousands of statements and its timeline document is about a
megabyte of JSON. Building it once per data version was not enough: copying a megabyte through the
WSGI server for every request capped a 2-core machine at a few hundred requests per second. The
gzipped copy (about a sixth of the size) is made once, next to the raw bytes, and a client that
already holds the current version gets a bodiless 304.

Only JSON data and static assets go through here. HTML pages are not compressed: they carry CSRF tokens next to
text reflected from the query string, the mix that compression side channels (BREACH) exploit.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from flask import Response, request

MIN_GZIP_BYTES = 1024  # below this, gzip's header and the client's work cost more than they save


@dataclass(frozen=True)
class Body:
    raw: bytes
    gzipped: bytes | None  # None where compressing did not pay
    etag: str  # of the raw bytes; the gzipped variant carries it with a "-gz" suffix


def make_body(raw: bytes, *, level: int = 6) -> Body:
    """Fingerprint and compress ``raw`` once; the result is what caches keep."""
    etag = hashlib.blake2b(raw, digest_size=12).hexdigest()
    gz = gzip.compress(raw, compresslevel=level, mtime=0) if len(raw) >= MIN_GZIP_BYTES else None
    return Body(raw, gz if gz is not None and len(gz) < len(raw) else None, etag)


PRIVATE = "private, no-cache"


def send_body(body: Body, mimetype: str, headers: dict[str, str] | None = None, *,
              cache_control: str = PRIVATE) -> Response:
    """The body in the encoding the client accepts, answered with 304 when its ETag still matches.

    Data goes out with ``Cache-Control: private, no-cache``: browsers keep the copy but ask each time
    (a reader may lose access, and the data changes with every commit); shared caches keep nothing.
    Static assets pass their own (``tracker.web.assets``).
    """
    use_gzip = body.gzipped is not None and request.accept_encodings["gzip"] > 0
    data = body.gzipped if use_gzip and body.gzipped is not None else body.raw
    response = Response(data, mimetype=mimetype, headers=headers)
    response.set_etag(body.etag + ("-gz" if use_gzip else ""))
    response.headers["Cache-Control"] = cache_control
    response.vary.add("Accept-Encoding")
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.make_conditional(request)  # a 304 without body when the client's ETag still matches
    return response
