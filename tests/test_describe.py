"""Keywords, labels and representatives for English, Russian and Chinese narratives."""

import numpy as np

from tracker.narratives.describe import keywords, label, representatives, tokenize

EN = [
    ["The vaccine was developed as a biological weapon", "Biological weapon labs make the vaccine"],
    ["Sanctions hurt Europe more than Russia", "European farmers suffer from the sanctions"],
]
RU = [
    ["Вакцина является биологическим оружием", "Лаборатории создают биологическое оружие и вакцина"],
    ["Санкции вредят Европе больше чем России", "Европейские фермеры страдают от санкций"],
]
ZH = [
    ["美国的生物实验室制造了病毒", "病毒来自美国生物实验室"],
    ["西方制裁伤害欧洲经济", "制裁让欧洲农民受苦"],
]


def test_english_keywords_pick_distinctive_words_without_stop_words():
    kw = keywords(EN)
    assert "vaccine" in kw[0] and "biological" in kw[0]
    assert "sanctions" in kw[1]
    assert not {"the", "was", "than", "from"} & set(kw[0] + kw[1])


def test_russian_keywords_drop_russian_stop_words():
    kw = keywords(RU, languages=[["ru", "ru"], ["ru", "ru"]])
    assert "вакцина" in kw[0]
    assert not {"и", "является", "чем", "от"} & set(kw[0] + kw[1])


def test_chinese_is_segmented_into_words():
    kw = keywords(ZH, languages=[["zh", "zh"], ["zh", "zh"]])
    assert "实验室" in kw[0] or "生物" in kw[0]
    assert "制裁" in kw[1]
    assert "的" not in kw[0]
    assert all(len(w) < 6 for w in kw[0] + kw[1]), "whole sentences were not segmented"


def test_word_shared_by_every_cluster_ranks_below_distinctive_ones():
    kw = keywords([["russia vaccine vaccine"], ["russia sanctions sanctions"]], top_n=2)
    assert kw[0][0] == "vaccine" and kw[1][0] == "sanctions"


def test_tokenize_handles_mixed_scripts():
    toks = tokenize("NATO 北约扩张 угрожает России")
    assert "nato" in toks and "угрожает" in toks and any("北约" in t for t in toks)


def test_label_uses_top_keywords_or_shortened_statement():
    assert label(["vaccine", "weapon", "lab", "biological", "usa"]) == "vaccine / weapon / lab / biological"
    long = "word " * 40
    short = label([], [long], max_chars=30)
    assert len(short) <= 30 and short.endswith("…")


def test_representatives_are_closest_to_centroid():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0], [0.1, 0.9]])
    labels = np.array([0, 0, 0, 1, 1])
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert representatives(x, labels, centroids, k=2) == [[0, 1], [3, 4]]
