"""The web app's caches (one set per app), keyed by a cheap data version so nothing is ever stale.

Why: at 100k statements the read views spent their time recomputing the same aggregates (filter
choices, sparklines, timelines with syndication detection) and re-rendering the same large pages
for every request. Everything here is keyed by ``data_version``, which changes on every commit:

* SQLite: ``PRAGMA data_version`` on one dedicated, never-writing connection. SQLite changes it
  whenever any other connection (this process or another, e.g. ``tracker run``) commits, and it
  costs microseconds; each change bumps a generation counter. Before answering, the request's
  reading session is restarted after the check, so what it reads is never older than its key.
* Other databases: the aggregate query ``service.system.data_version`` (max ids and update times).

Which caches there are is ``WebCaches``; each app owns one set (``tracker.web.context``).
``tracker.web.render`` caches the blocks a page template defines.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.service import system

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracker.db import Database

log = logging.getLogger(__name__)


class LRU:
    """A small thread-safe least-recently-used cache for per-process read models."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()  # outside the lock: two threads may both build a cold entry; both are right
        self.put(key, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The cached value, or None (nothing is built)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SqliteWatcher:
    """A generation number that grows whenever a commit lands in one SQLite database file.

    Every caller gets an answer from a ``PRAGMA data_version`` that *started after it asked*, so
    nothing committed before a request can be missed, but concurrent callers share one query
    (single flight): while a check runs, newcomers wait for the next one and all of them take its
    answer. A plain lock around the query was a convoy under load: the sqlite call releases the
    GIL, the lock holder then waits up to the 5 ms switch interval to get it back while every
    other request thread queues behind it (1M-statement bench, overview at 50 clients: 280 req/s,
    against 920 at 8 clients).
    """

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._cond = threading.Condition()
        self._started = 0  # checks begun
        self._done = 0  # checks finished; check k's answer serves everyone who asked before it began
        self._running = False
        self._seen: int | None = None
        self._generation = 0

    def generation(self) -> int:
        with self._cond:
            need = self._started + 1  # a check already running began before this call: not enough
            while self._done < need:
                if not self._running:
                    self._running = True
                    self._started += 1
                    break
                self._cond.wait()
            else:
                return self._generation
        value: int | None = None
        try:
            (value,) = self._conn.execute("PRAGMA data_version").fetchone()  # the connection is ours alone now
        finally:
            with self._cond:
                if value is not None and value != self._seen:
                    self._seen = value
                    self._generation += 1
                if value is not None:
                    self._done = self._started
                self._running = False
                self._cond.notify_all()
        return self._generation


class DataVersions:
    """The data version of one app's database: a token of its own (so two apps in one process never share
    a cache entry) and, for a SQLite file, a watcher; other databases are asked with a cheap query."""

    _tokens = itertools.count(1)

    def __init__(self, db: Database) -> None:
        path = db.engine.url.database or ""
        usable = db.is_sqlite and path and path != ":memory:" and not path.startswith("file:")
        self.token = next(self._tokens)
        self.watcher = SqliteWatcher(path) if usable else None

    def current(self, session: Session) -> tuple[Any, ...]:
        if self.watcher is None:
            return (self.token, *system.data_version(session))
        generation = self.watcher.generation()
        if session.in_transaction():
            session.commit()  # a reading session: ends its snapshot; expire_on_commit is off
        return (self.token, generation)


@dataclass
class WebCaches:
    """Every per-process cache of one app, owned by it (``app.extensions["tracker"].caches``): what one app
    caches never leaks into another app of the same process, and goes away with the app."""

    pages: LRU = field(default_factory=lambda: LRU(512))  # page blocks by (page, query, data version)
    timelines: LRU = field(default_factory=lambda: LRU(64))  # timeline documents per (narrative, version)
    timeline_bodies: LRU = field(default_factory=lambda: LRU(64))  # the API's serialised timelines, ~1 MB at 1M
    read_bodies: LRU = field(default_factory=lambda: LRU(512))  # other API answers that depend on the data alone
    chart_bodies: LRU = field(default_factory=lambda: LRU(64))  # a narrative page's chart.json
    export_bodies: LRU = field(default_factory=lambda: LRU(16))  # timeline.json downloads
    activity: LRU = field(default_factory=lambda: LRU(256))  # statement dates behind the overview's sparklines
    axis: LRU = field(default_factory=lambda: LRU(8))  # the span every sparkline shares
    choices: LRU = field(default_factory=lambda: LRU(8))  # countries and languages for the filter forms
