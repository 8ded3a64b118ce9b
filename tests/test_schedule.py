"""`tracker schedule`: due sources, then embedding and assignment of what they brought, every run recorded.

Runs the real command (in-process through click for one scheduler, as two processes for the
overlap test) against feeds on the fixture server, with the fast hashing embedder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner
from httpfixture import FixtureServer
from sqlalchemy import func, select

from tests.ingestkit import Validated, add, ingest_config, ingest_env, numbered_items, rss
from tracker.cli import main
from tracker.db import Database
from tracker.models import Assignment, Embedding, JobRun, Narrative, Source, Statement

ROOT = Path(__file__).resolve().parent.parent

TOPICS = {
    "labs": "secret biological laboratories near the border are developing dangerous weapons says the ministry",
    "sanctions": "western sanctions hurt european households more than anyone with energy prices rising again",
    "vaccine": "the foreign vaccine campaign is a commercial attack on our safe and effective domestic vaccine",
}


def _topic_feed(outlet: str, per_topic: int = 6) -> bytes:
    when = datetime(2021, 3, 1, 12, tzinfo=UTC)
    items = [{"guid": f"{outlet}-{topic}-{i}", "title": f"{topic} {i}", "link": f"https://example.org/{outlet}/{topic}/{i}",
              "date": format_datetime(when), "text": f"{text} report {i} from {outlet}"}
             for topic, text in TOPICS.items() for i in range(per_topic)]
    return rss(outlet, items, language="en").encode()


def _cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_schedule_once_ingests_due_sources_then_embeds_and_assigns_them(db_url: str, tmp_path: Path) -> None:
    env = ingest_env(db_url, tmp_path)
    cfg = ingest_config(db_url, tmp_path)
    db = Database(db_url)
    with FixtureServer() as server:
        for name in ("alpha", "beta"):
            server.routes[f"/{name}"] = Validated(_topic_feed(name))
            add(db, cfg, server.url(f"/{name}"), "rss", name, every="1h")
        first = json.loads(_cli(env, "schedule", "--once"))
        assert first["ingest"]["inserted"] == 36 and first["ingest"]["failed"] == 0
        assert first["embed"]["model"] == "hashing-ngrams-384"
        with db.reader() as session:
            statements = session.scalar(select(func.count(Statement.id)))
            vectors = session.scalar(select(func.count(Embedding.id)).where(Embedding.model == "hashing-ngrams-384"))
            assigned = session.scalar(select(func.count(func.distinct(Assignment.statement_id)))) or 0
            narratives = session.scalar(select(func.count(Narrative.id))) or 0
        assert statements == vectors == 36
        assert narratives >= 3 and assigned >= 30  # three topics found, nearly every statement placed

        # Not due again for an hour: the second round fetches nothing and has nothing to embed.
        second = json.loads(_cli(env, "schedule", "--once"))
        assert second["ingest"]["sources"] == 0 and "embed" not in second
        assert (server.hits("/alpha"), server.hits("/beta")) == (1, 1)
    db.dispose()


def test_two_schedulers_at_once_never_fetch_one_source_at_the_same_time(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, **ingest_env(db_url, tmp_path)}
    cfg = ingest_config(db_url, tmp_path)
    db = Database(db_url)
    with FixtureServer() as server:
        routes = {}
        for i in range(12):
            routes[i] = server.routes[f"/s/{i}"] = Validated(
                rss(f"Wire {i}", numbered_items(f"w{i}", 3), language="en").encode(), delay=0.15)
            add(db, cfg, server.url(f"/s/{i}"), "rss", f"s{i}")
        command = [sys.executable, "-m", "tracker.cli", "schedule", "--once"]
        procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=90) for p in procs]
        hits = {i: server.hits(f"/s/{i}") for i in range(12)}
    assert hits == {i: 1 for i in range(12)}  # each source fetched once ...
    assert all(route.max_active == 1 for route in routes.values())  # ... and never by both at a time
    with db.reader() as session:
        ingests = list(session.scalars(select(JobRun).where(JobRun.kind == "ingest")))
        assert len(ingests) == 2 and len({r.worker for r in ingests}) == 2
        assert all(r.status == "ok" and r.counts["failed"] == 0 for r in ingests)
        assert sum(r.counts["sources"] for r in ingests) == 12
        assert session.scalar(select(func.count(Statement.id))) == 36
        assert session.scalar(select(func.count(Embedding.id))) == 36
    db.dispose()
    # Both also embed and cluster what they fetched: the cluster lock (jobs.cluster) lets one of them
    # assign while the other skips, so neither dies on the one-current-assignment index.
    crashed = [err.decode() for proc, (_, err) in zip(procs, outputs, strict=True) if proc.returncode != 0]
    assert not crashed, crashed[0][-2000:]
    modes = [json.loads(out).get("cluster", {}).get("mode") for out, _ in outputs]
    assert {"full", "incremental"} & set(modes), modes  # at least one of them clustered what came in


def test_jobs_lists_every_run_with_times_counts_and_errors(db_url: str, tmp_path: Path) -> None:
    env = ingest_env(db_url, tmp_path)
    cfg = ingest_config(db_url, tmp_path)
    db = Database(db_url)
    with FixtureServer() as server:
        server.routes["/ok"] = Validated(_topic_feed("gamma", per_topic=2))
        add(db, cfg, server.url("/ok"), "rss", "ok")
        add(db, cfg, server.url("/status/503"), "rss", "down")
        _cli(env, "schedule", "--once")
        _cli(env, "ingest", "--source", "ok")
    with db.reader() as session:
        runs = list(session.scalars(select(JobRun).order_by(JobRun.id)))
        down = session.scalars(select(Source).where(Source.name == "down")).one()
    assert [r.kind for r in runs] == ["ingest", "embed", "cluster", "ingest"]
    assert all(r.finished_at is not None and r.finished_at >= r.started_at for r in runs)
    assert down.last_status == "failed" and "HTTP 503" in (down.last_error or "")
    listing = _cli(env, "jobs", "--limit", "100").splitlines()
    assert len(listing) == len(runs)
    for run in runs:
        (line,) = [x for x in listing if x.startswith(f"#{run.id} ")]
        assert run.kind in line and run.status in line
        assert f"{run.started_at:%Y-%m-%d %H:%M:%S}" in line
        assert re.search(r"\s\d+\.\ds\s", line)  # how long it took: it has finished
        assert f"errors={len(run.errors)}" in line
        assert json.dumps(run.counts, default=str) in line
    first = runs[0]
    assert first.status == "partial" and first.counts["failed"] == 1 and first.counts["inserted"] == 6
    detail = _cli(env, "jobs", "--id", str(first.id))
    assert "down: " in detail and "HTTP 503" in detail
    db.dispose()
