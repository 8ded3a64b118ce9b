"""Read answers that depend on the data alone, serialised once per data version.

The bodies go out through ``tracker.web.bodies`` (gzipped, revalidated by ETag).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, jsonify

from tracker.web import read_session
from tracker.web.bodies import make_body, send_body
from tracker.web.cache import LRU, data_version

#: Serialised (and gzipped) timeline documents, ~1 MB at 1M statements, per (narrative, data version).
timeline_bodies = LRU(64)
#: Other read answers that depend on the data alone (narrative listings and details), per data version.
read_bodies = LRU(512)


def cached_json(key: Hashable, make: Callable[[], Any]) -> Response:
    """A read answer that depends on the data alone, built once per data version, sent by ``send_body``.

    Call it after checking the arguments and before any read: ``data_version`` restarts the
    request's reading snapshot. An error raised by ``make`` (e.g. 404) is raised, never cached.
    """
    version = data_version(read_session())
    body = read_bodies.get((key, version), lambda: make_body(jsonify(make()).get_data()))
    return send_body(body, "application/json")
