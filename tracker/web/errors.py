"""JSON errors for the API: ``{"error": {"code", "message", "field"?}}`` with the right status.

Everything under ``/api`` answers in JSON, including Flask's own 404/405/413 and unexpected
failures (logged, never shown); pages keep Werkzeug's small HTML error pages.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
    500: "server_error",
}


class ApiError(Exception):
    """Raised by API views; turned into the JSON error document."""

    def __init__(self, status: int, message: str, *, field: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}


def error_response(status: int, message: str, *, field: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code or CODES.get(status, "error"), "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, field=exc.field, code=exc.code, headers=exc.headers)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        if wants_json():
            return error_response(400, exc.description or "CSRF check failed", code="csrf")
        return exc

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if not wants_json():
            return exc
        headers = {}
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # type: ignore[attr-defined]
        status = exc.code or 500
        message = {404: "no such resource", 405: "method not allowed here",
                   413: "request body too large"}.get(status, exc.description or exc.name)
        return error_response(status, message, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response(500, "internal error; it has been logged")
        return "Internal error; it has been logged.", 500, {"Content-Type": "text/plain; charset=utf-8"}
