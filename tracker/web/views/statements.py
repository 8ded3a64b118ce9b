"""Dashboard: statements pages (being built; see issue 7)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("statements", __name__)
