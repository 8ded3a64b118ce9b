"""Accounts and web security: argon2id passwords, login throttling, server-side sessions, cookie
flags, CSRF on forms, tokens for the API, security headers, and the `tracker users` commands."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.webdata import PASSWORD, add_user, bearer, make_app
from tracker import accounts
from tracker.cli import main
from tracker.config import Config
from tracker.db import Database
from tracker.models import User, WebSession


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    return make_app(config, db)


@pytest.fixture
def users(db: Database, config: Config) -> dict[str, str]:
    return {name: add_user(db, config, name, role, PASSWORD)
            for name, role in (("vera", "viewer"), ("rita", "researcher"))}


def csrf_token(client: FlaskClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert match
    return match.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD, address: str = "10.0.0.1", **extra: str):
    data = {"name": name, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def session_set_cookie(response) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


# ---------------------------------------------------------------- passwords

def test_passwords_are_hashed_with_argon2id(config: Config) -> None:
    hashed = accounts.hash_password("a long enough password", config.auth)
    assert hashed.startswith("$argon2id$") and "a long enough password" not in hashed


def test_short_passwords_are_refused(config: Config) -> None:
    with pytest.raises(accounts.AccountError) as info:
        accounts.hash_password("x" * (config.auth.min_password_length - 1), config.auth)
    assert info.value.field == "password"


# ---------------------------------------------------------------- login, sessions, cookies

def test_login_opens_the_dashboard_and_logout_ends_the_session_server_side(app: Flask, users: dict[str, str],
                                                                           db: Database) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 302
    assert login(client, "vera").status_code == 302
    assert client.get("/").status_code == 200
    stolen = session_cookie(client)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen or "")
    assert replay.get("/").status_code == 302  # the old cookie no longer works anywhere
    with db.reader() as s:
        assert all(row.revoked for row in s.scalars(select(WebSession)))


def test_each_login_gets_a_new_session(app: Flask, users: dict[str, str], db: Database) -> None:
    client = app.test_client()
    client.get("/login")
    before = session_cookie(client)
    login(client, "vera")
    first = session_cookie(client)
    login(client, "vera")
    assert before != first != session_cookie(client)
    with db.reader() as s:
        assert len(set(s.scalars(select(WebSession.token_hash)))) == 2


def test_wrong_password_is_401_and_names_nothing(app: Flask, users: dict[str, str]) -> None:
    r = login(app.test_client(), "vera", "wrong password!!")
    assert r.status_code == 401 and "Wrong name or password" in r.get_data(as_text=True)
    unknown = login(app.test_client(), "nobody", "wrong password!!")
    assert unknown.status_code == 401 and "Wrong name or password" in unknown.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_lax(app: Flask, users: dict[str, str]) -> None:
    header = session_set_cookie(login(app.test_client(), "vera"))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_session_cookie_is_secure_when_configured(config: Config, db: Database, users: dict[str, str]) -> None:
    app = make_app(config, db, secure_cookies=True)
    response = login(app.test_client(), "vera")
    assert "Secure" in session_set_cookie(response)
    assert all("Secure" in h for h in response.headers.getlist("Set-Cookie"))


def test_next_only_redirects_within_the_site(app: Flask, users: dict[str, str]) -> None:
    assert login(app.test_client(), "vera", next="/actors").headers["Location"] == "/actors"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert login(app.test_client(), "vera", next=evil).headers["Location"] == "/"


def test_disabled_user_cannot_log_in_or_use_tokens(app: Flask, users: dict[str, str], db: Database,
                                                   config: Config) -> None:
    add_user(db, config, "boss", "admin")
    with db.transaction() as tx:
        vera = accounts.get_user(tx, "vera")
        accounts.update_user(tx, vera, config.auth, disabled=True)  # type: ignore[arg-type]
    assert login(app.test_client(), "vera").status_code == 401
    assert app.test_client().get("/api/narratives", headers=bearer(users["vera"])).status_code == 401


# ---------------------------------------------------------------- throttling

def test_guessing_from_one_address_locks_that_address_out_not_the_account(app: Flask, users: dict[str, str],
                                                                           config: Config) -> None:
    """An outsider who guesses an admin's password five times locks themselves out, never the admin."""
    for _ in range(config.auth.max_failed_logins):
        assert login(app.test_client(), "vera", "not the password", address="10.0.0.7").status_code == 401
    # the guesser's address waits now, even with the right password
    assert login(app.test_client(), "vera", address="10.0.0.7").status_code == 429
    # the account's owner, from elsewhere, is not locked out
    assert login(app.test_client(), "vera", address="10.9.9.9").status_code == 302
    # other accounts, from the guesser's address, are unaffected
    assert login(app.test_client(), "rita", address="10.0.0.7").status_code == 302


