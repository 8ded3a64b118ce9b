"""Shared by the dashboard tests: the demo database as `make demo` builds it (once per test process),
an app over it, and an HTML tag parser that sees what a browser would."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tracker import jobs
from tracker.actors import apply_alias_rules
from tracker.config import Config, load_config
from tracker.db import Database, ensure_schema
from tracker.sample import corpus_path

SAMPLE = Path(corpus_path()).parent
_BUILT: dict[Path, Path] = {}


def load_demo(db: Database, cfg: Config) -> None:
    """What `make demo` does to a fresh database: the sample corpus, its alias rules, the pipeline."""
    ensure_schema(db)
    jobs.import_file(db, cfg, corpus_path())
    with db.transaction() as session:
        apply_alias_rules(session, tomllib.loads((SAMPLE / "aliases.toml").read_text(encoding="utf-8"))["aliases"])
    jobs.run_pipeline(db, cfg)


def build_demo(root: Path) -> Path:
    """The demo data folder under ``root``, built on first use in this process."""
    if root not in _BUILT:
        folder = root / "demo-data"
        db = Database(demo_config(folder).database_url)
        load_demo(db, demo_config(folder))
        db.dispose()
        _BUILT[root] = folder
    return _BUILT[root]


def demo_config(folder: Path) -> Config:
    return load_config(SAMPLE / "demo.toml", env={"TRACKER_DATA_DIR": str(folder)}).replace(auth={"public_read": True})


def demo_root(factory: pytest.TempPathFactory) -> Path:
    return factory.getbasetemp() / "dashboard-demo"


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served on a free loopback port by a threaded server, for the browser tests: its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def create(cfg: Config) -> Flask:
    from tracker.web import create_app

    return create_app(cfg, db=Database(cfg.database_url))


class Tags(HTMLParser):
    """Every start tag with its attributes, as the browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data_blocks: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_json = tag == "script" and dict(attrs).get("type") == "application/json"

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.data_blocks.append(data)
            self._in_json = False


def tags_of(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def page(client: FlaskClient, url: str) -> str:
    """A dashboard page's HTML, asserting it answered 200 (naming the URL when it did not)."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)
