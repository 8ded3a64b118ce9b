"""Activity over time: periods in UTC, and bursts judged against the narrative's own baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracker.analysis.spread import activity_series, bucket_label, detect_bursts

BEIJING = timezone(timedelta(hours=8))
MOSCOW = timezone(timedelta(hours=3))


def _daily(start: datetime, days: int, per_day: int = 1) -> list[datetime]:
    return [start + timedelta(days=d, hours=h) for d in range(days) for h in range(per_day)]


def test_beijing_morning_falls_on_the_previous_utc_day():
    assert bucket_label(datetime(2022, 3, 1, 7, 0, tzinfo=BEIJING), "day") == "2022-02-28"
    assert bucket_label(datetime(2022, 3, 1, 7, 0, tzinfo=MOSCOW), "day") == "2022-03-01"


def test_week_and_month_labels():
    moment = datetime(2022, 3, 10, 12, tzinfo=UTC)  # a Thursday
    assert bucket_label(moment, "week") == "2022-03-07"
    assert bucket_label(moment, "month") == "2022-03"
    with pytest.raises(ValueError, match="bucket"):
        bucket_label(moment, "fortnight")


def test_naive_datetime_is_taken_as_utc():
    assert bucket_label(datetime(2022, 2, 28, 23, 30), "day") == "2022-02-28"


def test_activity_series_fills_quiet_periods_and_skips_missing_dates():
    dates = [
        datetime(2022, 1, 3, tzinfo=UTC),
        None,
        datetime(2022, 1, 20, tzinfo=UTC),
        datetime(2022, 1, 21, tzinfo=UTC),
    ]
    assert activity_series(dates, "week") == [("2022-01-03", 1), ("2022-01-10", 0), ("2022-01-17", 2)]
    assert activity_series(dates, "week", fill=False) == [("2022-01-03", 1), ("2022-01-17", 2)]
    assert activity_series([datetime(2022, 1, 31, tzinfo=UTC), datetime(2022, 3, 1, tzinfo=UTC)], "month") == [
        ("2022-01", 1), ("2022-02", 0), ("2022-03", 1),
    ]  # fmt: skip


def test_bio_labs_2022_wave_is_resurgent_after_2020_wave():
    wave_2020 = _daily(datetime(2020, 3, 1, tzinfo=UTC), 60)
    wave_2022 = _daily(datetime(2022, 2, 24, tzinfo=UTC), 20, per_day=3)
    report = detect_bursts(wave_2020 + wave_2022, now=datetime(2022, 3, 20, tzinfo=UTC))
    assert "resurgent" in report.flags
    (period,) = [p for p in report.periods if p.kind == "resurgent"]
    assert period.start == wave_2022[0] and period.end == wave_2022[-1]
    assert period.count == 60 and period.baseline == 0.0
    assert period.gap_days == pytest.approx((wave_2022[0] - wave_2020[-1]).total_seconds() / 86400)


def test_resurgence_stays_in_history_after_the_wave_dies_down():
    wave_2020 = _daily(datetime(2020, 3, 1, tzinfo=UTC), 60)
    wave_2022 = _daily(datetime(2022, 2, 24, tzinfo=UTC), 20)
    report = detect_bursts(wave_2020 + wave_2022, now=datetime(2023, 6, 1, tzinfo=UTC))
    assert report.flags == {"dormant"}
    assert [p.kind for p in report.periods] == ["resurgent"]


def test_a_few_stray_statements_after_a_gap_are_not_a_resurgence():
    dates = _daily(datetime(2020, 3, 1, tzinfo=UTC), 60) + [datetime(2022, 2, 24, tzinfo=UTC)]
    report = detect_bursts(dates, now=datetime(2022, 3, 1, tzinfo=UTC))
    assert "resurgent" not in report.flags and not report.periods


def test_new_and_growing_narrative_is_emerging():
    start = datetime(2022, 5, 1, tzinfo=UTC)
    dates = _daily(start, 7, 1) + _daily(start + timedelta(days=7), 7, 3)
    report = detect_bursts(dates, now=start + timedelta(days=14))
    assert "emerging" in report.flags
    (period,) = [p for p in report.periods if p.kind == "emerging"]
    assert (period.start, period.end, period.count) == (dates[0], dates[-1], len(dates))


def test_new_but_fading_narrative_is_not_emerging():
    start = datetime(2022, 5, 1, tzinfo=UTC)
    dates = _daily(start, 7, 3) + _daily(start + timedelta(days=7), 7, 1)
    assert "emerging" not in detect_bursts(dates, now=start + timedelta(days=14)).flags


def test_week_far_above_own_baseline_is_a_surge():
    start = datetime(2022, 1, 1, tzinfo=UTC)
    steady = [start + timedelta(days=2 * d) for d in range(60)]  # one statement every 2 days
    spike = _daily(start + timedelta(days=120), 7, per_day=4)
    now = start + timedelta(days=127)
    report = detect_bursts(steady + spike, now=now)
    assert "surging" in report.flags
    (period,) = [p for p in report.periods if p.kind == "surging"]
    assert period.count >= 28
    assert 0 < period.baseline < period.count / 3


def test_steady_activity_is_not_a_surge():
    start = datetime(2022, 1, 1, tzinfo=UTC)
    report = detect_bursts(_daily(start, 200, per_day=2), now=start + timedelta(days=200))
    assert report.flags == frozenset() and report.periods == ()


def test_statements_after_now_and_missing_dates_are_ignored():
    start = datetime(2022, 1, 1, tzinfo=UTC)
    report = detect_bursts([start, None, start + timedelta(days=400)], now=start + timedelta(days=10))
    assert report.flags == frozenset()


def test_period_dict_uses_iso_utc():
    wave = _daily(datetime(2022, 2, 24, 10, tzinfo=BEIJING), 10)
    report = detect_bursts(
        _daily(datetime(2020, 1, 1, tzinfo=UTC), 10) + wave, now=datetime(2022, 3, 10, tzinfo=UTC)
    )
    first = report.to_dict()["periods"][0]
    assert first["start"] == "2022-02-24T02:00:00+00:00"


def test_overlapping_surge_windows_make_one_period():
    start = datetime(2022, 1, 1, tzinfo=UTC)
    steady = [start + timedelta(days=2 * d) for d in range(60)]
    spikes = _daily(start + timedelta(days=120), 3, per_day=6) + _daily(
        start + timedelta(days=125), 3, per_day=6
    )
    report = detect_bursts(steady + spikes, now=start + timedelta(days=140))
    surges = [p for p in report.periods if p.kind == "surging"]
    assert len(surges) == 1
    assert surges[0].end == spikes[-1] and surges[0].count >= len(spikes)


# ---------------------------------------------------------------- growth and one status (overview)

from tracker.analysis.spread import growth, one_status  # noqa: E402

G_NOW = datetime(2022, 6, 30, tzinfo=UTC)


def test_growth_compares_recent_days_with_the_narratives_own_pace():
    steady = [G_NOW - timedelta(days=d) for d in range(31, 211, 6)]  # one statement every 6 days before
    burst = [G_NOW - timedelta(hours=h) for h in range(1, 13)]  # twelve in the last half day
    g = growth(steady + burst, G_NOW, baseline_days=180)
    assert (g.last_7, g.last_30) == (12, 12)
    # 30 statements in the 175 days from the first (205 days ago) to 30 days ago
    assert g.expected_7 is not None and abs(g.expected_7 - 30 / 175 * 7) < 1e-9
    assert g.ratio_7 is not None and abs(g.ratio_7 - 10.0) < 1e-9  # twelve where its pace predicts 1.2
    quiet = growth(steady, G_NOW, baseline_days=180)
    assert (quiet.last_30, quiet.ratio_30) == (0, 0.0)


def test_growth_without_history_is_new_and_ranks_first():
    fresh = growth([G_NOW - timedelta(days=2)], G_NOW)
    assert fresh.expected_30 is None and fresh.ratio_30 is None and fresh.last_7 == 1
    old = growth([G_NOW - timedelta(days=d) for d in (1, 40, 80)], G_NOW)
    silent = growth([G_NOW - timedelta(days=300)], G_NOW)
    assert sorted([silent, old, fresh], key=lambda g: g.sort_key()) == [fresh, old, silent]


def test_growth_baseline_never_reaches_before_the_first_statement():
    young = [G_NOW - timedelta(days=40), G_NOW - timedelta(days=35), G_NOW - timedelta(days=1)]
    g = growth(young, G_NOW, baseline_days=180)
    assert g.expected_30 is not None and abs(g.expected_30 - 2 / 10 * 30) < 1e-9  # 2 in the 10 days it existed


def test_one_status_each_most_telling_first():
    assert one_status({"emerging", "surging"}, "active") == "new"
    assert one_status({"surging"}, "dormant") == "surging"
    assert one_status({"resurgent"}, "active") == "resurgent"
    assert one_status({"dormant"}, "active") == "dormant"
    assert one_status(set(), "dormant") == "active"
    assert one_status({"surging"}, "archived") == "archived"
