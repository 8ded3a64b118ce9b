"""Fetch and parse one source into drafts: feeds, article pages, briefing transcripts, local exports.

Every network call goes through ``tracker.ingest.fetch`` with the settings' limits; what comes back
is handed to the parser of the source's kind. Nothing here writes to the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from tracker.config import Config
from tracker.ingest import fetch as net
from tracker.ingest.drafts import RowError, StatementDraft
from tracker.models import Source
from tracker.vocabulary import FILE_SOURCE_KINDS

log = logging.getLogger(__name__)

Item = StatementDraft | RowError


@dataclass(frozen=True)
class Validators:
    """The HTTP validators to keep for the next conditional GET, and whether this one was a 304."""

    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class SourceNames:
    """The source's default speaker and outlet, which parsers stamp on their drafts."""

    actor: str | None
    outlet: str | None


def fetch_policy(cfg: Config, *, max_bytes: int | None = None) -> net.FetchPolicy:
    ing = cfg.ingest
    return net.FetchPolicy(connect_timeout=ing.connect_timeout, read_timeout=ing.read_timeout,
                           total_timeout=ing.total_timeout, max_redirects=ing.max_redirects,
                           max_bytes=max_bytes or ing.page_max_bytes, user_agent=ing.user_agent,
                           allow_hosts=frozenset(ing.allow_hosts), min_host_delay=ing.min_host_delay)


def collect(source: Source, cfg: Config, names: SourceNames) -> tuple[list[Item], Validators]:
    """Fetch and parse one source; returns drafts and the validators to save with them."""
    if source.kind in FILE_SOURCE_KINDS:
        from tracker.ingest.files import read_statements

        fmt = "telegram" if source.kind == "telegram" else None
        return list(read_statements(Path(source.url), fmt=fmt, max_bytes=cfg.ingest.max_file_mb << 20)), Validators()
    if source.kind == "rss":
        return _collect_feed(source, cfg, names)
    return _collect_page(source, cfg, names)


def _validators(result: net.FetchResult) -> Validators:
    return Validators(result.etag, result.last_modified, result.not_modified)


def _collect_feed(source: Source, cfg: Config, names: SourceNames) -> tuple[list[Item], Validators]:
    from tracker.ingest.feeds import needs_full_text, parse_feed

    result = net.fetch(source.url, fetch_policy(cfg, max_bytes=cfg.ingest.feed_max_bytes),
                       etag=source.etag, last_modified=source.last_modified)
    if result.not_modified:
        return [], _validators(result)
    items: list[Item] = list(parse_feed(result.body, source.url, outlet=names.outlet, actor=names.actor,
                                        country=source.country, content_type=result.content_type))
    if source.fetch_full_text:
        items = [_full_text(item, cfg) if isinstance(item, StatementDraft) and needs_full_text(item) else item
                 for item in items]
    return items, _validators(result)


def _collect_page(source: Source, cfg: Config, names: SourceNames) -> tuple[list[Item], Validators]:
    """An article page (one statement) or a briefing transcript (one statement per answer)."""
    policy = fetch_policy(cfg)
    net.check_robots(source.url, policy)
    result = net.fetch(source.url, policy, etag=source.etag, last_modified=source.last_modified)
    if result.not_modified:
        return [], _validators(result)
    if source.kind == "html":
        from tracker.ingest.pages import parse_page

        page = parse_page(result.body, result.url, outlet=names.outlet, actor=names.actor, country=source.country,
                          content_type=result.content_type)
        return [page], _validators(result)
    from tracker.ingest.transcripts import parse_transcript

    return list(parse_transcript(result.body, result.url, default_speaker=names.actor, outlet=names.outlet,
                                 country=source.country, content_type=result.content_type)), _validators(result)


def _full_text(draft: StatementDraft, cfg: Config) -> Item:
    """Replace a feed summary by the article's text, when the page can be fetched and parsed."""
    from tracker.ingest.pages import parse_page

    if not draft.url:
        return draft
    try:
        policy = fetch_policy(cfg)
        if not net.robots_allowed(draft.url, policy):
            return draft
        fetched = net.fetch(draft.url, policy)
        page = parse_page(fetched.body, fetched.url, content_type=fetched.content_type)
    except net.FetchError as exc:
        log.info("full text of %s not fetched: %s", draft.url, exc)
        return draft
    if isinstance(page, RowError) or len(page.text) <= len(draft.text):
        return draft
    return replace(draft, text=page.text)
