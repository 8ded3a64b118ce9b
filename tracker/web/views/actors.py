"""Dashboard: actors pages (being built; see issue 7)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("actors", __name__)
