"""Which models embedded a statement; its nearest neighbours come from ``tracker.web.similarity``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Statement


def embedding_models(session: Session, statement_id: int) -> list[str]:
    """Models that have a vector for this statement's text."""
    from tracker.models import Embedding

    return list(session.scalars(select(Embedding.model).join(Statement, Statement.text_hash == Embedding.text_hash)
                                .where(Statement.id == statement_id).order_by(Embedding.model)))
