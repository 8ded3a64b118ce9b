"""Alias handling: one actor under many spellings is one actor, and only when it should be."""

from __future__ import annotations

import pytest

from tracker.analysis.actors import AliasRules, han_to_pinyin, normalise_name, suggest_aliases


def _pairs(suggestions):
    return {frozenset((a, b)) for a, b, _score, _reason in suggestions}


def test_sergey_sergei_and_cyrillic_share_a_key():
    assert (
        normalise_name("Sergey Lavrov") == normalise_name("Sergei Lavrov") == normalise_name("Сергей Лавров")
    )


def test_zakharova_spellings_share_a_key():
    keys = {
        normalise_name(n)
        for n in ("Maria Zakharova", "Mariya Zakharova", "Мария Захарова", "MARIA ZAKHAROVA")
    }
    assert len(keys) == 1


def test_accents_hyphens_and_apostrophes_are_ignored():
    assert normalise_name("Husam Abd-al-Ra'uf") == normalise_name("husam abd al rauf")
    assert normalise_name("José Ángel") == normalise_name("Jose Angel")


def test_digits_are_not_collapsed_like_doubled_letters():
    assert normalise_name("Channel 11") != normalise_name("Channel 1")


def test_zhou_and_zhu_stay_different_people():
    assert normalise_name("Zhou Li") != normalise_name("Zhu Li")


def test_han_name_converts_to_pinyin():
    assert han_to_pinyin("赵立坚") == [normalise_name("Zhao Lijian")]


def test_han_name_with_unknown_character_needs_a_rule():
    assert han_to_pinyin("赵龘") == []


def test_suggests_hossam_raouf_and_husam_abd_al_rauf():
    suggestions = suggest_aliases(["Hossam Raouf", "Husam Abd-al-Ra'uf", "Hassan Rouhani"])
    assert _pairs(suggestions) == {frozenset(("Hossam Raouf", "Husam Abd-al-Ra'uf"))}
    (_a, _b, score, reason) = suggestions[0]
    assert score >= 0.75 and "abd" in reason


def test_suggests_han_script_name_for_its_pinyin():
    suggestions = suggest_aliases(["Zhao Lijian", "赵立坚", "Hua Chunying"])
    assert frozenset(("Zhao Lijian", "赵立坚")) in _pairs(suggestions)
    assert not any("Hua Chunying" in pair for pair in _pairs(suggestions))


def test_suggests_transliteration_variants():
    names = ["Sergey Lavrov", "Sergei Lavrov", "Maria Zakharova", "Mariya Zakharova", "Мария Захарова"]
    pairs = _pairs(suggest_aliases(names))
    assert frozenset(("Sergey Lavrov", "Sergei Lavrov")) in pairs
    assert frozenset(("Mariya Zakharova", "Мария Захарова")) in pairs


def test_does_not_suggest_different_people_sharing_a_name():
    names = ["Dmitry Peskov", "Dmitri Medvedev", "Wang Yi", "Wang Wenbin", "Sergei Lavrov", "Sergei Ryabkov"]
    assert suggest_aliases(names) == []


def test_extra_word_pair_makes_a_suggestion():
    names = ["Eugene Prigozhin", "Yevgeny Prigozhin"]
    assert suggest_aliases(names, min_score=0.9) == []
    assert _pairs(suggest_aliases(names, extra_pairs=[("Eugene", "Yevgeny")], min_score=0.9)) == {
        frozenset(names)
    }


def test_pairs_already_merged_or_rejected_are_not_suggested():
    rules = AliasRules()
    rules.add("Husam Abd-al-Ra'uf", "Hossam Raouf")
    rules.reject("Sergey Lavrov", "Sergei Lavrov")
    assert (
        suggest_aliases(["Hossam Raouf", "Husam Abd-al-Ra'uf", "Sergey Lavrov", "Sergei Lavrov"], rules=rules)
        == []
    )


def test_rules_resolve_any_spelling_to_the_canonical_name():
    rules = AliasRules({"赵立坚": "Zhao Lijian", "Lijian Zhao": "Zhao Lijian"})
    assert rules.resolve("赵立坚") == "Zhao Lijian"
    assert rules.resolve("  lijian   ZHAO ") == "Zhao Lijian"
    assert rules.resolve("Hua  Chunying") == "Hua Chunying"
    assert rules.key("赵立坚") == rules.key("Zhao Lijian")


def test_rules_round_trip_through_a_dict():
    rules = AliasRules.from_dict(
        {
            "aliases": {"Husam Abd-al-Ra'uf": "Hossam Raouf"},
            "actor": [{"name": "Zhao Lijian", "aliases": ["赵立坚"]}],
            "distinct": [{"names": ["Wang Yi", "Wang Yi (journalist)"]}],
        }
    )
    again = AliasRules.from_dict(rules.to_dict())
    assert again.resolve("赵立坚") == "Zhao Lijian"
    assert again.resolve("Husam Abd-al-Ra'uf") == "Hossam Raouf"
    assert again.is_distinct("Wang Yi (journalist)", "Wang Yi")


def test_bad_rule_names_the_field():
    with pytest.raises(ValueError, match=r"aliases.toml: actor\[0\].aliases"):
        AliasRules.from_dict({"actor": [{"name": "Zhao Lijian", "aliases": "赵立坚"}]}, source="aliases.toml")
