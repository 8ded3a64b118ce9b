"""Shared by the web tests: an app over a test database, users with API tokens, and a small seeded corpus
(two narratives, statements by named actors) with known ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from tracker import accounts
from tracker.config import Config
from tracker.db import Database
from tracker.embed import HashingEmbedder, embed_pending
from tracker.ingest.drafts import StatementDraft
from tracker.ingest.store import store_drafts
from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.web import create_app

ROLES = ("viewer", "researcher", "admin")
PASSWORD = "correct horse battery staple"


def make_app(config: Config, db: Database, **auth: Any) -> Flask:
    app = create_app(config.replace(auth=auth) if auth else config, db=db, embedder=HashingEmbedder())
    app.testing = True
    return app


def add_user(db: Database, config: Config, name: str, role: str, password: str | None = None) -> str:
    """Create a user (token-only unless given a password: hashing costs 0.25 s) and return an API token."""
    with db.transaction() as tx:
        user = accounts.create_user(tx, name, role, password, config.auth)
        return accounts.issue_token(tx, user)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Seeded:
    statements: list[int]
    narratives: list[int]
    actors: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)


TEXTS = [
    ("The laboratories near our border make biological weapons.", "Ministry Spokesperson", "TASS", "RU", "2022-03-01"),
    ("Secret biological laboratories near the border develop weapons.", "Ministry Spokesperson", "TASS", "RU",
     "2022-03-03"),
    ("Biological weapons laboratories operate near the border, officials say.", "Embassy", "Global Times", "CN",
     "2022-03-05"),
    ("Sanctions hurt the ordinary people of Europe more than anyone.", "Embassy", "Global Times", "CN", "2022-04-01"),
    ("European households pay for sanctions with their heating bills.", "Ministry Spokesperson", "TASS", "RU",
     "2022-04-10"),
]


def seed(db: Database, config: Config, texts: list[tuple[str, str, str, str, str]] = TEXTS) -> Seeded:
    """Five statements from two actors, embedded, in two narratives; plus a user per role with a token."""
    drafts = [StatementDraft(text=t, actor=a, outlet=o, country=c, language="en",
                             published_at=datetime.fromisoformat(d).replace(tzinfo=UTC), origin=f"test:{i}")
              for i, (t, a, o, c, d) in enumerate(texts)]
    with db.transaction() as tx:
        store_drafts(tx, drafts)
    embed_pending(db, HashingEmbedder())
    with db.transaction() as tx:
        ids = list(tx.scalars(select(Statement.id).order_by(Statement.id)))
        labs = Narrative(label="Bio-labs", status="active", keywords=["labs"], model=HashingEmbedder().name)
        sanctions = Narrative(label="Sanctions hurt Europe", status="active", model=HashingEmbedder().name)
        tx.add_all([labs, sanctions])
        tx.flush()
        for sid in ids[:3]:
            tx.add(Assignment(statement_id=sid, narrative_id=labs.id, state="assigned", method="auto", score=0.8))
        for sid in ids[3:]:
            tx.add(Assignment(statement_id=sid, narrative_id=sanctions.id, state="assigned", method="auto",
                              score=0.7))
        tx.flush()
        from tracker.narratives.assign import recount

        recount(tx, [labs.id, sanctions.id])
        labs.representative_ids = ids[:2]
        actors = {a.name: a.id for a in tx.scalars(select(Actor))}
        nids = [labs.id, sanctions.id]
    out = Seeded(ids, nids, actors)
    for role in ROLES:
        out.tokens[role] = add_user(db, config, role, role)
    return out
