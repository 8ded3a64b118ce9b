"""Accounts: users and roles, API tokens, signing in and out, and the audit log admins read."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tracker import accounts
from tracker.accounts import SignIn, device_name, list_tokens, role_rank, user_for_session, user_view
from tracker.errors import Refused
from tracker.models import User, utcnow
from tracker.queries import list_audit
from tracker.queries.listing import by_name_or_id
from tracker.service.workspace import Workspace

__all__ = ["SignIn", "add_user", "device_name", "edit_user", "issue_token", "list_audit", "list_tokens", "list_users", "revoke_token",
           "role_rank", "set_password", "sign_in", "sign_out", "token_user", "user_for_session", "user_view"]


def add_user(ws: Workspace, by: User | None, name: str, role: str, password: str | None) -> dict[str, Any]:
    """A new user (token-only when ``password`` is None), with its audit row."""
    with ws.db.transaction() as tx:
        return user_view(accounts.create_user(tx, name, role, password, ws.config.auth, by=by))


def edit_user(ws: Workspace, by: User | None, user_id: int, *, role: str | None = None, disabled: bool | None = None,
              password: str | None = None) -> dict[str, Any]:
    """Change a user's role, disabled flag or password; the last active admin stays an admin."""
    with ws.db.transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise Refused(f"user {user_id} does not exist", kind="not_found")
        accounts.update_user(tx, user, ws.config.auth, role=role, disabled=disabled, password=password, by=by)
        return user_view(user)


def _named(tx: Session, name: str) -> User:
    user = accounts.get_user(tx, name)
    if user is None:
        raise Refused(f"no user called {name!r}", kind="not_found", field="name")
    return user


def issue_token(ws: Workspace, by: User | None, name: str, *, label: str | None = None,
                expires_days: int | None = None) -> str:
    """A new API token for the user called ``name``, valid until revoked or for ``expires_days`` (shown
    once; only its hash is kept)."""
    with ws.db.transaction() as tx:
        return accounts.issue_token(tx, _named(tx, name), label=label, by=by, expires_days=expires_days)


def revoke_token(ws: Workspace, by: User | None, token_id: int) -> dict[str, Any]:
    """Revoke one API token at once; requests bearing it are refused from then on."""
    with ws.db.transaction() as tx:
        return accounts.revoke_token(tx, token_id, by=by)


def set_password(ws: Workspace, by: User | None, name: str, password: str) -> dict[str, Any]:
    """A new password for the user called ``name``; their web sessions end and their API tokens are revoked."""
    with ws.db.transaction() as tx:
        user = _named(tx, name)
        accounts.update_user(tx, user, ws.config.auth, password=password, by=by)
        return user_view(user)


def token_user(ws: Workspace, session: Session, token: str) -> User | None:
    """The user an API token speaks for (None: unknown, revoked or expired), noting when it was last used."""
    found = accounts.user_for_token(session, token)
    if found is None:
        return None
    user, row = found
    if row.last_used_at is None or row.last_used_at < utcnow() - accounts.TOKEN_TOUCH:
        with ws.db.transaction() as tx:
            accounts.touch_token(tx, row.id)
    return user


def list_users(session: Session, *, limit: int | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Users by name, or in id order after ``after_id`` when paging (``limit``)."""
    return by_name_or_id(session, User, user_view, limit=limit, after_id=after_id)


def sign_in(ws: Workspace, name: str, password: str, address: str | None, *, known_device: bool = False) -> SignIn:
    """Check a name and password (throttled per account and address, per address, and per account unless
    ``known_device``: the browser signed in to this account before); on success a new web session."""
    with ws.db.transaction() as tx:
        return accounts.sign_in(tx, name, password, address, ws.config.auth, known_device=known_device)


def sign_out(ws: Workspace, session_id: str) -> None:
    """End one web session on the server, so its cookie opens nothing any more."""
    with ws.db.transaction() as tx:
        accounts.end_session(tx, session_id)
