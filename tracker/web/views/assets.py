"""Static assets under fingerprinted names (``tracker.web.assets``), and the favicon browsers ask for."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from tracker.web.assets import YEAR
from tracker.web.auth import access
from tracker.web.bodies import send_body
from tracker.web.context import state

bp = Blueprint("assets", __name__)

IMMUTABLE = f"public, max-age={YEAR}, immutable"
REVALIDATE = "public, no-cache"


@bp.get("/assets/<path:name>")
@access("public")
def asset(name: str) -> Response:
    """A fingerprinted name is kept by browsers for a year; a plain or stale one is revalidated each time."""
    found = state().assets.find(name)
    if found is None:
        abort(404)
    item, current = found
    return send_body(item.body(), item.mimetype, cache_control=IMMUTABLE if current else REVALIDATE)


@bp.get("/favicon.ico")
@access("public")
def favicon() -> Response:
    """What browsers and feed readers ask for without reading the page's icon link."""
    return asset("favicon.svg")
