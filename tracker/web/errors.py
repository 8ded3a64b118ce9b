"""The one JSON error dialect: ``{"error": {"code", "message", "field"?}}`` with the right status.

Everything under ``/api`` answers in JSON, including Flask's own 404/405/413 and unexpected
failures (logged, never shown), and so do the tagging queue's calls (``/tag/api``); pages answer
with an error page in the site's layout (navigation, what went wrong, what to do next). A use
case's refusal (``tracker.errors.Refused``) becomes an ``ApiError`` with the status of its kind.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
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


#: What an error page says, by status: its title and what the reader can do about it.
PAGE_TEXT = {
    400: ("This request cannot be answered", "Check the address or the form's values; the message above names "
          "the one at fault."),
    401: ("Please log in", "This page is for signed-in users."),
    403: ("Not for your account", "Your role does not open this page: viewers read, researchers tag and manage "
          "narratives, admins look after sources and accounts. Ask an admin if you need more."),
    404: ("Nothing here", "The page does not exist, or no longer does: check the link, or find what you were "
          "looking for from the pages below."),
    405: ("Not like this", "This address does not take that kind of request; use the page's own links and forms."),
    413: ("Too large", "What was sent is larger than the dashboard accepts."),
    429: ("Too many requests", "Wait a few minutes, then try again."),
}


def error_page(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    title, hint = PAGE_TEXT.get(code, (exc.name, "Try again, or start from the pages below."))
    user = g.get("user")
    if code == 403 and user is not None:
        hint = f"You are signed in as {user.name} ({user.role}). {hint}"
    message = exc.description if code == 400 else None
    return render_template("error.html", code=code, title=title, hint=hint, message=message), code


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
        return error_page(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if not wants_json():
            if exc.code is None or exc.code < 400 or exc.response is not None:
                return exc
            return error_page(exc)
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
