"""Commands that move statements in and out as files: import a CSV, JSONL or Telegram export, export
statements or narratives."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.group import AppContext, main, output, pass_app, refusals_as_errors


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
    from tracker.service import pipeline

    if file is None and not sample:
        raise click.UsageError("give a FILE or --sample")
    path, stats, job_id = refusals_as_errors(lambda: pipeline.import_statements(
        app.ws, file, sample=sample, fmt=fmt, preset=preset, batch_size=batch_size))
    for err in stats.errors[:50]:
        click.echo(f"error: {err}", err=True)
    if len(stats.errors) > 50:
        click.echo(f"error: ... and {len(stats.errors) - 50} more (see `tracker jobs --id {job_id}`)", err=True)
    click.echo(f"{path}: {stats.inserted} new, {stats.updated} updated, {stats.unchanged} unchanged, "
               f"{len(stats.errors)} bad rows")


@main.command()
@click.argument("what", type=click.Choice(["statements", "narratives"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: stdout).")
@pass_app
def export(app: AppContext, what: str, fmt: str, target: Path | None) -> None:
    """Export statements (one row each, with their narrative) or narratives."""
    from tracker.service import exports

    with output(target) as out:
        count = exports.export_table(app.ws, what, fmt, out)
    if target:
        click.echo(f"wrote {count} {what} to {target}", err=True)
