"""The ``api`` Blueprint and what every route module needs beyond its arguments.

Kept apart from the package's ``__init__`` so the route modules can import it without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint

from tracker.errors import Refused
from tracker.web.auth import current_user
from tracker.web.errors import ApiError, refused_as_json
from tracker.web.requests import ID, MAX_ID

if TYPE_CHECKING:
    from tracker.models import User

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_error_handler(Refused, refused_as_json)

__all__ = ["ID", "MAX_ID", "bp", "me", "not_found"]


def me() -> User:
    user = current_user()
    assert user is not None  # the gate let a writer through
    return user


def not_found(what: str, ident: int) -> ApiError:
    return ApiError(404, f"{what} {ident} does not exist")
