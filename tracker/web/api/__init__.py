"""The JSON API under ``/api``: everything the dashboard shows or changes, for scripts too.

Reads are keyset-paginated (``limit`` and an opaque ``next`` cursor); writes take JSON bodies,
need an API token of the right role, and run in one transaction with their audit row. Input is
checked here, at the edge (``args.py``, ``fields.py``), so the layers below only see well-typed
values; every refusal is a JSON error naming the field (see ``tracker/web/errors.py``). The
OpenAPI document (``tracker/web/openapi.py``) describes exactly these routes and shapes.

The routes live in ``reads.py``, ``writes.py`` and ``admin.py``; importing them here registers
them on ``bp``, whose endpoints are ``api.<function name>``.
"""

from __future__ import annotations

from tracker.web.api.blueprint import bp

# Importing the route modules registers their routes, in the URL map's order: reads, writes, admin.
# isort: off
from tracker.web.api import reads, writes, admin  # noqa: F401
# isort: on

__all__ = ["bp"]
