"""The `tracker` command: thin click commands over the library.

Each command parses its arguments, calls one library function and prints. Heavy modules (the
database layer, numpy, the embedding model) are imported inside commands, so `tracker --help`
starts instantly.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker import __version__
from tracker.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from tracker.db import Database


@dataclass
class AppContext:
    """Created once in the group and handed to every command."""

    config: Config
    _db: Any = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            from tracker.db import Database, ensure_schema

            self._db = Database(self.config.database_url, busy_timeout_ms=self.config.database.busy_timeout_ms,
                                echo=self.config.database.echo)
            try:
                ensure_schema(self._db)
            except Exception as exc:  # noqa: BLE001 - any connection/migration failure is a user-facing error
                raise click.ClickException(f"cannot open database {self.config.database_url}: {exc}") from exc
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_app = click.make_pass_decorator(AppContext)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="TRACKER_CONFIG",
              help="TOML settings file (default: $TRACKER_CONFIG, else built-in defaults).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Track which narratives state officials and state media push, and who amplifies them."""
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    app = AppContext(config)
    ctx.obj = app
    ctx.call_on_close(app.close)


@main.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the database, or upgrade it to the newest schema."""
    from tracker.db import SCHEMA_HEAD, current_revision

    db = app.db
    click.echo(f"database ready at {_masked(app.config.database_url)} (schema {current_revision(db.engine)}, "
               f"head {SCHEMA_HEAD})")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "telegram"]),
              help="File format (default: from the extension: .csv, .jsonl/.ndjson, .json for Telegram).")
@click.option("--preset", type=click.Choice(["euvsdisinfo"]),
              help="Column mapping for a known data set (euvsdisinfo: title->text, id->external_id, ...).")
@click.option("--sample", is_flag=True, help="Import the sample corpus bundled with the package.")
@click.option("--batch-size", default=1000, show_default=True, help="Rows per transaction.")
@pass_app
def import_(app: AppContext, file: Path | None, fmt: str | None, preset: str | None, sample: bool,
            batch_size: int) -> None:
    """Import statements from a CSV, JSONL or Telegram export file.

    `text` is required; optional columns: external_id, published_at, actor, actor_kind, outlet,
    country, language, url, title. Bad rows are reported with their line number; the rest import.
    Importing the same file again adds nothing.
    """
    from tracker.ingest.files import FileFormatError
    from tracker.jobs import import_file

    if sample:
        from tracker.sample import corpus_path

        file = corpus_path()
    if file is None:
        raise click.UsageError("give a FILE or --sample")
    try:
        stats, job_id = import_file(app.db, app.config, file, fmt=fmt, preset=preset, batch_size=batch_size)
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from exc
    for err in stats.errors[:50]:
        click.echo(f"error: {err}", err=True)
    if len(stats.errors) > 50:
        click.echo(f"error: ... and {len(stats.errors) - 50} more (see `tracker jobs --id {job_id}`)", err=True)
    click.echo(f"{file}: {stats.inserted} new, {stats.updated} updated, {stats.unchanged} unchanged, "
               f"{len(stats.errors)} bad rows")


@main.command()
@pass_app
def embed(app: AppContext) -> None:
    """Embed statements that have no vector for the configured model yet."""
    from tracker import jobs

    echo_json(jobs.embed(app.db, app.config))


@main.command()
@click.option("--full", is_flag=True, help="Re-discover narratives from all statements (ids are kept stable).")
@pass_app
def cluster(app: AppContext, full: bool) -> None:
    """Assign new statements to narratives (or discover narratives with --full / on first use)."""
    from tracker import jobs

    echo_json(jobs.cluster(app.db, app.config, app.config.embedding.model, full=full))


@main.command()
@click.option("--full", is_flag=True, help="Full narrative discovery instead of incremental assignment.")
@pass_app
def run(app: AppContext, full: bool) -> None:
    """Ingest due sources, embed new statements and assign them to narratives, in one job."""
    from tracker import jobs

    echo_json(jobs.run_pipeline(app.db, app.config, full=full))


@main.command()
@click.argument("what", type=click.Choice(["statements", "narratives"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@pass_app
def export(app: AppContext, what: str, fmt: str, output: Path | None) -> None:
    """Export statements (one row each, with their narrative) or narratives."""
    from tracker import export as ex

    if what == "statements" and fmt == "json":
        fmt = "jsonl"
    if what == "narratives" and fmt == "jsonl":
        fmt = "json"
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with app.db.reader() as session:
            rows = ex.statement_rows(session) if what == "statements" else ex.narrative_rows(session)
            columns = ex.STATEMENT_COLUMNS if what == "statements" else ex.NARRATIVE_COLUMNS
            if fmt == "csv":
                count = ex.write_csv(rows, columns, out)
            elif fmt == "jsonl":
                count = ex.write_jsonl(rows, out)
            else:
                count = ex.write_json(rows, out)
    finally:
        if output:
            out.close()
    if output:
        click.echo(f"wrote {count} {what} to {output}", err=True)


@main.command()
@pass_app
def info(app: AppContext) -> None:
    """Print version, database, embedding model and counts as JSON."""
    from sqlalchemy import func, select

    from tracker.db import current_revision
    from tracker.embed import resolve_model_path
    from tracker.models import Actor, Assignment, Embedding, JobRun, Narrative, Source, Statement

    db = app.db
    with db.reader() as session:
        def count(model: Any, *where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        counts = {
            "statements": count(Statement),
            "actors": count(Actor),
            "sources": count(Source),
            "embeddings": count(Embedding, Embedding.model == app.config.embedding.model),
            "narratives": count(Narrative, Narrative.status.in_(("emerging", "active", "dormant"))),
            "assigned": count(Assignment, Assignment.state.in_(("assigned", "confirmed"))),
            "suggested": count(Assignment, Assignment.state == "suggested"),
            "job_runs": count(JobRun),
        }
    echo_json({
        "version": __version__,
        "config": app.config.source or None,
        "database_url": _masked(app.config.database_url),
        "schema": current_revision(db.engine),
        "embedding_model": resolve_model_path(app.config.embedding.model),
        "embedding_model_name": app.config.embedding.model,
        "counts": counts,
    })


@main.command()
@click.option("--limit", default=20, show_default=True)
@click.option("--id", "job_id", type=int, help="Show one run in full, with its errors.")
@pass_app
def jobs(app: AppContext, limit: int, job_id: int | None) -> None:
    """List recent job runs (started, finished, status, counts, errors)."""
    from sqlalchemy import select

    from tracker.models import JobRun

    with app.db.reader() as session:
        query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
        if job_id is not None:
            query = select(JobRun).where(JobRun.id == job_id)
        runs = list(session.scalars(query))
    if job_id is not None and not runs:
        raise click.ClickException(f"no job run with id {job_id}")
    for r in runs:
        took = f"{(r.finished_at - r.started_at).total_seconds():.1f}s" if r.finished_at else "-"
        click.echo(f"#{r.id} {r.kind:<8} {r.status:<8} {r.started_at:%Y-%m-%d %H:%M:%S} {took:>8} "
                   f"errors={len(r.errors or [])} {json.dumps(r.counts, default=str)}")
        if job_id is not None:
            for e in r.errors or []:
                click.echo(f"  {e}")


@main.group()
def narratives() -> None:
    """List, show and define narratives."""


@narratives.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include merged, retired and archived narratives.")
@pass_app
def narratives_list(app: AppContext, show_all: bool) -> None:
    """List narratives: id, status, size and label, largest first."""
    from sqlalchemy import select

    from tracker.models import Narrative

    with app.db.reader() as session:
        query = select(Narrative).order_by(Narrative.size.desc(), Narrative.id)
        if not show_all:
            query = query.where(Narrative.status.in_(("emerging", "active", "dormant")))
        for n in session.scalars(query):
            click.echo(f"{n.id:>5} {n.status:<9} {n.size:>6}  {n.label}")


@narratives.command("add")
@click.option("--label", required=True, help="Short name, e.g. 'US bio-labs'.")
@click.option("--description", default=None, help="What the narrative claims.")
@click.option("--example", "examples", multiple=True, help="An example statement (repeat for several).")
@click.option("--examples-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file with one example statement per line.")
@pass_app
def narratives_add(app: AppContext, label: str, description: str | None, examples: tuple[str, ...],
                   examples_file: Path | None) -> None:
    """Define a seeded narrative from a label, a description and example statements."""
    from tracker.embed import make_embedder
    from tracker.narratives.assign import TagError, add_seeded_narrative

    texts = list(examples)
    if examples_file:
        texts += [line for line in examples_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        nid, report = add_seeded_narrative(app.db, app.config.narratives, make_embedder(app.config.embedding),
                                           label, description, texts)
    except TagError as exc:
        raise click.ClickException(str(exc)) from exc
    echo_json({"narrative_id": nid, **report.as_dict()})


SERVE_SWITCH_INTERVAL = 0.001  # seconds


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: web.host).")
@click.option("--port", default=None, type=int, help="Port (default: web.port).")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the dashboard and JSON API with a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    # Waitress threads share one GIL, and every socket or SQLite call hands it over; with the
    # default 5 ms switch interval a thread coming back from one waits up to 5 ms to run again.
    # 1 ms: p95 at 50 clients on 1M statements 193 -> 82 ms (narrative page), 214 -> 76 ms
    # (its chart data), bench/README.md.
    sys.setswitchinterval(SERVE_SWITCH_INTERVAL)

    from tracker.web import create_app

    cfg = app.config
    web = create_app(cfg, db=app.db)
    host, port = host or cfg.web.host, port or cfg.web.port
    click.echo(f"serving http://{host}:{port} (database {_masked(cfg.database_url)})")
    waitress_serve(web, host=host, port=port, threads=cfg.web.threads, ident="narrative-tracker")


def _edge_limit(value: str) -> str:
    if value != "all" and not value.isdigit():
        raise click.BadParameter(f"must be a whole number or 'all', got {value!r}")
    return value


@main.command()
@click.argument("narrative_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: the whole timeline document (as the API returns it); csv: its events.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@click.option("--edges", default="500", show_default=True, callback=lambda _c, _p, v: _edge_limit(v),
              help="Heaviest actor edges to include, or 'all' (edges_total counts them all); as the API's ?edges=.")
@pass_app
def timeline(app: AppContext, narrative_id: int, fmt: str, output: Path | None, edges: str) -> None:
    """Who said a narrative first, who followed, how fast and across which countries."""
    from tracker import export as ex
    from tracker.analysis.load import narrative_timeline
    from tracker.analysis.timeline import limit_edges

    with app.db.reader() as session:
        doc = narrative_timeline(session, narrative_id, app.config)
    if doc is None:
        raise click.ClickException(f"no narrative with id {narrative_id}")
    doc = limit_edges(doc, None if edges == "all" else int(edges))
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            out.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
        else:
            columns = ("statement_id", "external_id", "published_at", "actor", "outlet", "country", "kind",
                       "syndicated_from", "text")
            ex.write_csv(iter(doc["events"]), columns, out)
    finally:
        if output:
            out.close()


@main.group()
def actors() -> None:
    """List actors, merge spellings of one actor, and review alias suggestions."""


@actors.command("list")
@click.option("--outlets", is_flag=True, help="List outlets instead of speakers.")
@pass_app
def actors_list(app: AppContext, outlets: bool) -> None:
    """List speakers (or outlets) with their kind, country and other spellings."""
    from sqlalchemy import select

    from tracker.models import Actor

    with app.db.reader() as session:
        for a in session.scalars(select(Actor).where(Actor.is_outlet.is_(outlets)).order_by(Actor.name)):
            others = sorted(x.alias for x in a.aliases if x.alias != a.name)
            aka = f"  (also: {', '.join(others)})" if others else ""
            click.echo(f"{a.id:>5} {a.kind:<12} {a.country or '--':<3} {a.name}{aka}")


@actors.command("suggest")
@click.option("--limit", default=50, show_default=True)
@pass_app
def actors_suggest(app: AppContext, limit: int) -> None:
    """Pairs of actors that are probably one person or outlet under two spellings."""
    from tracker.actors import suggestions

    with app.db.reader() as session:
        echo_json(suggestions(session, limit=limit))


@actors.command("merge")
@click.argument("keep_id", type=int)
@click.argument("merge_id", type=int)
@pass_app
def actors_merge(app: AppContext, keep_id: int, merge_id: int) -> None:
    """Fold actor MERGE_ID into KEEP_ID (statements, sources and spellings move over)."""
    from tracker.actors import ActorError, actor_view, merge_actors

    try:
        with app.db.transaction() as session:
            echo_json(actor_view(session, merge_actors(session, keep_id, merge_id)))
    except ActorError as exc:
        raise click.ClickException(str(exc)) from exc


@actors.command("alias")
@click.argument("actor_id", type=int)
@click.argument("alias")
@pass_app
def actors_alias(app: AppContext, actor_id: int, alias: str) -> None:
    """Add another spelling of an actor (an actor already known by it is merged in)."""
    from tracker.actors import ActorError, actor_view, add_alias

    try:
        with app.db.transaction() as session:
            echo_json(actor_view(session, add_alias(session, actor_id, alias)))
    except ActorError as exc:
        raise click.ClickException(str(exc)) from exc


@actors.command("load-rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def actors_load_rules(app: AppContext, file: Path) -> None:
    """Apply alias rules from a TOML file: an [aliases] table of canonical name = [spellings]."""
    import tomllib

    from tracker.actors import ActorError, apply_alias_rules

    try:
        rules = tomllib.loads(file.read_text(encoding="utf-8")).get("aliases", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not valid TOML: {exc}") from exc
    if not isinstance(rules, dict) or not all(isinstance(v, list) for v in rules.values()):
        raise click.ClickException(f"{file}: [aliases] must map a canonical name to a list of spellings")
    try:
        with app.db.transaction() as session:
            echo_json(apply_alias_rules(session, rules))
    except ActorError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup_(app: AppContext, target: Path) -> None:
    """Write an online backup (SQLite: VACUUM INTO; PostgreSQL: pg_dump custom format) to TARGET."""
    from tracker.backup import BackupError, backup

    try:
        click.echo(f"backup written to {backup(app.db, target)}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def sources() -> None:
    """Add, list, pause and resume the feeds, pages and transcripts that `tracker ingest` fetches."""


@sources.command("add")
@click.argument("url")
@click.option("--kind", required=True, type=click.Choice(["rss", "html", "transcript", "telegram", "file"]),
              help="rss: RSS/Atom feed; html: an article page; transcript: a press-briefing page; "
                   "telegram/file: a local export or CSV/JSONL path.")
@click.option("--name", help="Unique name (default: host and path of the URL).")
@click.option("--actor", help="Default speaker of its statements, e.g. 'Maria Zakharova'.")
@click.option("--outlet", help="Outlet its statements appear in, e.g. 'TASS'.")
@click.option("--country", help="ISO country code of the speaker / outlet, e.g. RU.")
@click.option("--every", help="Fetch interval such as 30m, 2h, 1d (default: ingest.default_every).")
@click.option("--full-text", is_flag=True, help="Fetch the full article when a feed entry only has a summary.")
@pass_app
def sources_add(app: AppContext, url: str, kind: str, name: str | None, actor: str | None, outlet: str | None,
                country: str | None, every: str | None, full_text: bool) -> None:
    """Register a source (a feed, page, briefing transcript or local export) to fetch on a schedule."""
    from tracker.ingest.sources import SourceError, add_source, source_view

    try:
        with app.db.transaction() as session:
            source = add_source(session, app.config, url, kind, name=name, actor=actor, outlet=outlet,
                                country=country, every=every, fetch_full_text=full_text)
            view = source_view(source)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    echo_json(view)


@sources.command("list")
@pass_app
def sources_list(app: AppContext) -> None:
    """List sources with their schedule, last fetch and last error."""
    from sqlalchemy import select

    from tracker.models import Source

    with app.db.reader() as session:
        for s in session.scalars(select(Source).order_by(Source.name)):
            state = "on " if s.enabled else "off"
            last = f"{s.last_fetched_at:%Y-%m-%d %H:%M}" if s.last_fetched_at else "never"
            err = f"  error: {s.last_error}" if s.last_status == "failed" and s.last_error else ""
            click.echo(f"{s.id:>4} {state} {s.kind:<10} every {s.every_seconds // 60:>5}m  last {last}  "
                       f"{s.name}  {s.url}{err}")


def _set_enabled(app: AppContext, name: str, enabled: bool) -> None:
    from sqlalchemy import select

    from tracker import audit
    from tracker.models import Source

    with app.db.transaction() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        if source is None:
            raise click.ClickException(f"no source called {name!r}")
        audit.record(session, None, "source.enable" if enabled else "source.pause", "source", source.id,
                     {"enabled": source.enabled}, {"enabled": enabled})
        source.enabled = enabled
    click.echo(f"{name}: {'enabled' if enabled else 'paused'}")


@sources.command("pause")
@click.argument("name")
@pass_app
def sources_pause(app: AppContext, name: str) -> None:
    """Stop fetching a source (it keeps its statements)."""
    _set_enabled(app, name, False)


@sources.command("resume")
@click.argument("name")
@pass_app
def sources_resume(app: AppContext, name: str) -> None:
    """Fetch a paused source again."""
    _set_enabled(app, name, True)


@main.command()
@click.option("--source", "name", help="Only this source (fetched even when not due).")
@click.option("--due", is_flag=True, help="Only sources whose interval has passed (default without --source).")
@pass_app
def ingest(app: AppContext, name: str | None, due: bool) -> None:
    """Fetch sources once and store what they bring (embedding and clustering are `tracker run`'s job)."""
    from tracker.ingest.sources import SourceError, ingest_due

    try:
        result = ingest_due(app.db, app.config, name=name, due_only=due or name is None)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    echo_json(result or {"sources": 0, "note": "no sources; add one with `tracker sources add`"})


@main.command()
@click.option("--poll", default=30.0, show_default=True, help="Seconds between looks for due sources.")
@click.option("--once", is_flag=True, help="One round, then exit (for cron).")
@pass_app
def schedule(app: AppContext, poll: float, once: bool) -> None:
    """Run forever: fetch due sources, then embed and assign their new statements."""
    import signal

    from tracker.jobs import schedule_loop

    stopping = {"now": False}

    def stop(*_: Any) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rounds = schedule_loop(app.db, app.config, poll_seconds=poll, once=once, stop=lambda: stopping["now"])
    if once:
        echo_json(rounds[-1])


@main.group()
def users() -> None:
    """Accounts for the dashboard and API: viewers read, researchers tag and edit, admins manage."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "researcher", "admin"]), help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@pass_app
def users_add(app: AppContext, name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is prompted for (or read with --password-stdin)."""
    from tracker.accounts import AccountError, create_user

    minimum = app.config.auth.min_password_length
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"password (at least {minimum} characters)", hide_input=True,
                                confirmation_prompt=True)
    try:
        with app.db.transaction() as session:
            create_user(session, name, role, password, app.config.auth)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {role} {name}")


@users.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for, e.g. 'nightly export'.")
@pass_app
def users_token(app: AppContext, name: str, label: str | None) -> None:
    """Print a new API token for NAME (shown once; send it as 'Authorization: Bearer <token>')."""
    from tracker.accounts import get_user, issue_token

    with app.db.transaction() as session:
        user = get_user(session, name)
        if user is None:
            raise click.ClickException(f"no user called {name!r}; add one with `tracker users add`")
        token = issue_token(session, user, label=label)
    click.echo(token)


@users.command("list")
@pass_app
def users_list(app: AppContext) -> None:
    """List users with their role."""
    from sqlalchemy import select

    from tracker.models import User

    with app.db.reader() as session:
        for u in session.scalars(select(User).order_by(User.name)):
            click.echo(f"{u.id:>4} {u.role:<10} {'disabled' if u.disabled else 'active':<8} {u.name}")


def _masked(url: str) -> str:
    from tracker.config import mask_url

    return mask_url(url)


if __name__ == "__main__":  # pragma: no cover
    main()
