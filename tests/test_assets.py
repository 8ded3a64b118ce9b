"""Static assets: fingerprinted names, gzip, year-long immutable caching, the favicon, and plotly.js
loaded without any inline style (the CSP forbids them)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.demo import tags_of
from tests.webdata import make_app
from tracker.config import Config
from tracker.db import Database
from tracker.web.assets import PLOTLY_BASIC, VENDOR, Assets, plotly_js_path

MAKEFILE = Path(__file__).resolve().parent.parent / "Makefile"
BASIC = VENDOR / PLOTLY_BASIC
needs_basic = pytest.mark.skipif(not BASIC.exists(), reason=(
    "plotly.js's basic bundle was not installed (make install takes it from the npm registry; npm was missing)"))

FINGERPRINTED = re.compile(r"/assets/[\w.-]+\.[0-9a-f]{10}\.(css|js|svg)")


@pytest.fixture
def app(sqlite_config: Config) -> Iterator[Flask]:
    db = Database(sqlite_config.database_url)
    yield make_app(sqlite_config, db, public_read=True)
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def linked(html: str) -> list[str]:
    return [a.get("href") or a.get("src") or "" for t, a in tags_of(html).tags
            if (t == "link" and a.get("rel") in ("stylesheet", "icon")) or (t == "script" and a.get("src"))]


def test_pages_link_every_asset_by_a_fingerprinted_name(client: FlaskClient) -> None:
    urls = linked(client.get("/").get_data(as_text=True))
    assert urls and all(FINGERPRINTED.fullmatch(u) for u in urls), urls


def test_a_fingerprinted_asset_is_gzipped_and_kept_for_a_year(client: FlaskClient, app: Flask) -> None:
    name = app.extensions["tracker"].assets.url_path("plotly.min.js")
    response = client.get(f"/assets/{name}", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert len(body) < plotly_js_path().stat().st_size / 2
    assert gzip.decompress(body) == plotly_js_path().read_bytes()
    again = client.get(f"/assets/{name}", headers={"Accept-Encoding": "gzip",
                                                   "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_a_client_without_gzip_gets_the_plain_bytes(client: FlaskClient, app: Flask) -> None:
    name = app.extensions["tracker"].assets.url_path("charts.js")
    response = client.get(f"/assets/{name}")
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == (Path(app.static_folder or "") / "charts.js").read_bytes()


def test_a_plain_or_stale_name_is_served_but_revalidated(client: FlaskClient) -> None:
    for url in ("/assets/charts.js", "/assets/charts.0123456789.js"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, no-cache", url
    assert client.get("/assets/nothing.js").status_code == 404
    assert client.get("/assets/../__init__.py").status_code == 404


def test_a_changed_file_gets_a_new_name(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("a { color: red }", encoding="utf-8")
    before = Assets(tmp_path).url_path("a.css")
    (tmp_path / "a.css").write_text("a { color: blue }", encoding="utf-8")
    after = Assets(tmp_path).url_path("a.css")
    assert before != after and before.startswith("a.") and after.endswith(".css")


def test_every_page_names_its_icon_and_favicon_ico_answers(client: FlaskClient) -> None:
    icons = [a for t, a in tags_of(client.get("/").get_data(as_text=True)).tags
             if t == "link" and a.get("rel") == "icon"]
    assert len(icons) == 1 and FINGERPRINTED.fullmatch(icons[0]["href"] or "")
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_plotly_finds_its_stylesheet_and_the_map_css_marker(app: Flask) -> None:
    """plotly.js inserts its rules into an element with id ``plotly.js-style-global`` if one exists, and
    skips its map CSS when an element with the id it checks exists: without both it would add inline
    <style> elements, which the CSP refuses (browser test: test_browser_pages.py)."""
    assets = app.extensions["tracker"].assets
    marker = assets.plotly_map_style_id()
    bundle = assets.find(assets.plotly)[0].raw
    assert marker is not None and re.fullmatch(r"[0-9a-f]{64}", marker)
    assert bundle.count(marker.encode()) >= 2 and b'"plotly.js-style-"' in bundle
    html = client_page(app, "/")
    assert "plotly" not in html  # only the narrative page loads it


def version_of(bundle: bytes) -> str:
    found = re.search(rb"plotly\.js (?:\(basic - minified\) )?v(\d+\.\d+\.\d+)", bundle[:500])
    assert found, bundle[:200]
    return found.group(1).decode()


def test_make_install_takes_the_basic_bundle_at_the_wheels_plotly_js_version() -> None:
    """The Makefile asks the npm registry for plotly.js's basic bundle at the version of the full one the
    plotly wheel ships; a new plotly wheel makes this fail until the Makefile follows."""
    pinned = re.search(r"^PLOTLY_JS\s*:=\s*(\S+)", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert pinned and pinned.group(1) == version_of(plotly_js_path().read_bytes())


@needs_basic
def test_the_installed_basic_bundle_is_the_wheels_version_and_keeps_its_licence(app: Flask) -> None:
    """The pages load plotly.js's official basic bundle (scatter, bar, pie) when it was installed."""
    assert version_of(BASIC.read_bytes()) == version_of(plotly_js_path().read_bytes())
    assert "MIT License" in (VENDOR / "plotly-basic.LICENSE.txt").read_text(encoding="utf-8")
    assert BASIC.stat().st_size < plotly_js_path().stat().st_size / 3
    assert app.extensions["tracker"].assets.plotly == PLOTLY_BASIC


def test_without_the_basic_bundle_pages_load_the_wheels_full_one(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "charts.js").write_text("// charts", encoding="utf-8")
    assert Assets(folder).plotly == "plotly.min.js"
    (folder / "vendor").mkdir()
    (folder / "vendor" / PLOTLY_BASIC).write_text("/* plotly.js (basic - minified) v0 */", encoding="utf-8")
    assert Assets(folder).plotly == PLOTLY_BASIC


def client_page(app: Flask, url: str) -> str:
    return app.test_client().get(url).get_data(as_text=True)
