"""JSON bodies of writes checked at the edge: unknown fields, types and sizes are 4xx naming the field."""

from __future__ import annotations

from typing import Any

from flask import request

from tracker.web.api.args import check_text
from tracker.web.api.blueprint import MAX_ID
from tracker.web.errors import ApiError


def body(allowed: tuple[str, ...]) -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    for key in data:
        if key not in allowed:
            raise ApiError(422, f"unknown field {key!r} (known: {', '.join(allowed)})", field=str(key)[:100])
    return data


def field_str(data: dict[str, Any], name: str, *, required: bool = False, max_len: int = 300,
              nullable: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required or (name in data and not nullable):
            raise ApiError(422, f"{name} is required", field=name)
        return None
    value = check_text(value, name, max_len=max_len).strip()
    if required and not value:
        raise ApiError(422, f"{name} must not be empty", field=name)
    return value


def field_int(data: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ApiError(422, f"{name} must be an id (a positive integer)", field=name)
    return value


def field_bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise ApiError(422, f"{name} must be true or false", field=name)
    return value


def field_list(data: dict[str, Any], name: str, kind: type, *, max_items: int = 1000) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise ApiError(422, f"{name} must be a non-empty list", field=name)
    if len(value) > max_items:
        raise ApiError(422, f"{name} has more than {max_items} items", field=name)
    if kind is int:
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ID for v in value):
            raise ApiError(422, f"{name} must list ids", field=name)
        return value
    return [check_text(v, name, max_len=5000) for v in value]

