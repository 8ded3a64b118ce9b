"""The one JSON error dialect: ``{"error": {"code", "message", "field"?}}`` with the right status.

Everything under ``/api`` answers in JSON, including Flask's own 404/405/413 and unexpected
failures (logged, never shown), and so do the tagging queue's calls (``/tag/api``); pages keep
Werkzeug's small HTML error pages. A use case's refusal (``tracker.errors.Refused``) becomes an
``ApiError`` with the status of its kind.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.errors import Refused

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
    500: "server_error",
}


#: The HTTP status of each kind of refusal.
STATUS_OF = {"invalid": 422, "not_found": 404, "conflict": 409, "forbidden": 403}


class ApiError(Exception):
    """Raised by JSON views; turned into the JSON error document."""

    def __init__(self, status: int, message: str, *, field: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}

    @classmethod
    def refusal(cls, exc: Refused, *, fields: dict[str, str] | None = None) -> ApiError:
        """The JSON error of a refusal; ``fields`` renames the field where this face calls it otherwise."""
        field = exc.field if exc.field is None or fields is None else fields.get(exc.field, exc.field)
        return cls(STATUS_OF[exc.kind], str(exc), field=field)


def refused_as_json(exc: Refused) -> Response:
    """The error handler for refusals in JSON blueprints (the API, the tagging queue's calls)."""
    error = ApiError.refusal(exc)
    return error_response(error.status, error.message, field=error.field, code=error.code)


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
        allowed = getattr(exc, "valid_methods", None)  # a MethodNotAllowed says which methods are
        if exc.code == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
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
