"""Narrative timelines: first mover, order, lags, amplification window, flows and the JSON document."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracker.analysis.actors import AliasRules
from tracker.analysis.timeline import TimelineEvent, build_timeline, overall_flows

BEIJING = timezone(timedelta(hours=8))
MOSCOW = timezone(timedelta(hours=3))
T0 = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2022, 4, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def ev(sid, when, actor=None, *, outlet=None, country=None, kind=None, text=None, actor_id=None, copy=None):
    return TimelineEvent(
        statement_id=sid,
        external_id=f"x{sid}",
        published_at=when,
        actor=actor,
        actor_id=actor_id,
        outlet=outlet,
        country=country,
        kind=kind,
        text=text if text is not None else f"statement {sid}",
        syndicated_from=copy,
    )


def timeline(events, window=DAY, **kw):
    return build_timeline({"id": 7, "label": "bio-labs"}, events, window, now=NOW, **kw)


def edge_map(doc):
    return {(e["from"], e["to"]): e for e in doc["edges"]}


def test_first_mover_is_the_earliest_instant_across_time_zones():
    beijing = ev(1, datetime(2022, 3, 1, 10, 0, tzinfo=BEIJING), "Zhao Lijian", country="CN")  # 02:00 UTC
    moscow = ev(2, datetime(2022, 3, 1, 6, 0, tzinfo=MOSCOW), "Maria Zakharova", country="RU")  # 03:00 UTC
    doc = timeline([moscow, beijing])
    assert doc["first_mover"]["statement_id"] == 1
    assert doc["first_mover"]["published_at"] == "2022-03-01T02:00:00+00:00"
    assert [a["lag_seconds"] for a in doc["actors"]] == [0.0, 3600.0]


def test_tie_goes_to_official_then_state_media_then_lowest_id():
    events = [
        ev(5, T0, "Blogger", kind="proxy"),
        ev(4, T0, "TASS", kind="state_media"),
        ev(9, T0, "Lavrov", kind="official"),
        ev(3, T0, "Unknown"),
        ev(2, T0, "RT", kind="state_media"),
    ]
    doc = timeline(events)
    assert [e["statement_id"] for e in doc["events"]] == [9, 2, 4, 5, 3]
    assert doc["first_mover"]["actor"] == "Lavrov"


def test_undated_events_come_last_and_never_first_mover():
    doc = timeline([ev(1, None, "A"), ev(3, T0 + DAY, "B"), ev(2, None, "C")])
    assert [e["statement_id"] for e in doc["events"]] == [3, 1, 2]
    assert doc["first_mover"]["statement_id"] == 3
    undated = {a["actor"]: a for a in doc["actors"]}["A"]
    assert undated["first_seen"] is None and undated["lag_seconds"] is None
    assert doc["counts"]["undated"] == 2


def test_all_undated_narrative_has_no_first_mover():
    doc = timeline([ev(1, None, "A"), ev(2, None, "B")])
    assert doc["first_mover"] is None and doc["edges"] == [] and doc["bursts"] == []


def test_naive_datetime_is_treated_as_utc():
    doc = timeline(
        [ev(1, datetime(2022, 3, 1, 12, 0), "A"), ev(2, datetime(2022, 3, 1, 13, 0, tzinfo=BEIJING), "B")]
    )
    assert doc["events"][1]["published_at"] == "2022-03-01T12:00:00+00:00"
    assert doc["first_mover"]["actor"] == "B"  # 13:00 +08:00 is 05:00 UTC


def test_each_actor_first_appearance_and_lag():
    events = [
        ev(1, T0, "A"),
        ev(2, T0 + timedelta(hours=5), "B"),
        ev(3, T0 + timedelta(hours=2), "B"),
        ev(4, T0 + 3 * DAY, "C"),
    ]
    actors = {a["actor"]: a for a in timeline(events)["actors"]}
    assert actors["B"]["first_seen"] == "2022-03-01T14:00:00+00:00"
    assert actors["B"]["lag_seconds"] == 2 * 3600 and actors["B"]["statements"] == 2
    assert actors["C"]["lag_seconds"] == 3 * 86400


def test_statement_exactly_one_window_later_counts_as_amplification():
    doc = timeline([ev(1, T0, "A"), ev(2, T0 + DAY, "B")], window=DAY)
    assert edge_map(doc)[("A", "B")]["weight"] == 1


def test_statement_just_outside_the_window_is_not_amplification():
    doc = timeline([ev(1, T0, "A"), ev(2, T0 + DAY + timedelta(microseconds=1), "B")], window=DAY)
    assert doc["edges"] == []


def test_statements_at_the_same_instant_do_not_amplify_each_other():
    doc = timeline([ev(1, T0, "A"), ev(2, T0, "B")])
    assert doc["edges"] == []


def test_no_self_edges_and_weight_counts_follower_statements():
    events = [ev(1, T0, "A"), ev(2, T0 + timedelta(hours=1), "A"), ev(3, T0 + timedelta(hours=2), "B"),
              ev(4, T0 + timedelta(hours=3), "B"), ev(5, T0 + 3 * DAY, "B")]  # fmt: skip
    edges = edge_map(timeline(events))
    assert set(edges) == {("A", "B")}
    assert edges[("A", "B")]["weight"] == 2
    assert edges[("A", "B")]["first_at"] == "2022-03-01T14:00:00+00:00"


def test_speaker_is_the_actor_and_outlet_stands_in_without_one():
    doc = timeline([ev(1, T0, "Sergei Lavrov", outlet="TASS"), ev(2, T0 + DAY, None, outlet="TASS")])
    assert [a["actor"] for a in doc["actors"]] == ["Sergei Lavrov", "TASS"]
    assert doc["events"][0]["outlet"] == "TASS"


def test_transliterated_spellings_are_one_actor_without_a_rule():
    doc = timeline(
        [
            ev(1, T0, "Мария Захарова"),
            ev(2, T0 + DAY, "Maria Zakharova"),
            ev(3, T0 + 2 * DAY, "Maria Zakharova"),
        ]
    )
    (actor,) = doc["actors"]
    assert actor["actor"] == "Maria Zakharova" and actor["statements"] == 3
    assert doc["edges"] == []


def test_alias_rule_merges_and_names_the_actor():
    rules = AliasRules({"赵立坚": "Zhao Lijian"})
    doc = timeline([ev(1, T0, "赵立坚", country="CN"), ev(2, T0 + DAY, "Lijian Zhao")], aliases=AliasRules())
    assert len(doc["actors"]) == 2
    doc = timeline([ev(1, T0, "赵立坚", country="CN"), ev(2, T0 + DAY, "Zhao Lijian")], aliases=rules)
    assert [(a["actor"], a["statements"], a["country"]) for a in doc["actors"]] == [("Zhao Lijian", 2, "CN")]


def test_actor_id_wins_over_spelling():
    doc = timeline([ev(1, T0, "Wang Yi", actor_id=1), ev(2, T0 + DAY, "Wang Yi", actor_id=2)])
    assert [a["actor_id"] for a in doc["actors"]] == [1, 2]


def test_event_takes_actor_country_and_kind_when_missing():
    doc = timeline([ev(1, T0, "TASS", country="RU", kind="state_media"), ev(2, T0 + DAY, "TASS")])
    assert (doc["events"][1]["country"], doc["events"][1]["kind"]) == ("RU", "state_media")


def test_wire_reprints_are_counted_apart_from_paraphrases():
    story = (
        "The Pentagon ran secret military biological laboratories in Ukraine and funded research on pathogens"
    )
    events = [
        ev(1, T0, "TASS", country="RU", text=story),
        ev(2, T0 + timedelta(hours=1), "Outlet A", text="TASS: " + story),
        ev(3, T0 + timedelta(hours=2), "Outlet B", text=story + "."),
        ev(
            4,
            T0 + timedelta(hours=3),
            "Global Times",
            country="CN",
            text="Washington must explain the labs it funds in Ukraine, said experts.",
        ),
    ]
    doc = timeline(events)
    assert [e["syndicated_from"] for e in doc["events"]] == [None, 1, 1, None]
    assert doc["syndication"] | {"threshold": None} == {
        "originals": 2, "syndicated": 2, "independent": 1, "syndicating_actors": 2,
        "independent_actors": 1, "threshold": None,
    }  # fmt: skip
    edges = edge_map(doc)
    assert (edges[("TASS", "Outlet A")]["weight"], edges[("TASS", "Outlet A")]["independent"]) == (1, 0)
    assert edges[("TASS", "Global Times")]["independent"] == 1


def test_given_syndication_marks_are_kept_and_detection_can_be_off():
    events = [
        ev(1, T0, "A", text="one thing said here at length today"),
        ev(2, T0 + DAY, "B", text="other", copy=1),
    ]
    doc = timeline(events, detect_syndication=False)
    assert [e["syndicated_from"] for e in doc["events"]] == [None, 1]
    assert doc["syndication"]["syndicated"] == 1


def test_cross_country_flows_count_distinct_statements_and_actors():
    events = [
        ev(1, T0, "Zakharova", country="RU"),
        ev(2, T0 + timedelta(hours=1), "RT", country="RU"),
        ev(3, T0 + timedelta(hours=6), "Zhao Lijian", country="CN"),
        ev(4, T0 + timedelta(hours=8), "Global Times", country="CN"),
        ev(5, T0 + timedelta(hours=9), "Global Times", country="CN"),
    ]
    doc = timeline(events)
    flows = {(f["from_country"], f["to_country"]): f for f in doc["flows"]}
    assert set(flows) == {("RU", "CN")}
    # Four actor edges RU -> CN, but three CN statements by two CN actors: each counted once.
    assert sum(e["weight"] for e in doc["edges"] if (e["from_country"], e["to_country"]) == ("RU", "CN")) == 6
    assert (flows[("RU", "CN")]["statements"], flows[("RU", "CN")]["actors"]) == (3, 2)
    assert flows[("RU", "CN")]["statements"] <= doc["countries"]["CN"] == 3
    assert flows[("RU", "CN")]["first_at"] == "2022-03-01T18:00:00+00:00"


def test_overall_flows_add_up_narratives():
    one = timeline([ev(1, T0, "A", country="RU"), ev(2, T0 + timedelta(hours=1), "B", country="CN")])
    two = timeline([ev(1, T0 - DAY, "C", country="RU"), ev(2, T0 - timedelta(hours=20), "D", country="CN"),
                    ev(3, T0 - timedelta(hours=19), "E", country="IR")])  # fmt: skip
    flows = {(f["from_country"], f["to_country"]): f for f in overall_flows([one, two])}
    assert flows[("RU", "CN")]["narratives"] == 2 and flows[("RU", "CN")]["statements"] == 2
    assert flows[("RU", "CN")]["first_at"] == "2022-02-28T16:00:00+00:00"
    assert flows[("RU", "IR")]["narratives"] == 1


def test_counts_per_week_by_country_and_kind():
    events = [ev(1, T0, "A", country="RU", kind="official"), ev(2, T0 + DAY, "B", country="CN", kind="state_media"),
              ev(3, T0 + 7 * DAY, "C", country="RU")]  # fmt: skip
    counts = timeline(events)["counts"]
    assert counts["by_country"] == {"2022-02-28": {"CN": 1, "RU": 1}, "2022-03-07": {"RU": 1}}
    assert counts["by_kind"]["2022-03-07"] == {"unknown": 1}


def test_document_is_json_with_the_promised_shape():
    doc = timeline([ev(1, T0, "A", country="RU", kind="official"), ev(2, None, None, outlet=None)])
    again = json.loads(json.dumps(doc, ensure_ascii=False))
    assert {"narrative", "first_mover", "events", "actors", "flows", "bursts"} <= set(again)
    assert set(again["first_mover"]) >= {
        "statement_id",
        "external_id",
        "published_at",
        "actor",
        "outlet",
        "country",
        "text",
        "kind",
    }
    assert set(again["actors"][0]) >= {"actor", "country", "kind", "first_seen", "lag_seconds", "statements"}
    assert again["events"][1]["actor"] is None and len(again["actors"]) == 1


def test_resurgent_narrative_is_flagged_in_the_document():
    wave_2020 = [ev(i, datetime(2020, 3, 1, tzinfo=UTC) + i * DAY, "A") for i in range(30)]
    wave_2022 = [
        ev(100 + i, datetime(2022, 3, 1, tzinfo=UTC) + i * timedelta(hours=6), "B") for i in range(20)
    ]
    doc = timeline(wave_2020 + wave_2022)
    assert "resurgent" in doc["flags"]
    assert any(b["kind"] == "resurgent" and b["start"] == "2022-03-01T00:00:00+00:00" for b in doc["bursts"])


def test_duplicate_statement_ids_and_bad_windows_are_refused():
    with pytest.raises(ValueError, match="statement_id 1"):
        timeline([ev(1, T0, "A"), ev(1, T0, "B")])
    with pytest.raises(ValueError, match="window"):
        timeline([ev(1, T0, "A")], window=timedelta(0))


def _shared_data() -> Path:
    return Path(
        os.environ.get("TRACKER_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    )


def test_real_biological_weapons_cases_build_a_consistent_timeline():
    path = _shared_data() / "euvsdisinfo-cases-2018-2021.csv"
    if not path.exists():
        pytest.skip(f"shared data set not found at {path} (set TRACKER_SHARED_DATA)")
    events, sid = [], 0
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if "Biological weapons" not in row["keywords"].split("+"):
                continue
            for outlet in filter(None, row["outlets"].split("+")):
                sid += 1
                when = datetime.fromisoformat(row["date"]).replace(tzinfo=UTC)
                events.append(ev(sid, when, None, outlet=outlet.strip(), text=row["title"]))
    assert len(events) > 50, "expected a sizeable bio-weapons narrative in the EUvsDisinfo data"
    doc = build_timeline({"id": "bio"}, events, timedelta(days=7), now=datetime(2021, 2, 18, tzinfo=UTC))
    first_wave = doc["waves"][0]
    assert doc["first_mover"]["statement_id"] == first_wave["first_mover"]["statement_id"]
    assert first_wave["start"] == min(e.published_at for e in events).isoformat()
    assert len(doc["events"]) == len(events) == sum(w["statements"] for w in doc["waves"])
    assert sum(a["statements"] for a in doc["actors"]) == len(events)
    for wave in doc["waves"]:  # lags within each wave, from its own first mover
        lags = [f["lag_seconds"] for f in wave["actors"]]
        assert lags == sorted(lags) and all(lag >= 0 for lag in lags)
    # Same title carried by several outlets on one date: all but the first are syndication.
    assert doc["syndication"]["syndicated"] > 0
