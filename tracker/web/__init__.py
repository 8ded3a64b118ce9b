"""The Flask application factory: dashboard pages and the JSON API over the same database.

No app object exists at import time; ``create_app(config)`` builds one, keeps the database in
``app.extensions["tracker"]`` and opens one reading session per request, lazily.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g

from tracker.config import Config, load_config
from tracker.db import Database, ensure_schema

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


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


class TrackerState:
    """What every request needs: settings, the database, and (lazily) the embedding model."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self._embedder: Any = None
        self.vector_indexes: dict[str, Any] = {}  # model -> tracker.web.similarity.VectorIndex

    @property
    def embedder(self) -> Any:
        """Loaded on the first semantic search, once per process."""
        if self._embedder is None:
            from tracker.embed import make_embedder

            self._embedder = make_embedder(self.config.embedding)
        return self._embedder


def create_app(config: Config | None = None, *, db: Database | None = None) -> Flask:
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
    database = db or Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
    ensure_schema(database)
    app.extensions["tracker"] = TrackerState(config, database)

    from tracker.web import filters

    filters.register(app)
    for blueprint in view_blueprints():
        app.register_blueprint(blueprint)

    from tracker.web import api, auth, errors

    errors.register(app)
    app.register_blueprint(api.bp)
    auth.init_app(app, exempt=[api.bp])  # login pages, the deny-by-default gate, CSRF on forms

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


#: Dashboard areas, one blueprint module each under tracker/web/views/.
VIEW_MODULES = ("pages", "statements", "actors", "tagging", "manage", "admin")


def view_blueprints() -> list[Any]:
    import importlib

    return [importlib.import_module(f"tracker.web.views.{name}").bp for name in VIEW_MODULES]


def state() -> TrackerState:
    from flask import current_app

    return current_app.extensions["tracker"]  # type: ignore[no-any-return]


def read_session() -> Any:
    """The request's reading session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = state().db.reader()
    return g.db_session
