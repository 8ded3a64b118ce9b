"""Waves and first movers: a gap or a burst onset opens a wave; one stray statement never fakes the
origin; removing the true first mover promotes the next; flows count what they summarise."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.analysis.timeline import TimelineEvent, WaveOptions, build_timeline, wave_view

T0 = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
WINDOW = timedelta(days=14)
OPTS = WaveOptions(gap=timedelta(days=60), onset_quiet=timedelta(days=7), min_statements=3, first_mover_level=1.0)


def ev(sid, when, actor, *, country="RU", level=2.0, text=None):
    return TimelineEvent(statement_id=sid, external_id=None, published_at=when, actor=actor, actor_id=None,
                         outlet=None, country=country, kind=None, text=text or f"statement {sid} by {actor}",
                         level=level)


def timeline(events, opts=OPTS, now=None):
    return build_timeline({"id": 1, "label": "test"}, events, WINDOW, now=now or T0 + 800 * DAY, waves=opts,
                          detect_syndication=False)


def first_id(doc):
    return doc["first_mover"]["statement_id"] if doc["first_mover"] else None


# ----------------------------------------------------------------- segmentation


def two_waves():
    """A 2020 wave (Medvedev, then state media, then China) and a 2022 revival 500 days later."""
    start = T0 - 510 * DAY
    wave1 = [ev(1, start, "Medvedev"), ev(2, start + 3 * HOUR, "TASS"), ev(3, start + 5 * DAY, "Global Times", country="CN"),
             ev(4, start + 9 * DAY, "Zhao Lijian", country="CN")]  # fmt: skip
    wave2 = [ev(10, T0, "Konashenkov"), ev(11, T0 + 2 * HOUR, "TASS"), ev(12, T0 + DAY, "Zhao Lijian", country="CN"),
             ev(13, T0 + 2 * DAY, "Wang Wenbin", country="CN")]  # fmt: skip
    return wave1 + wave2


def test_a_long_silence_opens_a_new_wave_with_its_own_first_mover_and_lags():
    doc = timeline(two_waves())
    assert [w["statements"] for w in doc["waves"]] == [4, 4]
    assert [w["first_mover"]["actor"] for w in doc["waves"]] == ["Medvedev", "Konashenkov"]
    assert doc["waves"][1]["opened_by"] == "gap" and doc["waves"][1]["gap_days"] == 501.0
    assert [a["actor"] for a in doc["waves"][1]["actors"]] == ["Konashenkov", "TASS", "Zhao Lijian", "Wang Wenbin"]
    assert doc["waves"][1]["followers"] == 3
    zhao = {f["actor"]: f for f in doc["waves"][1]["actors"]}["Zhao Lijian"]
    assert zhao["lag_seconds"] == DAY.total_seconds()  # behind Konashenkov, not behind Medvedev 510 days ago
    assert doc["first_mover"]["actor"] == "Medvedev"
    assert [e["wave"] for e in doc["events"]] == [1, 1, 1, 1, 2, 2, 2, 2]
    actors = {a["actor"]: a for a in doc["actors"]}
    assert (actors["Konashenkov"]["wave"], actors["Konashenkov"]["lag_seconds"]) == (2, 0.0)


def test_each_wave_carries_its_own_countries_and_flows():
    doc = timeline(two_waves())
    for wave in doc["waves"]:
        assert wave["countries"] == {"CN": 2, "RU": 2}
        assert [(f["from_country"], f["to_country"], f["statements"], f["actors"]) for f in wave["flows"]] == [
            ("RU", "CN", 2, 2)]
    assert sum(w["statements"] for w in doc["waves"]) == len(doc["events"])


def test_a_wave_view_measures_everything_within_the_wave():
    doc = timeline(two_waves())
    view = wave_view(doc, 2)
    assert view["first_mover"]["actor"] == "Konashenkov" and view["selected_wave"] == 2
    assert [e["statement_id"] for e in view["events"]] == [10, 11, 12, 13]
    assert [a["lag_seconds"] for a in view["actors"]] == [0.0, 7200.0, 86400.0, 172800.0]
    assert wave_view(doc, None)["first_mover"]["actor"] == "Medvedev" and wave_view(doc, 3) is None


def test_the_gap_is_configurable():
    doc = timeline(two_waves(), WaveOptions(gap=timedelta(days=600), first_mover_level=1.0))
    assert len(doc["waves"]) == 1 and doc["waves"][0]["statements"] == 8


def test_a_surge_after_a_quiet_spell_opens_a_wave_even_after_a_short_gap():
    # A slow trickle (one statement a week from different actors), ten quiet days, then thirty in two days.
    trickle = [ev(i, T0 + i * 7 * DAY, f"Blogger {i}") for i in range(1, 9)]
    onset = T0 + 56 * DAY + 10 * DAY
    surge = [ev(100 + i, onset + i * HOUR, f"Outlet {i}") for i in range(30)]
    doc = timeline(trickle + surge, now=onset + 3 * DAY)
    assert [w["opened_by"] for w in doc["waves"]] == ["start", "surge"]
    assert doc["waves"][1]["first_mover"]["statement_id"] == 100
    off = timeline(trickle + surge, WaveOptions(onset_quiet=timedelta(0), first_mover_level=1.0), now=onset + 3 * DAY)
    assert len(off["waves"]) == 1


def test_a_stretch_too_small_to_be_a_wave_joins_the_next_one_as_earlier_mentions():
    stray = ev(1, T0 - 180 * DAY, "Medvedev")  # alone, half a year before, even if close to the narrative
    wave = [ev(2, T0, "A"), ev(3, T0 + HOUR, "B"), ev(4, T0 + 2 * HOUR, "C")]
    doc = timeline([stray, *wave])
    assert len(doc["waves"]) == 1
    assert first_id(doc) == 2
    assert [(m["statement_id"], m["reason"]) for m in doc["earlier_mentions"]] == [(1, "unfollowed")]


def test_a_narrative_of_tiny_stretches_is_one_wave():
    doc = timeline([ev(1, T0, "A"), ev(2, T0 + 100 * DAY, "B")])
    assert len(doc["waves"]) == 1 and doc["waves"][0]["statements"] == 2


# ----------------------------------------------------------------- robust first movers


def test_an_early_weak_match_is_an_earlier_possible_mention_not_the_origin():
    weak = ev(1, T0 - 2 * HOUR, "Stray account", level=0.2, text="the food was great")
    wave = [ev(2, T0, "A"), ev(3, T0 + HOUR, "B"), ev(4, T0 + 2 * HOUR, "C")]
    doc = timeline([weak, *wave])
    assert first_id(doc) == 2 and doc["first_mover"]["confidence"] == "confident"
    assert [(m["statement_id"], m["reason"]) for m in doc["earlier_mentions"]] == [(1, "weak")]
    stray = {a["actor"]: a for a in doc["actors"]}["Stray account"]
    assert stray["lag_seconds"] == -2 * 3600  # before the first mover, said so


def test_a_statement_nobody_followed_is_not_the_origin():
    lone = ev(1, T0 - 20 * DAY, "Lone voice")  # close enough, but 20 days before anyone else (window 14)
    wave = [ev(2, T0, "A"), ev(3, T0 + HOUR, "B"), ev(4, T0 + 2 * HOUR, "C")]
    assert first_id(timeline([lone, *wave])) == 2


def test_without_levels_every_statement_counts_as_close():
    events = [ev(1, T0, "A", level=None), ev(2, T0 + HOUR, "B", level=None)]
    assert first_id(timeline(events)) == 1


def test_a_wave_without_any_confident_statement_offers_its_closest_and_says_so():
    doc = timeline([ev(1, T0, "A", level=0.1), ev(2, T0 + HOUR, "B", level=0.5), ev(3, T0 + 2 * HOUR, "C", level=0.3)])
    assert first_id(doc) == 2 and doc["first_mover"]["confidence"] == "low"


def test_a_confident_statement_nobody_followed_is_marked_isolated():
    doc = timeline([ev(1, T0, "A"), ev(2, T0 + HOUR, "A"), ev(3, T0 + 2 * HOUR, "B", level=0.1)])
    assert first_id(doc) == 1 and doc["first_mover"]["confidence"] == "isolated"


def test_statements_nobody_is_named_for_do_not_count_as_another_actor_following():
    doc = timeline([ev(1, T0, "A"), ev(2, T0 + HOUR, None), ev(3, T0 + 2 * HOUR, None)])
    assert first_id(doc) == 1 and doc["first_mover"]["confidence"] == "isolated"


def hoax(rng: random.Random) -> list[TimelineEvent]:
    """120 accounts pushing one hoax within 5.5 hours, with the levels a tight cluster gets."""
    return [ev(1000 + i, T0 + timedelta(minutes=rng.randrange(0, 330)) if i else T0, f"troll {i}",
               level=rng.uniform(1.5, 4.0), text="food poisoning at the plant, hundreds sick") for i in range(120)]


def test_the_coordinated_hoax_first_mover_is_a_hoax_tweet_from_its_first_hour():
    rng = random.Random(7)
    stray = ev(1, T0 - 183 * DAY, "unrelated user", level=0.4, text="plant opening ceremony was poisoning the mood")
    doc = timeline([stray, *hoax(rng)])
    first = doc["first_mover"]
    assert first["statement_id"] >= 1000 and first["published_at"] < (T0 + HOUR).isoformat()
    assert doc["waves"][0]["actor_count"] >= 80 and doc["waves"][0]["followers"] >= 80
    assert [m["statement_id"] for m in doc["earlier_mentions"]] == [1]


@st.composite
def wave_and_stray(draw):
    seed = draw(st.integers(0, 10_000))
    rng = random.Random(seed)
    n = draw(st.integers(3, 25))
    events = [ev(i, T0 + timedelta(minutes=rng.randrange(0, 3 * 24 * 60)), f"actor {rng.randrange(6)}",
                 level=rng.choice([None, rng.uniform(-1, 4)])) for i in range(1, n + 1)]
    before = draw(st.integers(1, 400 * 24))  # hours before the wave's first statement
    level = draw(st.floats(-3, 0.99))  # unrelated: below the first-mover level...
    if all(e.level is not None and e.level < 1.0 for e in events):  # ... and below the narrative's own
        level = min(level, min(e.level for e in events if e.level is not None) - 0.01)
    return events, before, level


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wave_and_stray())
def test_adding_an_unrelated_early_statement_never_changes_the_first_mover(case):
    events, before, level = case
    start = min(e.published_at for e in events)
    stray = ev(9999, start - timedelta(hours=before), "stray", level=level, text="shares one word")
    assert first_id(timeline([*events, stray])) == first_id(timeline(events))


def reference_first_mover(events):
    """The rule written out plainly: the first confident statement another (named) actor's confident
    statement follows within the window; else the first confident; else the closest. One wave assumed."""
    order = sorted(events, key=lambda e: (e.published_at, e.statement_id))
    sure = [e for e in order if e.level is None or e.level >= 1.0]
    for e in sure:
        if any(f.actor is not None and f.actor != e.actor and timedelta(0) < f.published_at - e.published_at <= WINDOW
               for f in sure):
            return e.statement_id
    if sure:
        return sure[0].statement_id
    return max(order, key=lambda e: (e.level, -order.index(e))).statement_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wave_and_stray())
def test_removing_the_first_mover_promotes_the_next(case):
    events, _, _ = case
    seen: set[datetime] = set()  # distinct instants keep the tie rules out of this property
    events = [e for e in events if not (e.published_at in seen or seen.add(e.published_at))]
    first = first_id(timeline(events))
    assert first == reference_first_mover(events)
    rest = [e for e in events if e.statement_id != first]
    if rest:
        assert first_id(timeline(rest)) == reference_first_mover(rest)


# ----------------------------------------------------------------- flows add up


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000))
def test_flows_count_distinct_statements_and_never_exceed_the_country_counts(seed):
    rng = random.Random(seed)
    events = [ev(i, T0 + timedelta(hours=rng.randrange(0, 24 * 40)), f"actor {rng.randrange(8)}",
                 country=rng.choice(["RU", "CN", "IR", None])) for i in range(1, rng.randrange(2, 40))]
    doc = timeline(events)
    dated = [e for e in doc["events"] if e["published_at"]]
    for part in [doc, *doc["waves"]]:
        mine = dated if part is doc else [e for e in dated if e["wave"] == part["wave"]]
        for f in part["flows"]:
            followed = [b for b in mine if b["country"] == f["to_country"] and any(
                a["country"] == f["from_country"] and timedelta(0) < _t(b) - _t(a) <= WINDOW for a in mine)]
            assert f["statements"] == len(followed) <= part["countries"][f["to_country"]]
            assert f["actors"] == len({b["actor"] for b in followed})


def _t(doc_event):
    return datetime.fromisoformat(doc_event["published_at"])


def test_a_wave_keeps_its_heaviest_links_and_counts_them_all(monkeypatch):
    import tracker.analysis.timeline as timeline_module
    import tracker.analysis.wave_docs as wave_docs_module

    monkeypatch.setattr(wave_docs_module, "WAVE_EDGE_LIMIT", 2)
    doc = timeline(two_waves())
    for wave in doc["waves"]:
        assert len(wave["edges"]) == 2 and wave["edges_total"] == 6  # four actors, each after every earlier one
        assert [e["weight"] for e in wave["edges"]] == sorted((e["weight"] for e in wave["edges"]), reverse=True)
    assert len(doc["edges"]) == 11  # the narrative's own list is whole (TASS -> Zhao Lijian is in both waves)
    view = wave_view(doc, 2)
    assert view is not None and view["edges_total"] == 6
    sent = timeline_module.limit_edges(view, 1)
    assert len(sent["edges"]) == 1 and sent["edges_total"] == 6  # the wave's links, as the document's own
    assert all(w["edges"] == [] and w["edges_total"] == 6 for w in sent["waves"])  # not sent twice
