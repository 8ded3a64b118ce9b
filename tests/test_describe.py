"""Key phrases, labels and descriptions a researcher can read, in any language the encoder covers."""

import numpy as np
import pytest

from tracker.narratives.describe import describe, display_language, keywords, representatives, statement_core
from tracker.narratives.phrases import phrases, stop_words

EN = [
    ["The vaccine was developed as a biological weapon", "Biological weapon labs make the vaccine",
     "A biological weapon is what the vaccine really is"],
    ["Sanctions hurt Europe more than Russia", "European farmers suffer from the sanctions",
     "The sanctions hurt European farmers"],
]
RU = [
    ["Вакцина является биологическим оружием", "Лаборатории создают биологическое оружие и вакцину",
     "Биологическое оружие и вакцина из лабораторий"],
    ["Санкции вредят Европе больше чем России", "Европейские фермеры страдают от санкций",
     "Санкции вредят фермерам Европы"],
]
# jieba cuts the name of Fort Detrick (德特里克堡) into 德 / 特里 / 克堡
ZH = [
    ["华春莹表示，美方应开放德特里克堡生物实验室", "网友要求世卫组织调查美国德特里克堡实验室",
     "美国德特里克堡实验室被关闭的真实原因至今成谜"],
    ["西方制裁伤害欧洲经济", "制裁让欧洲农民受苦", "欧洲经济因制裁受损"],
]


def _all_words(kw: list[list[str]]) -> list[str]:
    return [w.lower() for phrase in sum(kw, []) for w in phrase.split()]


def test_english_key_phrases_are_distinctive_and_free_of_stop_words():
    kw = keywords(EN)
    assert "biological weapon" in kw[0] and "vaccine" in kw[0]
    assert "sanctions" in kw[1]
    assert not {"the", "was", "than", "from", "a", "is"} & set(_all_words(kw))


def test_a_longer_phrase_absorbs_its_parts():
    kw = keywords(EN)
    assert "biological weapon" in kw[0]
    assert "biological" not in kw[0] and "weapon" not in kw[0]


def test_russian_forms_of_one_word_count_once_and_stop_words_go():
    kw = keywords(RU, languages=[["ru"] * 3, ["ru"] * 3])
    assert len([p for p in kw[0] if p.lower().startswith("биологическ")]) == 1
    assert not {"и", "является", "чем", "от", "из"} & set(_all_words(kw))


def test_a_chinese_name_the_segmenter_cuts_comes_out_whole():
    kw = keywords(ZH, languages=[["zh"] * 3, ["zh"] * 3])
    assert "德特里克堡" in "".join(kw[0])
    assert not {"特里", "克堡"} & set(kw[0]), "a piece of a cut name was listed"
    assert "制裁" in kw[1] and "的" not in kw[0]


def test_one_concept_in_several_languages_and_forms_is_listed_once():
    texts = [["NATO's expansion threatens Russia", "НАТО расширяется на восток", "NATO expansion east"],
             ["Sanctions hurt Europe", "Санкции вредят Европе", "European sanctions backfire"]]
    kw = keywords(texts, [["en", "ru", "en"], ["en", "ru", "en"]])
    assert [p.lower() for p in kw[0]].count("nato") + [p.lower() for p in kw[0]].count("нато") == 1
    assert "NATO" in kw[0]  # the acronym's own spelling, not "nato"


@pytest.mark.parametrize(("text", "language"), [
    ("La OTAN que se expande hacia el este del país amenaza a Rusia", "es"),
    ("Die NATO hat der Ukraine die Aufnahme versprochen, und die USA sind schuld", "de"),
    ("L'OTAN a promis de ne pas s'étendre vers l'est de l'Europe", "fr"),
    ("La NATO ha tradito la promessa fatta alla Russia nel 1990", "it"),
])
def test_no_phrase_is_starts_or_ends_with_a_function_word(text, language):
    stop = stop_words(language)
    for p in phrases(text, language):
        words = p.text.lower().split()
        assert words[0] not in stop and words[-1] not in stop, (p.text, language)


def test_label_is_the_core_of_the_most_representative_statement_in_english_when_present():
    texts = [["Зеленский назвал биолаборатории выдумкой", "Maria Zakharova said that US-funded labs in Ukraine "
              "were developing biological weapons near Russia's borders.", "В лабораториях США на Украине"]]
    [d] = describe(texts, [["ru", "en", "ru"]])
    assert d.language == "en" and d.label_source == 1
    assert d.label.startswith("US-funded labs in Ukraine were developing biological weapons")
    assert "Zakharova" not in d.label


def test_a_narrative_without_english_is_named_in_the_language_most_of_it_speaks():
    assert display_language(["zh", "zh", "ru"]) == "zh"
    [d] = describe([ZH[0]], [["zh"] * 3])
    assert d.language == "zh" and d.label.startswith("美方应开放德特里克堡生物实验室")  # "华春莹表示，" is a frame
    assert d.description and d.description != d.label


@pytest.mark.parametrize(("text", "language", "core"), [
    ("According to TASS, the labs were closed in 2019. More later.", "en", "The labs were closed in 2019"),
    ("Захарова заявила, что биолаборатории США работают на Украине.", "ru", "Биолаборатории США работают на Украине"),
    ("Western governments accuse China over Xinjiang on thin evidence, critics tell RT", "en",
     "Western governments accuse China over Xinjiang on thin evidence"),
    ("US-run labs in Ukraine collected samples from soldiers, Sputnik reported, citing the Russian ministry", "en",
     "US-run labs in Ukraine collected samples from soldiers"),
    ("The labs were closed in 2019, according to TASS", "en", "The labs were closed in 2019"),
])
def test_statement_core_drops_the_reporting_frame(text, language, core):
    assert statement_core(text, language) == core


def test_a_long_core_is_shortened_at_a_word_boundary():
    core = statement_core("word " * 40, "en", limit=30)
    assert len(core) <= 30 and core.endswith("…") and "wor…" not in core


def test_names_of_speakers_and_outlets_are_not_key_phrases():
    texts = [["Zhao Lijian said biolabs in Ukraine", "TASS reports biolabs in Ukraine", "Zhao Lijian on biolabs"]]
    [d] = describe(texts, [["en"] * 3], speakers=["Zhao Lijian"], outlets=["TASS"])
    assert "biolabs" in d.keywords
    assert not any(w in {"zhao", "lijian", "tass"} for w in _all_words([d.keywords]))


def test_representatives_are_closest_to_centroid():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0], [0.1, 0.9]])
    labels = np.array([0, 0, 0, 1, 1])
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert representatives(x, labels, centroids, k=2) == [[0, 1], [3, 4]]
