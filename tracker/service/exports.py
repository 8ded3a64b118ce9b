"""Statements, narratives and timelines as files: CSV (formulas neutralised), JSON Lines, JSON."""

from __future__ import annotations

from typing import Any, TextIO

from sqlalchemy.orm import Session

from tracker import export
from tracker.service.workspace import Workspace

__all__ = ["FORMATS", "export_table", "timeline_csv"]

#: The formats each table is written in; the first is the default.
FORMATS = {"statements": ("csv", "jsonl"), "narratives": ("csv", "json")}


def export_table(ws: Workspace, what: str, fmt: str, out: TextIO) -> int:
    """Write every statement (one row each, with its narrative) or every narrative; returns the row count.

    A format the table is not written in is read as its nearest: JSON for statements is JSON Lines,
    JSON Lines for narratives is one JSON document."""
    if fmt not in FORMATS[what]:
        fmt = FORMATS[what][1]
    with ws.db.reader() as session:
        rows = export.statement_rows(session) if what == "statements" else export.narrative_rows(session)
        if fmt == "csv":
            return export.write_csv(rows, export.STATEMENT_COLUMNS if what == "statements" else
                                    export.NARRATIVE_COLUMNS, out)
        if fmt == "jsonl":
            return export.write_jsonl(rows, out)
        return export.write_json(rows, out)


def timeline_csv(session: Session, doc: dict[str, Any], out: TextIO) -> int:
    """A timeline document's events as CSV, one row each, with each statement's title and URL."""
    return export.write_timeline_csv(session, doc, out)
