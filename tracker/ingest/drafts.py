"""The hand-off between parsers and the store.

Every parser (files, feeds, pages, transcripts, Telegram) yields ``StatementDraft`` objects for
good input and ``RowError`` objects for bad input, so one bad row never stops a run and the
store never has to know where a statement came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_WEB_URL = re.compile(r"^https?://[^\s/]", re.IGNORECASE)


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL without spaces: the only links a statement may carry (a ``javascript:`` or
    ``data:`` link from a feed or a file would run in the reader's browser)."""
    return bool(_WEB_URL.match(value)) and not re.search(r"\s", value)


@dataclass(frozen=True, slots=True)
class StatementDraft:
    """A statement as a parser saw it, before normalisation, dedup and storage."""

    text: str
    external_id: str | None = None
    published_at: datetime | None = None  # timezone-aware (UTC) when known
    actor: str | None = None  # the speaker (a person or a ministry)
    actor_kind: str | None = None  # one of models.ACTOR_KINDS, or None when unknown
    outlet: str | None = None  # where it was published (TASS, Global Times, MFA site...)
    country: str | None = None  # country of the speaker / outlet
    language: str | None = None  # ISO 639-1 code; detected later when missing
    url: str | None = None
    title: str | None = None
    context: str | None = None  # e.g. the journalist's question for a briefing answer
    origin: str = ""  # where it was read: "file.csv:12", a feed URL, ...
    extra: dict[str, Any] = field(default_factory=dict)  # unknown columns, kept as provenance


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad input item: where it was, which field, and why it was refused."""

    path: str
    line: int | None
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}{what}: {self.reason}"
