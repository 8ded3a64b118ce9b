"""The one way the library refuses a request, so every face can answer it the same way.

A refusal says what was wrong (``kind``) and which input was at fault (``field``); the CLI turns it
into a ``click.ClickException``, the dashboard shows it beside the form, the JSON API and the
tagging queue answer with ``{"error": {"code", "message", "field"}}`` and the status of its kind.
"""

from __future__ import annotations

KINDS = ("invalid", "not_found", "conflict", "forbidden")


class Refused(ValueError):
    """A request that cannot be carried out. ``kind`` is one of :data:`KINDS`; ``field`` names the input."""

    def __init__(self, message: str, *, kind: str = "invalid", field: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.field = field
