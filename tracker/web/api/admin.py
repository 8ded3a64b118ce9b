"""Admins' routes: feed sources, user accounts and their API tokens, and the audit log."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from tracker.service import accounts
from tracker.service import sources as source_cases
from tracker.vocabulary import ROLES
from tracker.web.api.args import arg_int, arg_str, check_text, decode_cursor, limit_arg, page
from tracker.web.api.blueprint import ID, bp, me
from tracker.web.api.fields import body, field_bool, field_str
from tracker.web.auth import access
from tracker.web.context import read_session, workspace
from tracker.web.errors import ApiError


def _by_id(listing: Any) -> dict[str, Any]:
    """One keyset page of an admin listing, in id order: ``limit`` rows after the ``cursor`` id."""
    limit = limit_arg()
    items = listing(read_session(), limit=limit + 1, after_id=decode_cursor("id"))
    return page(items, limit, lambda item: item["id"])


@bp.get("/sources")
@access("admin")
def sources() -> Any:
    return jsonify(_by_id(source_cases.list_sources))


@bp.post("/sources")
@access("admin")
def add_source() -> Any:
    data = body(("url", "kind", "name", "actor", "outlet", "country", "every", "fetch_full_text"))
    url = field_str(data, "url", required=True, max_len=2000)
    kind = field_str(data, "kind", required=True, max_len=20)
    view = source_cases.add(workspace(), me(), url or "", kind or "", name=field_str(data, "name", max_len=200),
                       actor=field_str(data, "actor"), outlet=field_str(data, "outlet"),
                       country=field_str(data, "country", max_len=8), every=field_str(data, "every", max_len=20),
                       fetch_full_text=bool(field_bool(data, "fetch_full_text")), network_only=True)
    return jsonify(view), 201


@bp.patch(f"/sources/<{ID}:source_id>")
@access("admin")
def edit_source(source_id: int) -> Any:
    data = body(source_cases.EDITABLE_FIELDS)
    given = {"enabled": field_bool(data, "enabled"), "fetch_full_text": field_bool(data, "fetch_full_text"),
             "every": field_str(data, "every", max_len=20), "country": field_str(data, "country", max_len=8),
             "name": field_str(data, "name", max_len=200), "url": field_str(data, "url", max_len=2000)}
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    for name in ("actor", "outlet"):  # null or "" clears it (the source edit treats a blank name as none)
        if name in data:
            changes[name] = field_str(data, name)
    view, _ = source_cases.edit(workspace(), me(), source_id, changes, network_only=True)
    return jsonify(view)


@bp.delete(f"/sources/<{ID}:source_id>")
@access("admin")
def delete_source(source_id: int) -> Any:
    """Delete a source; the statements it brought stay."""
    return jsonify(source_cases.delete(workspace(), me(), source_id))


@bp.post(f"/sources/<{ID}:source_id>/fetch")
@access("admin")
def fetch_source(source_id: int) -> Any:
    """Fetch one source now (paused ones too) and answer what it brought."""
    body(())
    return jsonify(source_cases.fetch_one(workspace(), source_id))


@bp.get(f"/sources/<{ID}:source_id>/fetches")
@access("admin")
def source_fetches(source_id: int) -> Any:
    """The source's fetch log, newest first."""
    session = read_session()
    if source_cases.get(session, source_id) is None:
        raise ApiError(404, f"source {source_id} does not exist")
    return jsonify({"items": source_cases.fetch_log(session, source_id, limit=arg_int("limit", hi=200, default=50)
                                                    or 50)})


@bp.get("/users")
@access("admin")
def users() -> Any:
    return jsonify(_by_id(accounts.list_users))


def _password(data: dict[str, Any]) -> str | None:
    password = data.get("password")
    return None if password is None else check_text(password, "password", max_len=1024)


@bp.post("/users")
@access("admin")
def add_user() -> Any:
    data = body(("name", "role", "password"))
    name = field_str(data, "name", required=True, max_len=100)
    role = field_str(data, "role", required=True, max_len=20)
    return jsonify(accounts.add_user(workspace(), me(), name or "", role or "", _password(data))), 201


@bp.patch(f"/users/<{ID}:user_id>")
@access("admin")
def edit_user(user_id: int) -> Any:
    data = body(("role", "disabled", "password"))
    role = field_str(data, "role", max_len=20, nullable=False)
    if role is not None and role not in ROLES:
        raise ApiError(422, f"role must be one of {', '.join(ROLES)}", field="role")
    return jsonify(accounts.edit_user(workspace(), me(), user_id, role=role, disabled=field_bool(data, "disabled"),
                                      password=_password(data)))


@bp.get("/tokens")
@access("admin")
def tokens() -> Any:
    """Every API token (of ``user``, an id), newest first: owner, label, state, created, last used, expiry."""
    return jsonify({"items": accounts.list_tokens(read_session(), user_id=arg_int("user"))})


@bp.delete(f"/tokens/<{ID}:token_id>")
@access("admin")
def revoke_token(token_id: int) -> Any:
    return jsonify(accounts.revoke_token(workspace(), me(), token_id))


@bp.get("/audit")
@access("admin")
def audit_log() -> Any:
    limit = limit_arg()
    items = accounts.list_audit(read_session(), object_type=arg_str("object_type", max_len=40),
                                object_id=arg_str("object_id", max_len=60), user=arg_str("user", max_len=100),
                                action=arg_str("action", max_len=60), limit=limit + 1,
                                before_id=decode_cursor("id"))
    return jsonify(page(items, limit, lambda e: e["id"]))
