"""Admins' routes: feed sources, user accounts and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from sqlalchemy import select

from tracker import accounts, audit, queries
from tracker.models import ROLES, Source, User
from tracker.web import read_session, state
from tracker.web.api.args import arg_str, check_text, decode_cursor, limit_arg, page
from tracker.web.api.blueprint import ID, bp, me, not_found
from tracker.web.api.fields import body, field_bool, field_str
from tracker.web.auth import access
from tracker.web.errors import ApiError


@bp.get("/sources")
@access("admin")
def sources() -> Any:
    from tracker.ingest.sources import source_view

    return jsonify(_by_id(Source, source_view))


def _by_id(model: Any, view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One keyset page of an admin listing, in id order: ``limit`` rows after the ``cursor`` id."""
    limit = limit_arg()
    after = decode_cursor("id")
    query = select(model).order_by(model.id).limit(limit + 1)
    if after is not None:
        query = query.where(model.id > after)
    return page([view(row) for row in read_session().scalars(query)], limit, lambda item: item["id"])


API_SOURCE_KINDS = ("rss", "html", "transcript")  # local files only from the CLI: no server paths via the web


def _source_error(exc: Exception) -> ApiError:
    message = str(exc)
    head = message.split(":", 1)[0]
    return ApiError(422, message, field=head if head.isidentifier() else None)


@bp.post("/sources")
@access("admin")
def add_source() -> Any:
    from tracker.ingest.sources import SourceError, add_source, source_view

    data = body(("url", "kind", "name", "actor", "outlet", "country", "every", "fetch_full_text"))
    url = field_str(data, "url", required=True, max_len=2000)
    kind = field_str(data, "kind", required=True, max_len=20)
    if kind not in API_SOURCE_KINDS:
        raise ApiError(422, f"kind must be one of {', '.join(API_SOURCE_KINDS)}", field="kind")
    with state().db.transaction() as tx:
        try:
            src = add_source(tx, state().config, url or "", kind, name=field_str(data, "name", max_len=200),
                             actor=field_str(data, "actor"), outlet=field_str(data, "outlet"),
                             country=field_str(data, "country", max_len=8), every=field_str(data, "every", max_len=20),
                             fetch_full_text=bool(field_bool(data, "fetch_full_text")), user=me())
        except SourceError as exc:
            raise _source_error(exc) from exc
        view = source_view(src)
    return jsonify(view), 201


@bp.patch(f"/sources/<{ID}:source_id>")
@access("admin")
def edit_source(source_id: int) -> Any:
    from tracker.ingest.sources import SourceError, parse_every, source_view

    data = body(("enabled", "every", "fetch_full_text", "country"))
    enabled, full = field_bool(data, "enabled"), field_bool(data, "fetch_full_text")
    every = field_str(data, "every", max_len=20)
    country = field_str(data, "country", max_len=8)
    with state().db.transaction() as tx:
        src = tx.get(Source, source_id)
        if src is None:
            raise not_found("source", source_id)
        old, new = {}, {}
        changes: dict[str, Any] = {"enabled": enabled, "fetch_full_text": full,
                                   "country": country.upper() if country else None}
        if every is not None:
            try:
                changes["every_seconds"] = parse_every(every)
            except SourceError as exc:
                raise _source_error(exc) from exc
        for key, value in changes.items():
            if value is not None and getattr(src, key) != value:
                old[key], new[key] = getattr(src, key), value
                setattr(src, key, value)
        if new:
            audit.record(tx, me(), "source.update", "source", src.id, old, new)
        tx.flush()
        view = source_view(src)
    return jsonify(view)


@bp.get("/users")
@access("admin")
def users() -> Any:
    return jsonify(_by_id(User, accounts.user_view))


def _account_error(exc: accounts.AccountError) -> ApiError:
    return ApiError(409 if "exists already" in str(exc) or "last active admin" in str(exc) else 422, str(exc),
                    field=exc.field)


@bp.post("/users")
@access("admin")
def add_user() -> Any:
    data = body(("name", "role", "password"))
    name = field_str(data, "name", required=True, max_len=100)
    role = field_str(data, "role", required=True, max_len=20)
    password = data.get("password")
    if password is not None:
        password = check_text(password, "password", max_len=1024)
    with state().db.transaction() as tx:
        try:
            user = accounts.create_user(tx, name or "", role or "", password, state().config.auth, by=me())
        except accounts.AccountError as exc:
            raise _account_error(exc) from exc
        view = accounts.user_view(user)
    return jsonify(view), 201


@bp.patch(f"/users/<{ID}:user_id>")
@access("admin")
def edit_user(user_id: int) -> Any:
    data = body(("role", "disabled", "password"))
    role = field_str(data, "role", max_len=20, nullable=False)
    if role is not None and role not in ROLES:
        raise ApiError(422, f"role must be one of {', '.join(ROLES)}", field="role")
    disabled = field_bool(data, "disabled")
    password = data.get("password")
    if password is not None:
        password = check_text(password, "password", max_len=1024)
    with state().db.transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise not_found("user", user_id)
        try:
            accounts.update_user(tx, user, state().config.auth, role=role, disabled=disabled, password=password,
                                 by=me())
        except accounts.AccountError as exc:
            raise _account_error(exc) from exc
        view = accounts.user_view(user)
    return jsonify(view)


@bp.get("/audit")
@access("admin")
def audit_log() -> Any:
    limit = limit_arg()
    items = queries.list_audit(read_session(), object_type=arg_str("object_type", max_len=40),
                               object_id=arg_str("object_id", max_len=60), user=arg_str("user", max_len=100),
                               action=arg_str("action", max_len=60), limit=limit + 1,
                               before_id=decode_cursor("id"))
    return jsonify(page(items, limit, lambda e: e["id"]))