def test_guessing_from_many_addresses_spares_a_browser_that_signed_in_before(
        app: Flask, users: dict[str, str], config: Config, db: Database) -> None:
    owner = app.test_client()
    assert login(owner, "vera", address="10.1.1.1").status_code == 302  # vouched for from now on
    assert owner.get_cookie("tracker_device", path="/login") is not None
    with db.transaction() as tx:  # a botnet's guesses, a few from each of many addresses
        for i in range(config.auth.max_failed_logins * accounts.ACCOUNT_FACTOR):
            accounts.record_failure(tx, "vera", f"172.16.{i // 200}.{i % 200}")
    assert login(app.test_client(), "vera", address="10.2.2.2").status_code == 429  # no cookie: waits
    owner.post("/logout", data={"csrf_token": csrf_token(owner)})
    assert login(owner, "vera", address="10.2.2.2").status_code == 302  # the owner's browser gets in
    forged = app.test_client()
    forged.set_cookie("tracker_device", owner.get_cookie("tracker_device", path="/login").value + "x",  # type: ignore[union-attr]
                      path="/login")
    assert login(forged, "vera", address="10.3.3.3").status_code == 429
    other = app.test_client()
    assert login(other, "rita", address="10.4.4.4").status_code == 302  # a cookie vouches for its own account
    assert login(other, "vera", address="10.4.4.4").status_code == 429


