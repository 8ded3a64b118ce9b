"""Actors: who spoke and who published, their spellings, and researchers' alias edits and merges."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tracker import actors
from tracker.errors import Refused
from tracker.models import Actor, User
from tracker.queries import actor_dates, actor_detail, actor_view, list_actors
from tracker.service.workspace import Workspace

__all__ = ["actor_dates", "actor_detail", "add_alias", "apply_alias_file", "list_actors", "merge", "suggestions"]


def _change(ws: Workspace, change: Callable[[Session], Actor]) -> dict[str, Any]:
    """One actor change in one transaction (with its audit row); returns the actor it leaves."""
    with ws.db.transaction() as tx:
        return actor_view(tx, change(tx))


def add_alias(ws: Workspace, user: User | None, actor_id: int, alias: str) -> dict[str, Any]:
    """Teach another spelling of an actor; a separate actor already known by it is merged in."""
    return _change(ws, lambda tx: actors.add_alias(tx, actor_id, alias, user=user))


def merge(ws: Workspace, user: User | None, keep_id: int, merge_id: int) -> dict[str, Any]:
    """Fold actor ``merge_id`` into ``keep_id``: statements, sources and spellings move over."""
    return _change(ws, lambda tx: actors.merge_actors(tx, keep_id, merge_id, user=user))


def suggestions(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """Pairs of actors that are probably one under two spellings, best first."""
    return actors.suggestions(session, limit=limit)


def apply_alias_file(ws: Workspace, user: User | None, path: Path) -> dict[str, Any]:
    """Apply alias rules from a TOML file: an ``[aliases]`` table of canonical name = [spellings]."""
    try:
        rules = tomllib.loads(path.read_text(encoding="utf-8")).get("aliases", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Refused(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(rules, dict) or not all(isinstance(v, list) for v in rules.values()):
        raise Refused(f"{path}: [aliases] must map a canonical name to a list of spellings")
    with ws.db.transaction() as tx:
        return actors.apply_alias_rules(tx, rules, user=user)
