"""What readers narrow rows by: the filter every listing shares, substring matches, keyset pages.

One place for these so the API, the dashboard, the CLI and the exports filter and page alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from tracker.models import Actor, ActorAlias, Assignment, Statement
from tracker.vocabulary import CURRENT_STATES


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so searches match them literally (with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; what the reader types is matched literally, wildcards too."""
    return func.lower(column).like(f"%{like_escape(text.strip().lower())}%", escape="\\")


def keyset_desc(time_col: Any, id_col: Any, after: tuple[str | None, int] | None) -> Any:
    """Rows after ``after`` in (time desc, nulls last, id desc) order."""
    if after is None:
        return None
    when, last_id = after
    if when is None:
        return and_(time_col.is_(None), id_col < last_id)
    seen = datetime.fromisoformat(when)
    return or_(time_col < seen, and_(time_col == seen, id_col < last_id), time_col.is_(None))


class StatementFilter:
    """What a reader narrows statements by: country, actor, language, dates, narrative, words.

    Empty values mean "any". ``actor`` matches speaker or outlet names and their other spellings
    (substring), ``actor_id``
    either role exactly; ``since`` and ``until`` are inclusive instants in UTC. Narrative listings
    keep the narratives with a matching statement, and match ``q`` in their label or description.
    """

    FIELDS = ("country", "actor", "actor_id", "language", "since", "until", "narrative_id", "q")

    def __init__(self, *, country: str | None = None, actor: str | None = None, actor_id: int | None = None,
                 language: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 narrative_id: int | None = None, q: str | None = None) -> None:
        self.country = (country or "").strip().upper() or None
        self.actor = (actor or "").strip() or None
        self.actor_id = actor_id
        self.language = (language or "").strip().lower() or None
        self.since, self.until = since, until
        self.narrative_id = narrative_id
        self.q = (q or "").strip() or None

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self.FIELDS)

    def active(self) -> bool:
        return any(v is not None for v in self.key())

    def clauses(self, *, with_text: bool = True, with_narrative: bool = True) -> list[Any]:
        """WHERE clauses over ``Statement``; the narrative's is a correlated EXISTS on its assignments."""
        out: list[Any] = []
        if self.country:
            out.append(Statement.country == self.country)
        if self.language:
            out.append(Statement.language == self.language)
        if self.since is not None:
            out.append(Statement.published_at >= self.since)
        if self.until is not None:
            out.append(Statement.published_at <= self.until)
        if self.actor_id is not None:
            out.append(or_(Statement.speaker_id == self.actor_id, Statement.outlet_id == self.actor_id))
        if self.actor:
            ids = actors_named(self.actor)
            out.append(or_(Statement.speaker_id.in_(ids), Statement.outlet_id.in_(ids)))
        if with_text and self.q:
            out.append(contains(Statement.text, self.q))
        if with_narrative and self.narrative_id is not None:
            out.append(in_narrative(self.narrative_id))
        return out


def actors_named(text: str) -> Any:
    """Ids of the actors whose name or any other spelling contains ``text`` ("赵立坚" finds Zhao Lijian)."""
    return select(Actor.id).where(contains(Actor.name, text)).union(
        select(ActorAlias.actor_id).where(contains(ActorAlias.alias, text)))


def in_narrative(narrative_id: int, states: tuple[str, ...] = CURRENT_STATES) -> Any:
    """Filter on ``Statement``: it has an assignment to the narrative in one of ``states``."""
    return select(Assignment.id).where(Assignment.statement_id == Statement.id, Assignment.narrative_id == narrative_id,
                                       Assignment.state.in_(states)).exists()


def filter_choices(session: Session) -> dict[str, list[str]]:
    """Countries and languages present in the data, for the filter forms."""
    countries = session.scalars(select(Statement.country).where(Statement.country.is_not(None))
                                .distinct().order_by(Statement.country))
    languages = session.scalars(select(Statement.language).where(Statement.language.is_not(None))
                                .distinct().order_by(Statement.language))
    return {"countries": [c for c in countries if c], "languages": [lang for lang in languages if lang]}
