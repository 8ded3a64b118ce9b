"""The `tracker` command as a user runs it: help texts, init, import, run, export, info, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.db import SCHEMA_HEAD


def invoke(env: dict[str, str], *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    return result


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"TRACKER_DATABASE_URL": db_url, "TRACKER_DATA_DIR": str(tmp_path / "data"),
            "TRACKER_EMBEDDING_MODEL": "hashing-ngrams-384", "TRACKER_CONFIG": ""}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help_text() -> None:
    for path, cmd in _commands(main):
        assert (cmd.help or cmd.short_help), f"`tracker {' '.join(path)}` has no help text"
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path


def test_init_then_info_reports_counts_and_masks_password(env: dict[str, str]) -> None:
    assert invoke(env, "init").exit_code == 0
    result = invoke(env, "info")
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["counts"]["statements"] == 0
    assert info["embedding_model"] == "hashing-ngrams-384"
    assert info["schema"] == SCHEMA_HEAD == "0006_embedding_backlog"


def test_info_masks_the_database_password(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{db}", "TRACKER_CONFIG": ""}
    info = json.loads(invoke(env, "info").output)
    assert info["database_url"].endswith("x.db")
    from tracker.config import mask_url

    assert "s3cret" not in mask_url("postgresql+psycopg://me:s3cret@localhost/db")


def test_import_sample_run_and_export_give_one_row_per_statement(env: dict[str, str], tmp_path: Path) -> None:
    imported = invoke(env, "import", "--sample")
    assert imported.exit_code == 0, imported.output
    assert " 0 bad rows" in imported.output
    assert invoke(env, "run").exit_code == 0
    out = tmp_path / "statements.csv"
    assert invoke(env, "export", "statements", "--format", "csv", "-o", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    from tracker.sample import corpus_path

    assert len(rows) == sum(1 for line in corpus_path().read_text(encoding="utf-8").splitlines() if line.strip())
    for column in ("statement_id", "external_id", "published_at", "actor", "outlet", "country", "language", "text",
                   "narrative_id", "narrative_label", "assignment", "score"):
        assert column in rows[0]
    narratives = json.loads(invoke(env, "export", "narratives", "--format", "json").output)
    assert narratives and all("label" in n and "keywords" in n for n in narratives)
    again = invoke(env, "import", "--sample")
    assert " 0 new" in again.output


def test_bad_rows_are_reported_with_line_and_the_rest_imported(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,published_at\nfine one,2020-01-02\nbroken date,31/31/2020\n,2020-01-03\nfine two,\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)], env=env)
    assert result.exit_code == 0
    text = result.output  # stdout and stderr, as a terminal shows them
    assert "bad.csv:3" in text and "published_at" in text
    assert "bad.csv:4" in text
    assert "2 new" in text


def test_missing_text_column_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "notext.csv"
    path.write_text("title,date\na,2020-01-01\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)], env=env)
    assert result.exit_code != 0
    assert "notext.csv" in result.output and "text" in result.output


def test_jobs_lists_runs(env: dict[str, str]) -> None:
    invoke(env, "import", "--sample")
    out = invoke(env, "jobs").output
    assert "import" in out and "ok" in out


def test_bad_config_is_reported_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[web]\nport = 'x'\n")
    result = CliRunner().invoke(main, ["--config", str(cfg), "info"])
    assert result.exit_code != 0 and "web.port" in result.output


def test_timeline_command_prints_the_document(env: dict[str, str]) -> None:
    invoke(env, "import", "--sample")
    invoke(env, "run")
    listing = invoke(env, "narratives", "list").output.split()
    nid = listing[0]
    doc = json.loads(invoke(env, "timeline", nid).output)
    assert {"narrative", "first_mover", "events", "actors", "flows", "bursts"} <= set(doc)
    csv_out = invoke(env, "timeline", nid, "--format", "csv").output
    assert next(csv.reader(io.StringIO(csv_out)))[0] == "statement_id"
    assert doc["edges_total"] == len(doc["edges"]) >= 2  # the sample's narratives stay under the default 500
    one = json.loads(invoke(env, "timeline", nid, "--edges", "1").output)
    assert one["edges"] == doc["edges"][:1] and one["edges_total"] == doc["edges_total"]
    assert json.loads(invoke(env, "timeline", nid, "--edges", "all").output) == doc
    bad = CliRunner().invoke(main, ["timeline", nid, "--edges", "many"], env=env)
    assert bad.exit_code == 2 and "--edges" in bad.output
    waves = invoke(env, "narratives", "waves", nid).output
    assert waves.startswith(f"{nid}: ") and "wave 1 " in waves and "first mover: " in waves
    first = json.loads(invoke(env, "timeline", nid, "--wave", "1").output)
    assert first["selected_wave"] == 1 and {e["wave"] for e in first["events"]} == {1}
    none = CliRunner().invoke(main, ["timeline", nid, "--wave", str(len(doc["waves"]) + 1)], env=env)
    assert none.exit_code == 1 and f"no wave {len(doc['waves']) + 1}" in none.output


def test_actor_alias_and_merge_print_the_actor_left_and_refusals_are_errors(env: dict[str, str]) -> None:
    invoke(env, "import", "--sample")
    aliased = json.loads(invoke(env, "actors", "alias", "1", "Another Spelling").output)
    assert aliased["id"] == 1 and "Another Spelling" in json.dumps(aliased)
    merged = json.loads(invoke(env, "actors", "merge", "1", "2").output)
    assert merged["id"] == 1
    refused = invoke(env, "actors", "merge", "1", "1")
    assert refused.exit_code == 1 and "into itself" in refused.output


def test_actors_list_shows_each_speaker_once_with_the_spellings_merged_into_it(env: dict[str, str]) -> None:
    from tracker.sample import corpus_path

    invoke(env, "import", "--sample")
    invoke(env, "actors", "load-rules", str(Path(corpus_path()).parent / "aliases.toml"))
    speakers = invoke(env, "actors", "list").output.splitlines()
    (zhao,) = [line for line in speakers if line.endswith("Zhao Lijian  (also: 赵立坚)")]
    assert zhao.split()[1] == "official"
    assert not any(line.endswith(" 赵立坚") for line in speakers)
    outlets = invoke(env, "actors", "list", "--outlets").output
    assert "TASS" in outlets and "Zhao Lijian" not in outlets
