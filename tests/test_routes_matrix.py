"""Deny by default: every route in ``app.url_map`` has a declared access level, and its status code for
anonymous visitors, viewers, researchers and admins is pinned here (with ``auth.public_read`` off
and on). A new route fails this test until someone decides who may call it and adds it below.

Pages are called with a logged-in session, ``/api`` with a Bearer token; writes send an empty
body, so an allowed writer gets 4xx for the missing fields (400/422) and never 2xx, while a
refused one gets 401/403 or the login redirect (302).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webdata import PASSWORD, bearer, make_app, seed
from tracker.config import Config
from tracker.db import Database
from tracker.web.auth import endpoint_access

WHO = ("anonymous", "viewer", "researcher", "admin")
QUERY = {"/api/search": "?q=labs"}

# "METHOD rule": (anonymous, viewer, researcher, admin) with public_read off
EXPECTED: dict[str, tuple[int, int, int, int]] = {
    "GET /static/<path:filename>": (200, 200, 200, 200),
    "GET /login": (200, 200, 200, 200),
    "POST /login": (401, 401, 401, 401),
    "POST /logout": (302, 302, 302, 302),
    "GET /api/openapi.json": (200, 200, 200, 200),
    "GET /api/me": (401, 200, 200, 200),
    "GET /api/narratives": (401, 200, 200, 200),
    "POST /api/narratives": (401, 403, 422, 422),
    "GET /api/narratives/<int(min=1, max=2147483647):narrative_id>": (401, 200, 200, 200),
    "PATCH /api/narratives/<int(min=1, max=2147483647):narrative_id>": (401, 403, 200, 200),
    "GET /api/narratives/<int(min=1, max=2147483647):narrative_id>/timeline": (401, 200, 200, 200),
    "POST /api/narratives/<int(min=1, max=2147483647):narrative_id>/merge": (401, 403, 422, 422),
    "POST /api/narratives/<int(min=1, max=2147483647):narrative_id>/split": (401, 403, 422, 422),
    "POST /api/narratives/<int(min=1, max=2147483647):narrative_id>/move": (401, 403, 422, 422),
    "POST /api/narratives/<int(min=1, max=2147483647):narrative_id>/unmerge": (401, 403, 409, 409),
    "PUT /api/narratives/<int(min=1, max=2147483647):narrative_id>/examples": (401, 403, 422, 422),
    "GET /api/statements": (401, 200, 200, 200),
    "POST /api/statements": (401, 403, 422, 422),
    "GET /api/statements/<int(min=1, max=2147483647):statement_id>": (401, 200, 200, 200),
    "POST /api/statements/<int(min=1, max=2147483647):statement_id>/assignment": (401, 403, 422, 422),
    "POST /api/statements/<int(min=1, max=2147483647):statement_id>/assignment/undo": (401, 403, 422, 422),
    "GET /api/search": (401, 200, 200, 200),
    "GET /api/actors": (401, 200, 200, 200),
    "GET /api/actors/<int(min=1, max=2147483647):actor_id>": (401, 200, 200, 200),
    "GET /api/sources": (401, 403, 403, 200),
    "POST /api/sources": (401, 403, 403, 422),
    "PATCH /api/sources/<int(min=1, max=2147483647):source_id>": (401, 403, 403, 404),
    "DELETE /api/sources/<int(min=1, max=2147483647):source_id>": (401, 403, 403, 404),
    "POST /api/sources/<int(min=1, max=2147483647):source_id>/fetch": (401, 403, 403, 404),
    "GET /api/sources/<int(min=1, max=2147483647):source_id>/fetches": (401, 403, 403, 404),
    "GET /api/users": (401, 403, 403, 200),
    "POST /api/users": (401, 403, 403, 422),
    "PATCH /api/users/<int(min=1, max=2147483647):user_id>": (401, 403, 403, 200),
    "GET /api/audit": (401, 403, 403, 200),
    "GET /api/tokens": (401, 403, 403, 200),
    "DELETE /api/tokens/<int(min=1, max=2147483647):token_id>": (401, 403, 403, 404),
    "GET /admin/users": (302, 403, 403, 200),
    "POST /admin/tokens/<int(min=1, max=2147483647):token_id>/revoke": (401, 403, 403, 404),
    # dashboard pages (issue 7)
    "GET /": (302, 200, 200, 200),
    "GET /narratives/<int(min=1, max=2147483647):narrative_id>": (302, 200, 200, 200),
    "GET /narratives/<int(min=1, max=2147483647):narrative_id>/timeline.csv": (302, 200, 200, 200),
    "GET /narratives/<int(min=1, max=2147483647):narrative_id>/timeline.json": (302, 200, 200, 200),
    "GET /narratives/<int(min=1, max=2147483647):narrative_id>/chart.json": (302, 200, 200, 200),
    "GET /assets/<path:name>": (200, 200, 200, 200),
    "GET /favicon.ico": (200, 200, 200, 200),
    "GET /statements": (302, 200, 200, 200),
    "GET /statements/<int(min=1, max=2147483647):statement_id>": (302, 200, 200, 200),
    # tagging queue, narrative management, admin pages
    "GET /admin/jobs": (302, 403, 403, 200),
    "GET /admin/sources": (302, 403, 403, 200),
    "GET /admin/sources/<int(min=1, max=2147483647):source_id>": (302, 403, 403, 404),
    "GET /manage": (302, 403, 200, 200),
    "GET /manage/narratives/<int(min=1, max=2147483647):narrative_id>": (302, 403, 200, 200),
    "GET /tag": (302, 403, 200, 200),
    "GET /tag/api/queue": (302, 403, 200, 200),
    "GET /tag/api/similar": (302, 403, 422, 422),
    "GET /tag/api/session": (302, 403, 422, 422),
    "POST /admin/sources": (401, 403, 403, 422),
    "POST /admin/sources/<int(min=1, max=2147483647):source_id>": (401, 403, 403, 404),
    "POST /admin/sources/<int(min=1, max=2147483647):source_id>/enabled": (401, 403, 403, 400),
    "POST /admin/sources/<int(min=1, max=2147483647):source_id>/fetch": (401, 403, 403, 404),
    "POST /admin/sources/<int(min=1, max=2147483647):source_id>/delete": (401, 403, 403, 404),
    "GET /admin/activity": (302, 403, 403, 200),
    "POST /manage/narratives": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/merge": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/rename": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/split": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/unmerge": (401, 403, 409, 409),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/examples": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/status": (401, 403, 422, 422),
    "POST /manage/narratives/<int(min=1, max=2147483647):narrative_id>/triage": (401, 403, 422, 422),
    "POST /tag/api/bulk": (401, 403, 400, 400),
    "POST /tag/api/decide": (401, 403, 400, 400),
    "POST /tag/api/seed": (401, 403, 400, 400),
    "POST /tag/api/undo": (401, 403, 422, 422),
    "GET /actors": (302, 200, 200, 200),
    "GET /actors/<int(min=1, max=2147483647):actor_id>": (302, 200, 200, 200),
    "POST /actors/<int(min=1, max=2147483647):actor_id>/aliases": (401, 403, 302, 302),
}

#: What changes when ``auth.public_read`` is on: anonymous visitors read like viewers, nothing more.
PUBLIC_READ_ANONYMOUS = {
    key: (codes[1] if endpoint_level_is_read else codes[0])
    for key, codes in EXPECTED.items()
    for endpoint_level_is_read in [key.split(" ")[0] == "GET" and codes[0] in (302, 401) and codes[1] == 200]
}


def routes(app: Flask) -> list[tuple[str, Any]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            out.append((f"{method} {rule.rule}", rule))
    return sorted(out, key=lambda r: r[0])


def url_for_rule(rule: Any, ids: dict[str, Any]) -> str:
    url = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
    return url + QUERY.get(rule.rule, "")


def call(client: FlaskClient, method: str, url: str, token: str | None) -> int:
    if url.startswith("/api/"):
        kwargs: dict[str, Any] = {"headers": bearer(token) if token else {}}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
    else:
        kwargs = {"data": {}} if method == "POST" else {}
    return client.open(url, method=method, **kwargs).status_code


def observe(app: Flask, db: Database, config: Config) -> dict[str, tuple[int, ...]]:
    data = seed(db, config)
    from tracker import accounts

    with db.transaction() as tx:  # page logins need passwords
        for role in ("viewer", "researcher", "admin"):
            user = accounts.get_user(tx, role)
            assert user is not None
            user.password_hash = accounts.hash_password(PASSWORD, config.auth)
    ids = {"narrative_id": data.narratives[0], "statement_id": data.statements[0],
           "actor_id": next(iter(data.actors.values())), "source_id": 424242, "user_id": 1, "token_id": 424242,
           "filename": "tracker.css", "name": "charts.js"}
    clients: dict[str, FlaskClient] = {}
    for who in WHO:
        clients[who] = app.test_client()
        if who != "anonymous":
            r = clients[who].post("/login", data={"name": who, "password": PASSWORD})
            assert r.status_code == 302, who
    seen: dict[str, tuple[int, ...]] = {}
    for key, rule in routes(app):
        method = key.split(" ")[0]
        url = url_for_rule(rule, ids)
        codes = []
        for who in WHO:
            if method == "POST" and rule.rule in ("/logout", "/login") and who != "anonymous":
                fresh = app.test_client()  # do not log the shared client out; log in a throwaway one
                fresh.post("/login", data={"name": who, "password": PASSWORD})
                codes.append(call(fresh, method, url, None))
                continue
            codes.append(call(clients[who], method, url, data.tokens.get(who)))
        seen[key] = tuple(codes)
    return seen


@pytest.fixture
def matrix_app(config: Config, db: Database) -> Flask:
    app = make_app(config, db)
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here only the roles matter
    return app


def test_every_route_declares_an_access_level(matrix_app: Flask) -> None:
    undeclared = sorted(rule.endpoint for rule in matrix_app.url_map.iter_rules()
                        if endpoint_access(matrix_app, rule.endpoint) is None)
    assert undeclared == []


def test_status_matrix_with_public_read_off(matrix_app: Flask, db: Database, config: Config) -> None:
    seen = observe(matrix_app, db, config)
    unpinned = sorted(set(seen) - set(EXPECTED))
    assert not unpinned, f"pin these new routes in EXPECTED: {unpinned}"
    assert seen == {k: v for k, v in EXPECTED.items() if k in seen}
    assert set(EXPECTED) == set(seen), f"routes gone: {sorted(set(EXPECTED) - set(seen))}"


def test_status_matrix_with_public_read_on(config: Config, db: Database) -> None:
    app = make_app(config, db, public_read=True)
    app.config["WTF_CSRF_ENABLED"] = False
    seen = observe(app, db, config)
    expected = {k: (PUBLIC_READ_ANONYMOUS[k], *v[1:]) for k, v in EXPECTED.items()}
    assert {k: v for k, v in seen.items() if k in expected} == expected
