"""Input that used to end in a 500 is a clear 4xx: huge ids in routes and filters, far-off dates, a search
longer than a LIKE pattern can be, JSON nested too deeply to parse, a login ``next`` with CR/LF. Pages
answer errors in the site's layout, with navigation and a hint."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webdata import PASSWORD, Seeded, add_user, bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database

HUGE = "99999999999999999999"  # above 2**63


@pytest.fixture
def data(db: Database, config: Config) -> Seeded:
    return seed(db, config)


@pytest.fixture
def app(config: Config, db: Database, data: Seeded) -> Flask:
    app = make_app(config, db, public_read=True)
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(app: Flask, db: Database, config: Config, name: str, role: str) -> FlaskClient:
    add_user(db, config, name, role, PASSWORD)
    client = app.test_client()
    assert client.post("/login", data={"name": name, "password": PASSWORD}).status_code == 302
    return client


def in_layout(html: str) -> bool:
    return '<nav aria-label="Main">' in html and 'href="/statements"' in html


@pytest.mark.parametrize("url", [f"/narratives/{HUGE}", f"/narratives/{HUGE}/chart.json", f"/statements/{HUGE}",
                                 f"/actors/{HUGE}", "/narratives/0", f"/narratives/{2**31}"])
def test_ids_beyond_any_row_are_404_pages(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404, url
    assert in_layout(response.get_data(as_text=True))


def test_researchers_and_admins_routes_take_no_huge_id(app: Flask, db: Database, config: Config) -> None:
    admin = login(app, db, config, "ada", "admin")
    for url in (f"/manage/narratives/{HUGE}", f"/admin/sources/{HUGE}"):
        assert admin.get(url).status_code == 404, url


@pytest.mark.parametrize(("url", "field"), [
    (f"/statements?actor_id={HUGE}", "actor_id"), (f"/?narrative_id={HUGE}", "narrative_id"),
    ("/statements?narrative_id=abc", "narrative_id"), ("/statements?until=9999-12-31", "until"),
    ("/?since=0001-01-01", "since"), ("/statements?until=2022-13-45", "until"),
    ("/statements?q=" + "a" * 60_000, "q"), ("/?q=" + "%" * 60_000, "q"), ("/actors?q=" + "a" * 60_000, "q"),
    ("/statements?mode=semantic&q=" + "a" * 60_000, "q"), ("/statements?actor=" + "b" * 60_000, "actor"),
    (f"/actors?after_name=a&after_id={HUGE}", "after_id"),
])
def test_unusable_filters_are_400_pages_naming_the_field(client: FlaskClient, url: str, field: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, url[:80]
    html = response.get_data(as_text=True)
    assert in_layout(html) and f"{field}" in html, url[:80]


def test_a_narrative_page_number_beyond_any_page_is_400(client: FlaskClient, data: Seeded) -> None:
    assert client.get(f"/narratives/{data.narratives[0]}?page={HUGE}").status_code == 400


def test_the_api_refuses_far_dates_and_long_searches_with_400(client: FlaskClient, data: Seeded) -> None:
    token = bearer(data.tokens["viewer"])
    assert client.get("/api/statements?until=9999-12-31", headers=token).status_code == 400
    assert client.get("/api/statements?q=" + "a" * 60_000, headers=token).status_code == 400
    assert client.get(f"/api/narratives/{HUGE}", headers=token).status_code == 404


@pytest.mark.parametrize("depth", [100_000, 2_000])
def test_json_nested_too_deeply_is_a_400(client: FlaskClient, data: Seeded, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = client.post("/api/statements", headers={**bearer(data.tokens["researcher"]),
                                                       "Content-Type": "application/json"}, data=body)
    assert response.status_code in (400, 422) and response.is_json


def test_the_queue_refuses_json_nested_too_deeply(app: Flask, db: Database, config: Config) -> None:
    rita = login(app, db, config, "rita", "researcher")
    response = rita.post("/tag/api/decide", data="{" * 50_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.is_json


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: evil=1", "/statements\nX: 1", "/%0d%0aX: 1\x7f"])
def test_a_login_next_with_control_characters_goes_to_the_overview(app: Flask, db: Database, config: Config,
                                                                     target: str) -> None:
    add_user(db, config, "rita", "researcher", PASSWORD)
    response = app.test_client().post("/login", data={"name": "rita", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_plain_next_still_works(app: Flask, db: Database, config: Config) -> None:
    add_user(db, config, "rita", "researcher", PASSWORD)
    response = app.test_client().post("/login", data={"name": "rita", "password": PASSWORD,
                                                      "next": "/statements?q=labs"})
    assert response.headers["Location"] == "/statements?q=labs"


def test_403_and_404_pages_are_in_the_layout_with_a_hint(app: Flask, db: Database, config: Config) -> None:
    viewer = login(app, db, config, "vic", "viewer")
    forbidden = viewer.get("/manage")
    html = forbidden.get_data(as_text=True)
    assert forbidden.status_code == 403 and in_layout(html)
    assert "signed in as vic (viewer)" in html and "Ask an admin" in html
    missing = viewer.get("/no/such/page")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and in_layout(html) and "Log out vic" in html
    assert "does not exist" in html
