"""Dashboard: manage pages (being built; see issue 7)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manage", __name__)
