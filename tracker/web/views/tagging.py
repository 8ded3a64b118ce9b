"""Dashboard: tagging pages (being built; see issue 7)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tagging", __name__)