def test_behind_a_proxy_the_client_address_is_throttled(config: Config, db: Database,
                                                        users: dict[str, str]) -> None:
    """With ``web.proxy_hops = 1`` the address is the one the proxy saw; without it the header is ignored."""
    def guess(app: Flask, client_address: str) -> int:
        client = app.test_client()
        data = {"name": "vera", "password": "not the password", "csrf_token": csrf_token(client)}
        return client.post("/login", data=data, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": client_address}).status_code

    proxied = create_with_web(config, db, proxy_hops=1)
    for _ in range(config.auth.max_failed_logins):
        assert guess(proxied, "203.0.113.9") == 401
    assert guess(proxied, "203.0.113.9") == 429
    assert guess(proxied, "198.51.100.4") == 401  # another client behind the same proxy is not locked out
    direct = create_with_web(config, db, proxy_hops=0)
    assert guess(direct, "198.51.100.77") == 401  # the header means nothing without a proxy in front
    with db.reader() as s:
        from tracker.models import LoginAttempt

        keys = set(s.scalars(select(LoginAttempt.key)))
    assert "ip:203.0.113.9" in keys and "ip:198.51.100.77" not in keys


def create_with_web(config: Config, db: Database, **web: object) -> Flask:
    from tracker.embed import HashingEmbedder
    from tracker.web import create_app

    app = create_app(config.replace(web=web), db=db, embedder=HashingEmbedder())
    app.testing = True
    return app


def test_address_is_throttled_across_accounts(app: Flask, users: dict[str, str], config: Config) -> None:
    limit = config.auth.max_failed_logins * accounts.ADDRESS_FACTOR
    for i in range(limit):
        login(app.test_client(), f"guess{i}", "not the password", address="10.6.6.6")
    assert login(app.test_client(), "rita", address="10.6.6.6").status_code == 429
    assert login(app.test_client(), "rita", address="10.0.0.8").status_code == 302


def test_failures_older_than_the_lockout_window_do_not_count(db: Database, config: Config) -> None:
    from datetime import timedelta

    from tracker.models import utcnow

    with db.transaction() as tx:
        for _ in range(config.auth.max_failed_logins):
            accounts.record_failure(tx, "vera", "10.0.0.1")
    with db.reader() as s:
        assert accounts.login_blocked(s, "vera", "10.0.0.1", config.auth)
        later = utcnow() + timedelta(minutes=config.auth.lockout_minutes + 1)
        assert not accounts.login_blocked(s, "vera", "10.0.0.1", config.auth, now=later)


# ---------------------------------------------------------------- CSRF and the API's tokens

def test_forms_without_csrf_token_are_refused(app: Flask, users: dict[str, str]) -> None:
    client = app.test_client()
    r = client.post("/login", data={"name": "vera", "password": PASSWORD})
    assert r.status_code == 400
    login(client, "vera")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_api_writes_need_a_token_not_a_cookie(app: Flask, users: dict[str, str]) -> None:
    client = app.test_client()
    login(client, "rita")
    assert client.get("/api/narratives").status_code == 200  # the dashboard may read with its cookie
    r = client.post("/api/statements", json={"text": "Cookie-borne write"})
    assert r.status_code == 401 and "token" in r.json["error"]["message"]
    r = client.post("/api/statements", json={"text": "Token write"}, headers=bearer(users["rita"]))
    assert r.status_code == 201


@pytest.mark.parametrize("header", ["Bearer trk_not-a-real-token", "Basic dmVyYTp4", "Bearer "])
def test_bad_authorization_header_is_401_json(app: Flask, users: dict[str, str], header: str) -> None:
    r = app.test_client().get("/api/narratives", headers={"Authorization": header})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_only_the_token_hash_is_stored(db: Database, users: dict[str, str]) -> None:
    from tracker.models import ApiToken

    with db.reader() as s:
        stored = list(s.scalars(select(ApiToken.token_hash)))
    assert users["vera"] not in stored and accounts.sha256(users["vera"]) in stored


# ---------------------------------------------------------------- headers

@pytest.mark.parametrize("path", ["/login", "/", "/no-such-page", "/api/narratives"])
def test_security_headers_on_every_response(config: Config, db: Database, path: str) -> None:
    app = make_app(config, db, public_read=True)
    r = app.test_client().get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    script = re.search(r"script-src ([^;]+)", csp)
    assert script and "unsafe-inline" not in script.group(1)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"]


def test_hsts_only_when_served_over_https(config: Config, db: Database) -> None:
    plain = make_app(config, db, public_read=True).test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    secure = make_app(config, db, public_read=True, secure_cookies=True).test_client().get("/login")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_what_a_signed_in_reader_sees_is_never_stored(app: Flask, users: dict[str, str], db: Database,
                                                      config: Config) -> None:
    client = app.test_client()
    assert login(client, "rita").status_code == 302
    for url in ("/", "/statements", "/actors", "/api/narratives", "/tag"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    scripted = app.test_client().get("/api/narratives", headers=bearer(users["vera"]))
    assert scripted.headers["Cache-Control"] == "no-store"
    public = make_app(config, db, public_read=True).test_client()
    assert "no-store" not in public.get("/").headers.get("Cache-Control", "")  # anonymous: nothing private
    asset = client.get("/favicon.ico")
    assert asset.headers["Cache-Control"].startswith("public")


# ---------------------------------------------------------------- the `tracker users` commands

def test_cli_adds_a_user_and_prints_a_working_token(config: Config, db: Database, db_url: str, tmp_path) -> None:
    env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "olga", "--role", "researcher", "--password-stdin"],
                          input=PASSWORD + "\n", env=env)
    assert added.exit_code == 0, added.output
    short = runner.invoke(main, ["users", "add", "ivan", "--role", "viewer", "--password-stdin"], input="short\n",
                          env=env)
    assert short.exit_code != 0 and "at least 12" in short.output
    token = runner.invoke(main, ["users", "token", "olga"], env=env).output.strip()
    listing = runner.invoke(main, ["users", "list"], env=env).output
    assert "researcher" in listing and "olga" in listing and "ivan" not in listing
    app = make_app(config, db)
    r = app.test_client().post("/api/statements", json={"text": "From a script"}, headers=bearer(token))
    assert r.status_code == 201
    with db.reader() as s:
        assert s.scalar(select(User.role).where(User.name == "olga")) == "researcher"
