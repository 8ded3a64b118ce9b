"""The sample corpus end to end, as `make demo` builds it: the bio-labs story must come out right."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest

from tests.demo import SAMPLE, load_demo
from tracker import export, jobs
from tracker.config import Config, load_config
from tracker.db import Database
from tracker.queries import narrative_timeline
from tracker.sample import corpus_path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, Config]:
    folder = tmp_path_factory.mktemp("demo")
    cfg = load_config(SAMPLE / "demo.toml", env={"TRACKER_DATA_DIR": str(folder)})
    db = Database(cfg.database_url)
    load_demo(db, cfg)  # its own database: a test below re-runs the pipeline on it
    return db, cfg


def hints() -> dict[str, str]:
    return {r["external_id"]: r["narrative_hint"]
            for r in map(json.loads, corpus_path().read_text(encoding="utf-8").splitlines())}


def narrative_of(db: Database, hint: str) -> int:
    gold = hints()
    with db.reader() as session:
        votes = Counter(r["narrative_id"] for r in export.statement_rows(session)
                        if gold[r["external_id"]] == hint and r["narrative_id"] is not None)
    return votes.most_common(1)[0][0]


def test_biolabs_first_mover_is_the_russian_official_of_october_2020(demo: tuple[Database, Config]) -> None:
    db, cfg = demo
    with db.reader() as session:
        doc = narrative_timeline(session, narrative_of(db, "us-biolabs"), cfg)
    assert doc is not None
    first = doc["first_mover"]
    assert first["actor"] == "Dmitry Medvedev"
    assert (first["country"], first["kind"]) == ("RU", "official")
    assert first["published_at"].startswith("2020-10")


def test_chinese_state_media_and_mfa_spokesperson_follow_with_lags(demo: tuple[Database, Config]) -> None:
    db, cfg = demo
    with db.reader() as session:
        doc = narrative_timeline(session, narrative_of(db, "us-biolabs"), cfg)
    actors = {a["actor"]: a for a in doc["actors"]}
    for name in ("Global Times", "Zhao Lijian"):
        assert name in actors, f"{name} missing from the bio-labs timeline"
        assert actors[name]["country"] == "CN"
        assert actors[name]["lag_seconds"] > 0
    assert actors["Global Times"]["kind"] == "state_media"
    assert actors["Zhao Lijian"]["kind"] == "official"
    assert actors["Zhao Lijian"]["first_seen"].startswith("2020-10-21")
    assert "赵立坚" not in actors  # merged by the alias rules


def test_2022_return_is_resurgent_and_russia_to_china_flow_is_shown(demo: tuple[Database, Config]) -> None:
    db, cfg = demo
    with db.reader() as session:
        doc = narrative_timeline(session, narrative_of(db, "us-biolabs"), cfg)
    resurgent = [b for b in doc["bursts"] if b["kind"] == "resurgent"]
    assert resurgent and resurgent[0]["start"].startswith("2022")
    flows = {(f["from_country"], f["to_country"]): f for f in doc["flows"]}
    assert ("RU", "CN") in flows and flows[("RU", "CN")]["first_at"].startswith("2020-10")


def test_main_narratives_are_separate(demo: tuple[Database, Config]) -> None:
    db, _ = demo
    found = {hint: narrative_of(db, hint) for hint in ("us-biolabs", "covid-fort-detrick", "nato-encirclement")}
    assert len(set(found.values())) == 3


def test_second_run_changes_no_narrative_id(demo: tuple[Database, Config]) -> None:
    db, cfg = demo
    with db.reader() as session:
        before = {r["statement_id"]: r["narrative_id"] for r in export.statement_rows(session)}
    result = jobs.run_pipeline(db, cfg, full=True)
    assert result["embed"]["embedded"] == 0
    with db.reader() as session:
        after = {r["statement_id"]: r["narrative_id"] for r in export.statement_rows(session)}
    assert after == before


def test_dashboard_shows_narratives_and_statements_in_time_order(demo: tuple[Database, Config]) -> None:
    from tracker.web import create_app

    db, cfg = demo
    app = create_app(cfg.replace(auth={"public_read": True}), db=db)
    client = app.test_client()
    overview = client.get("/").get_data(as_text=True)
    nid = narrative_of(db, "us-biolabs")
    assert f"/narratives/{nid}" in overview
    page = client.get(f"/narratives/{nid}").get_data(as_text=True)
    assert page.index("Dmitry Medvedev") < page.index("Zhao Lijian")


def test_one_claim_is_one_narrative_in_chinese_russian_and_english(demo: tuple[Database, Config]) -> None:
    """Issue 13: with the default (multilingual) configuration a claim does not split by language."""
    db, _ = demo
    rows = {r["external_id"]: r for r in map(json.loads, corpus_path().read_text(encoding="utf-8").splitlines())}
    with db.reader() as session:
        placed = {r["external_id"]: (r["narrative_id"], r["language"]) for r in export.statement_rows(session)}
    for hint in ("us-biolabs", "covid-fort-detrick", "nato-encirclement"):
        home = narrative_of(db, hint)
        members = [placed[e] for e, r in rows.items() if r["narrative_hint"] == hint]
        in_home = [lang for nid, lang in members if nid == home]
        assert len(in_home) >= 0.8 * len(members), f"{hint}: {len(in_home)} of {len(members)} in one narrative"
        assert {"en", "ru", "zh"} <= set(in_home), f"{hint}: languages in its narrative {set(in_home)}"


def test_biolabs_has_two_waves_opened_by_medvedev_and_by_the_first_2022_statement(
    demo: tuple[Database, Config],
) -> None:
    db, cfg = demo
    with db.reader() as session:
        doc = narrative_timeline(session, narrative_of(db, "us-biolabs"), cfg)
    assert doc is not None
    assert [w["start"][:4] for w in doc["waves"]] == ["2020", "2022"]
    first_2020, first_2022 = (w["first_mover"] for w in doc["waves"])
    assert first_2020["actor"] == "Dmitry Medvedev" and first_2020["confidence"] == "confident"
    gold = hints()
    revival = min((r for r in map(json.loads, corpus_path().read_text(encoding="utf-8").splitlines())
                   if r["narrative_hint"] == "us-biolabs" and (r.get("published_at") or "").startswith("2022")),
                  key=lambda r: datetime.fromisoformat(r["published_at"]))
    assert first_2022["external_id"] == revival["external_id"]
    # Anything of wave 2 before its first mover is shown as an earlier possible mention, never as the origin.
    for mention in doc["waves"][1]["earlier_mentions"]:
        assert mention["published_at"] < first_2022["published_at"]
        assert gold[mention["external_id"]] != "us-biolabs" or mention["reason"] == "unfollowed"
    zhao = {a["actor"]: a for a in doc["waves"][1]["actors"]}["Zhao Lijian"]
    assert 0 < zhao["lag_seconds"] < 7 * 86400  # measured within 2022, not from 2020
