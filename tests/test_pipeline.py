"""The pipeline end to end on a real database: import -> embed -> cluster -> export, and again."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker import export, jobs
from tracker.config import Config
from tracker.db import Database, ensure_schema
from tracker.embed import HashingEmbedder, embed_pending
from tracker.models import Embedding, JobRun, Narrative, Statement

TOPICS = {
    "biolabs": [
        "US military biolabs in Ukraine develop bioweapons near Russian borders",
        "Pentagon funded biological laboratories in Ukraine work on bioweapons",
        "American biolabs in Georgia and Ukraine are a bioweapons threat to Russia",
        "bioweapons research in US funded Ukrainian biolabs must be investigated",
        "the Pentagon runs secret biolabs making bioweapons in Ukraine",
        "biolabs financed by the US military in Ukraine produce bioweapons",
    ],
    "nato": [
        "NATO expansion to the east encircles Russia and breaks old promises",
        "NATO broke its promise not to expand east and now encircles Russia",
        "the eastward expansion of NATO is an encirclement of Russia",
        "NATO military infrastructure moving east encircles Russia",
        "Russia is encircled by NATO expansion despite promises made in 1990",
        "NATO keeps expanding east toward Russia in breach of its promises",
    ],
}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    return path


def corpus_rows() -> list[dict[str, str]]:
    rows = []
    for topic, texts in TOPICS.items():
        for i, text in enumerate(texts):
            rows.append({"external_id": f"{topic}-{i}", "text": text, "published_at": f"2020-10-{10 + i:02d}",
                         "actor": f"Speaker {i % 3}", "outlet": "TASS" if i % 2 else "Global Times",
                         "country": "RU" if i % 2 else "CN", "language": "en"})
    return rows


@pytest.fixture
def pipeline_config(config: Config) -> Config:
    # Two topics only: half of all pairs are related, which lifts the background the levels are measured
    # on (narratives.calibration); a corpus with many narratives needs no such change.
    return config.replace(embedding={"model": "hashing-ngrams-384"},
                          narratives={"min_size": 3, "merge_level": 0.5, "auto_level": 0.5})


def test_import_embed_cluster_export(db: Database, pipeline_config: Config, tmp_path: Path) -> None:
    cfg = pipeline_config
    stats, job_id = jobs.import_file(db, cfg, write_csv(tmp_path / "in.csv", corpus_rows()))
    assert stats.inserted == 12 and not stats.errors
    result = jobs.run_pipeline(db, cfg, embedder=HashingEmbedder())
    assert result["embed"]["embedded"] == 12
    assert result["cluster"]["mode"] == "full"
    with db.reader() as session:
        rows = list(export.statement_rows(session))
        kinds = {r.kind: r.status for r in session.scalars(select(JobRun))}
    assert kinds == {"import": "ok", "embed": "ok", "cluster": "ok", "run": "ok"}
    assert len(rows) == 12
    by_topic: dict[str, set[int | None]] = {}
    for r in rows:
        by_topic.setdefault(r["external_id"].split("-")[0], set()).add(r["narrative_id"])
    assert len(by_topic["biolabs"]) == 1 and len(by_topic["nato"]) == 1
    assert by_topic["biolabs"] != by_topic["nato"]
    assert all(r["assignment"] == "assigned" and r["score"] is not None for r in rows)


def test_second_run_changes_no_narrative_id_and_embeds_nothing(db: Database, pipeline_config: Config,
                                                               tmp_path: Path) -> None:
    cfg = pipeline_config
    jobs.import_file(db, cfg, write_csv(tmp_path / "in.csv", corpus_rows()))
    jobs.run_pipeline(db, cfg, embedder=HashingEmbedder())
    with db.reader() as session:
        before = {r["statement_id"]: r["narrative_id"] for r in export.statement_rows(session)}
    again = jobs.run_pipeline(db, cfg, embedder=HashingEmbedder(), full=True)
    assert again["embed"]["embedded"] == 0
    assert again["cluster"]["stability"] == 1.0
    with db.reader() as session:
        after = {r["statement_id"]: r["narrative_id"] for r in export.statement_rows(session)}
    assert after == before


def test_embedding_is_cached_by_text_and_model(db: Database) -> None:
    from tracker.ingest.drafts import StatementDraft
    from tracker.ingest.store import store_drafts

    with db.transaction() as session:
        store_drafts(session, [StatementDraft("same words", outlet="A"), StatementDraft("same words", outlet="B")])
    calls: list[int] = []

    class Counting(HashingEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return super().embed(texts)

    assert embed_pending(db, Counting()).embedded == 1
    assert embed_pending(db, Counting()).embedded == 0
    assert calls == [1]
    with db.reader() as session:
        assert session.scalar(select(func.count(Embedding.id))) == 1
        assert session.scalar(select(func.count(Statement.id))) == 2


def test_export_csv_neutralises_formulas_and_json_lines_round_trip(db: Database, pipeline_config: Config,
                                                                   tmp_path: Path) -> None:
    rows = [{"text": "=HYPERLINK(\"http://evil\")", "external_id": "f1"}, {"text": "plain", "external_id": "f2"}]
    jobs.import_file(db, pipeline_config, write_csv(tmp_path / "f.csv", rows))
    with db.reader() as session:
        out = io.StringIO()
        export.write_csv(export.statement_rows(session), export.STATEMENT_COLUMNS, out)
        lines = io.StringIO()
        export.write_jsonl(export.statement_rows(session), lines)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert parsed[0]["text"].startswith("'=HYPERLINK")
    assert set(export.STATEMENT_COLUMNS) <= set(parsed[0])
    decoded = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [d["text"] for d in decoded] == ["=HYPERLINK(\"http://evil\")", "plain"]


def test_incremental_cluster_assigns_new_statements_to_existing_narratives(db: Database, pipeline_config: Config,
                                                                           tmp_path: Path) -> None:
    cfg = pipeline_config
    rows = corpus_rows()
    jobs.import_file(db, cfg, write_csv(tmp_path / "a.csv", rows[:5] + rows[6:11]))
    jobs.run_pipeline(db, cfg, embedder=HashingEmbedder())
    jobs.import_file(db, cfg, write_csv(tmp_path / "b.csv", [rows[5], rows[11]]))
    result = jobs.run_pipeline(db, cfg, embedder=HashingEmbedder())
    assert result["cluster"]["mode"] == "incremental"
    assert result["cluster"]["assigned"] == 2
    with db.reader() as session:
        got = {r["external_id"]: r["narrative_id"] for r in export.statement_rows(session)}
        narratives = session.scalar(select(func.count(Narrative.id)))
    assert got["biolabs-5"] == got["biolabs-0"]
    assert got["nato-5"] == got["nato-0"]
    assert narratives == 2


def test_every_command_creates_the_schema_on_first_use(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert ensure_schema(db)


def test_incremental_run_refreshes_narratives_researchers_tagged(db: Database, pipeline_config: Config,
                                                                 tmp_path: Path) -> None:
    from tracker.narratives.tags import tag_statement

    cfg = pipeline_config
    jobs.import_file(db, cfg, write_csv(tmp_path / "a.csv", corpus_rows()))
    jobs.run_pipeline(db, cfg, embedder=HashingEmbedder())
    assert jobs.cluster(db, cfg, "hashing-ngrams-384")["refreshed"] == 0
    with db.reader() as session:
        row = next(r for r in export.statement_rows(session) if r["narrative_id"] is not None)
    with db.transaction() as session:
        tag_statement(session, row["statement_id"], "confirm", row["narrative_id"])
    assert jobs.cluster(db, cfg, "hashing-ngrams-384")["refreshed"] == 1
    assert jobs.cluster(db, cfg, "hashing-ngrams-384")["refreshed"] == 0


def test_the_unassigned_pool_is_clustered_again_only_when_it_gained_statements() -> None:
    """Clustering the pool again pays for importing scikit-learn: worth it for a newer statement or a
    bigger pool (a researcher's rejections), not for a pool that only shrank since it was clustered."""
    assert jobs._pool_grew([20, 2994], None)
    assert jobs._pool_grew([24, 3001], [23, 2994])  # new statements
    assert jobs._pool_grew([25, 2994], [23, 2994])  # statements sent back to the pool
    assert not jobs._pool_grew([20, 2994], [23, 2994])  # some of it assigned or suggested since
    assert not jobs._pool_grew([23, 2994], [23, 2994])  # unchanged
