"""API tokens: listed (never their secret), revoked from the CLI, the API and the admin page, optionally
expiring, with their last use recorded; a new password revokes the user's tokens and sessions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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
from tracker.models import ApiToken, AuditEvent, User, utcnow


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    app = make_app(config, db)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_id(db: Database, token: str) -> int:
    with db.reader() as s:
        found = s.scalar(select(ApiToken.id).where(ApiToken.token_hash == accounts.sha256(token)))
    assert found is not None
    return found


def me(client: FlaskClient, token: str) -> int:
    return client.get("/api/me", headers=bearer(token)).status_code


def cli(config: Config, tmp_path: Path, *args: str, stdin: str | None = None) -> str:
    env = {"TRACKER_DATABASE_URL": config.database_url, "TRACKER_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_api_lists_tokens_without_secrets_and_revokes_one(client: FlaskClient, db: Database,
                                                              config: Config) -> None:
    admin = add_user(db, config, "ada", "admin")
    viewer = add_user(db, config, "vic", "viewer")
    assert me(client, viewer) == 200
    listed = client.get("/api/tokens", headers=bearer(admin))
    assert listed.status_code == 200
    rows = {t["user"]: t for t in listed.json["items"]}
    assert rows["vic"]["state"] == "active" and rows["vic"]["last_used_at"] is not None
    assert viewer not in listed.get_data(as_text=True) and accounts.sha256(viewer) not in listed.get_data(as_text=True)
    only = client.get(f"/api/tokens?user={rows['vic']['user_id']}", headers=bearer(admin)).json["items"]
    assert [t["user"] for t in only] == ["vic"]
    revoked = client.delete(f"/api/tokens/{rows['vic']['id']}", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert me(client, viewer) == 401
    assert client.delete("/api/tokens/424242", headers=bearer(admin)).status_code == 404
    assert client.get("/api/tokens", headers=bearer(viewer)).status_code == 401
    with db.reader() as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "token.revoke")) == "token.revoke"


def test_an_admin_revokes_a_token_on_the_users_page(client: FlaskClient, db: Database, config: Config) -> None:
    add_user(db, config, "ada", "admin", PASSWORD)
    viewer = add_user(db, config, "vic", "viewer")
    assert client.post("/login", data={"name": "ada", "password": PASSWORD}).status_code == 302
    page = client.get("/admin/users").get_data(as_text=True)
    tid = token_id(db, viewer)
    assert f"/admin/tokens/{tid}/revoke" in page and "vic" in page and viewer not in page
    done = client.post(f"/admin/tokens/{tid}/revoke", follow_redirects=True)
    assert done.status_code == 200 and f"Revoked token {tid} of vic" in done.get_data(as_text=True)
    assert me(client, viewer) == 401


def test_the_cli_lists_and_revokes_tokens(config: Config, db: Database, client: FlaskClient, tmp_path: Path) -> None:
    add_user(db, config, "vic", "viewer")
    token = cli(config, tmp_path, "users", "token", "vic", "--label", "nightly export", "--expires", "30").strip()
    assert me(client, token) == 200
    listing = cli(config, tmp_path, "users", "tokens", "vic")
    tid = token_id(db, token)
    line = next(row for row in listing.splitlines() if row.split()[0] == str(tid))
    assert "active" in line and "nightly export" in line and token not in listing
    expires = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"expires {expires}" in line
    assert "revoked token" in cli(config, tmp_path, "users", "revoke-token", str(tid))
    assert me(client, token) == 401
    assert "revoked" in cli(config, tmp_path, "users", "tokens", "vic")


def test_an_expired_token_is_refused(client: FlaskClient, db: Database, config: Config) -> None:
    with db.transaction() as tx:
        user = accounts.create_user(tx, "vic", "viewer", None, config.auth)
        token = accounts.issue_token(tx, user, expires_days=1)
    assert me(client, token) == 200
    with db.transaction() as tx:
        row = tx.get(ApiToken, token_id(db, token))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    refused = client.get("/api/me", headers=bearer(token))
    assert refused.status_code == 401 and "expired" in refused.json["error"]["message"]
    with db.transaction() as tx, pytest.raises(accounts.AccountError, match="1 to 3650 days"):
        accounts.issue_token(tx, user, expires_days=0)


def test_last_use_is_written_at_most_once_a_minute(client: FlaskClient, db: Database, config: Config) -> None:
    token = add_user(db, config, "vic", "viewer")
    with db.reader() as s:
        assert s.scalar(select(ApiToken.last_used_at)) is None
    assert me(client, token) == 200
    with db.reader() as s:
        first = s.scalar(select(ApiToken.last_used_at))
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    assert me(client, token) == 200
    with db.reader() as s:
        assert s.scalar(select(ApiToken.last_used_at)) == first
    with db.transaction() as tx:
        row = tx.get(ApiToken, token_id(db, token))
        assert row is not None
        row.last_used_at = utcnow() - timedelta(minutes=5)
    assert me(client, token) == 200
    with db.reader() as s:
        assert s.scalar(select(ApiToken.last_used_at)) > first - timedelta(seconds=1)  # type: ignore[operator]


def test_a_new_password_revokes_tokens_and_sessions(app: Flask, db: Database, config: Config,
                                                    tmp_path: Path) -> None:
    admin = add_user(db, config, "ada", "admin")
    token = add_user(db, config, "rita", "researcher", PASSWORD)
    browser = app.test_client()
    assert browser.post("/login", data={"name": "rita", "password": PASSWORD}).status_code == 302
    assert browser.get("/tag").status_code == 200
    with db.reader() as s:
        rita = s.scalar(select(User.id).where(User.name == "rita"))
    changed = app.test_client().patch(f"/api/users/{rita}", headers=bearer(admin),
                                      json={"password": "another long passphrase"})
    assert changed.status_code == 200
    assert me(app.test_client(), token) == 401
    assert browser.get("/tag").status_code == 302  # logged out: back to the login page
    with db.reader() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).all()[-1]
    assert event.new is not None and event.new["tokens_revoked"] == 1

    second = add_user(db, config, "rosa", "researcher", PASSWORD)
    assert "tokens are revoked" in cli(config, tmp_path, "users", "password", "rosa", "--password-stdin",
                                       stdin="yet another passphrase\n")
    assert me(app.test_client(), second) == 401
