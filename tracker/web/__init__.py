"""The Flask application factory: dashboard pages and the JSON API over the same workspace.

No app object exists at import time; ``create_app(config)`` builds one, keeps its workspace, caches
and vector indexes in ``app.extensions["tracker"]`` (``tracker.web.context``) and opens one reading
session per request, lazily.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, g

from tracker.config import Config, load_config

if TYPE_CHECKING:
    from tracker.db import Database
    from tracker.embed import Embedder

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

#: Dashboard areas, one blueprint module each under tracker/web/views/.
VIEW_MODULES = ("pages", "statements", "actors", "tagging", "manage", "admin", "assets")


def _secret_key(cfg: Config) -> str:
    if cfg.web.secret_key:
        return cfg.web.secret_key
    path = cfg.data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def create_app(config: Config | None = None, *, db: Database | None = None, embedder: Embedder | None = None
               ) -> Flask:
    """The dashboard and API over ``config``'s database (or ``db``), with ``embedder`` for semantic search
    and seeding (default: the configured model, loaded on first use)."""
    from tracker.service import Workspace
    from tracker.web import api, auth, errors, filters
    from tracker.web.context import TrackerState
    from tracker.web.requests import RequestJSON

    config = config or load_config()
    app = Flask(__name__, static_folder=str(Path(__file__).parent / "static"),
                template_folder=str(Path(__file__).parent / "templates"))
    app.config.update(
        SECRET_KEY=_secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.auth.secure_cookies,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.json = RequestJSON(app)
    app.extensions["tracker"] = TrackerState(Workspace.open(config, db=db, embedder=embedder))
    filters.register(app)
    for blueprint in view_blueprints():
        app.register_blueprint(blueprint)
    errors.register(app)
    app.register_blueprint(api.bp)
    auth.init_app(app, exempt=[api.bp])  # login pages, the deny-by-default gate, CSRF on forms
    app.teardown_appcontext(_close_session)
    app.after_request(_security_headers)
    if config.web.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.web.proxy_hops  # the client's address and scheme as the proxies in front saw them
        setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops))  # noqa: B010 - mypy: no method assignment
    return app


def view_blueprints() -> list[Blueprint]:
    return [importlib.import_module(f"tracker.web.views.{name}").bp for name in VIEW_MODULES]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


HSTS = "max-age=31536000"
PRIVATE_TYPES = ("text/html", "application/json", "text/csv")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.extensions["tracker"].config.auth.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if g.get("user") is not None and response.mimetype in PRIVATE_TYPES:
        # What a signed-in reader sees stays out of every cache, the browser's disk included (a shared
        # computer, a back button after logout); public assets keep their own headers.
        response.headers["Cache-Control"] = "no-store"
    return response
