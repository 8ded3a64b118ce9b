"""Read answers that depend on the data alone, serialised once per data version.

The bodies go out through ``tracker.web.bodies`` (gzipped, revalidated by ETag); the app keeps them
(``WebCaches.read_bodies``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, jsonify

from tracker.web.bodies import Body, make_body, send_body
from tracker.web.context import data_version, read_session, state


def cached_json(key: Hashable, make: Callable[[], Any]) -> Response:
    """A read answer that depends on the data alone, built once per data version, sent by ``send_body``.

    Call it after checking the arguments and before any read: ``data_version`` restarts the
    request's reading snapshot. An error raised by ``make`` (e.g. 404) is raised, never cached.
    """
    version = data_version(read_session())
    body: Body = state().caches.read_bodies.get((key, version), lambda: make_body(jsonify(make()).get_data()))
    return send_body(body, "application/json")
