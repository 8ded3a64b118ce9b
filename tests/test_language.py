"""Language detection: ISO 639-1 codes, None when unsure, fast path for Chinese."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.ingest import language
from tracker.ingest.language import DEFAULT_LANGUAGES, detect_language, detect_languages

SHARED_DATA = Path(
    os.environ.get("TRACKER_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)
EUVSDISINFO = SHARED_DATA / "euvsdisinfo-cases-2018-2021.csv"

SAMPLES = {
    "en": "The Western media are once again spreading lies about our vaccine.",
    "ru": "Западные СМИ снова распространяют ложь о нашей вакцине.",
    "uk": "Західні медіа знову поширюють неправду про нашу вакцину.",
    "zh": "西方媒体再次散布关于我们疫苗的谎言。",
    "ar": "وسائل الإعلام الغربية تنشر الأكاذيب مرة أخرى حول لقاحنا.",
    "fr": "Les médias occidentaux répandent encore des mensonges sur notre vaccin.",
    "de": "Die westlichen Medien verbreiten wieder Lügen über unseren Impfstoff.",
    "es": "Los medios occidentales vuelven a difundir mentiras sobre nuestra vacuna.",
    "fa": "رسانه‌های غربی دوباره درباره واکسن ما دروغ پخش می‌کنند.",
    "pl": "Zachodnie media znowu rozpowszechniają kłamstwa o naszej szczepionce.",
}


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_the_language_of_a_sentence(code):
    assert detect_language(SAMPLES[code]) == code


def test_batch_gives_the_same_answers_in_order():
    codes = sorted(SAMPLES)
    assert detect_languages([SAMPLES[c] for c in codes]) == codes


def test_too_short_text_gives_none():
    assert detect_language("ok") is None
    assert detect_language("  12345 !!! ") is None
    assert detect_language("") is None


def test_mostly_han_text_is_chinese_without_building_a_detector(monkeypatch):
    def refuse(languages):
        raise AssertionError("the fast path should not need lingua")

    monkeypatch.setattr(language, "_detector", refuse)
    assert detect_language("中国外交部发言人表示 NATO 应该反思") == "zh"
    assert detect_languages(["俄罗斯", "北约东扩是威胁"]) == ["zh", "zh"]


def test_japanese_with_kana_is_not_taken_for_chinese():
    assert detect_language("東京で新しい会議が開かれました。") == "ja"


def test_links_and_mentions_do_not_decide_the_language():
    text = "Подробности по ссылке https://example.org/news/western-lies-about-vaccine @state_wire_english"
    assert detect_language(text) == "ru"


def test_detector_is_built_once_per_language_set():
    language._detector.cache_clear()
    detect_language(SAMPLES["en"])
    detect_languages([SAMPLES["ru"], SAMPLES["de"]])
    info = language._detector.cache_info()
    assert (info.misses, info.currsize) == (1, 1)


def test_restricting_languages_changes_the_candidates():
    assert detect_language(SAMPLES["uk"], languages=("en", "ru")) == "ru"


def test_unknown_language_code_is_a_value_error():
    with pytest.raises(ValueError, match="xx"):
        detect_language(SAMPLES["en"], languages=("en", "xx"))


def test_default_languages_cover_the_brief():
    assert set("en ru zh uk ar fr de es fa be pl it pt tr sr".split()) <= set(DEFAULT_LANGUAGES)


@pytest.fixture(scope="module")
def warm_detector() -> None:
    """Load the detector's models once (every script's), so the fuzz deadline times detection only."""
    detect_languages(["hello world", "привет мир", "γειά σου κόσμε", "नमस्ते दुनिया", "สวัสดีชาวโลก", "こんにちは世界",
                      "안녕하세요", "مرحبا بالعالم", "გამარჯობა", "բարեւ աշխարհ"])


@settings(max_examples=100, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_fuzz_any_text_gives_a_code_or_none(warm_detector, text):
    result = detect_language(text)
    assert result is None or result in DEFAULT_LANGUAGES


@pytest.mark.slow
def test_euvsdisinfo_titles_are_mostly_english():
    if not EUVSDISINFO.exists():
        pytest.skip(f"shared data set not found at {EUVSDISINFO} (set TRACKER_SHARED_DATA)")
    with EUVSDISINFO.open(encoding="utf-8") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    detect_language("warm up the detector")
    started = time.perf_counter()
    codes = detect_languages(titles)
    elapsed = time.perf_counter() - started
    assert len(codes) == 7299
    assert codes.count("en") / len(codes) > 0.97
    wrong = [c for c in codes if c not in ("en", None)]
    assert len(wrong) / len(codes) < 0.01
    assert elapsed < 30
