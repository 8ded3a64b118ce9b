"""One actor, many spellings: name keys, researcher-editable alias rules, and merge suggestions.

State actors appear under transliterations ("Sergey" / "Sergei" / "Сергей"), romanisations of
Arabic ("Hossam Raouf" / "Husam Abd-al-Ra'uf") and Han script ("赵立坚" / "Zhao Lijian"). A
timeline that counts them as different actors invents amplification that never happened.

* ``normalise_name`` gives a *match key* (not a display name): two spellings with the same key
  are treated as one actor without any rule.
* ``AliasRules`` is what a researcher edits: alias -> canonical name, loadable from a dict of the
  shape a TOML file gives (see ``AliasRules.from_dict``).
* ``suggest_aliases`` proposes merges that a key cannot decide (vowel variants, dropped Arabic
  particles, Han names); a researcher confirms them by adding a rule. Nothing is merged by it.

Han script: a small built-in table gives pinyin for common Chinese surnames and for the
characters in the names of prominent officials and spokespeople. A Han name whose characters are
all in the table is converted and can be *suggested* as an alias of its pinyin spelling; any other
Han name needs an explicit rule. Arabic script is not transliterated (rules only).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import product
from typing import Any

logger = logging.getLogger(__name__)

# Russian / Ukrainian / Belarusian Cyrillic -> Latin. Letters with diacritics (й, ё, ї) are split by
# NFKD before this table is used, so only their base letters need an entry.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "є": "ye", "ґ": "g", "ў": "u",
}  # fmt: skip

# Spelling variants collapsed after transliteration, applied in order. "y" -> "i" covers
# ey/ei (Sergey/Sergei) and iy/i (Dmitriy/Dmitri); doubled letters are collapsed afterwards.
# Vowel variants (ou/u, o/u) are not collapsed here, since pinyin needs them (Zhou is not Zhu);
# ``suggest_aliases`` compares consonant skeletons instead.
_VARIANTS = (
    ("dzh", "j"), ("kh", "h"), ("ph", "f"), ("x", "ks"), ("w", "v"), ("y", "i"),
)  # fmt: skip

_APOSTROPHES = "'’‘`´ʼʻʹʾʿ"
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_DOUBLED = re.compile(r"([^\W\d_])\1+")  # letters only: "Actor 11" is not "Actor 1"
_SPACES = re.compile(r"\s+")

# Arabic articles and name particles that romanisations write, hyphenate or drop at will.
PARTICLES = frozenset(
    {"al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "an", "bin", "ben", "ibn", "bint",
     "abd", "abdel", "abdul", "abdal", "abu", "abi"}
)  # fmt: skip

# Pinyin for common surnames and characters in prominent officials' names. Characters with two
# readings used in names list both ("朝" is zhao in Ma Zhaoxu's name, chao elsewhere): all
# readings are tried.
_PINYIN_TEXT = """
王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma 朱zhu 胡hu
郭guo 何he 高gao 林lin 罗luo 郑zheng 梁liang 谢xie 宋song 唐tang 许xu 韩han 冯feng 邓deng
曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 袁yuan 潘pan 于yu 蒋jiang 蔡cai 余yu 杜du 叶ye
程cheng 苏su 魏wei 吕lu 丁ding 任ren 沈shen 姚yao 卢lu 姜jiang 崔cui 钟zhong 谭tan 陆lu
汪wang 范fan 金jin 石shi 廖liao 贾jia 夏xia 韦wei 付fu 傅fu 方fang 白bai 邹zou 孟meng 熊xiong
秦qin 邱qiu 江jiang 尹yin 薛xue 闫yan 段duan 雷lei 侯hou 龙long 史shi 陶tao 黎li 贺he 顾gu
毛mao 郝hao 龚gong 邵shao 万wan 钱qian 严yan 武wu 戴dai 莫mo 孔kong 向xiang 汤tang 耿geng
华hua 常chang 温wen 康kang 施shi 洪hong 岳yue 齐qi 易yi 乔qiao 庞pang 颜yan 倪ni 俞yu 章zhang
鲁lu 葛ge 伍wu 申shen 尤you 毕bi 聂nie 焦jiao 柴chai 祝zhu 包bao 左zuo 吉ji 安an 殷yin 季ji
蓝lan 栗li 习xi
立li 坚jian 春chun 莹ying 文wen 斌bin 宁ning 剑jian 爽shuang 慷kang 毅yi 刚gang 近jin 平ping
强qiang 聪cong 军jun 嘉jia 昆kun 克ke 非fei 谦qian 锡xi 进jin 晓xiao 明ming 沙sha 野ye 洁jie
篪chi 国guo 伟wei 芳fang 娜na 敏min 静jing 丽li 勇yong 杰jie 涛tao 超chao 磊lei 洋yang 艳yan
峰feng 锋feng 波bo 辉hui 红hong 霞xia 玲ling 东dong 海hai 建jian 新xin 志zhi 云yun 飞fei 鹏peng
宇yu 浩hao 鑫xin 亮liang 成cheng 玉yu 兰lan 英ying 秀xiu 梅mei 燕yan 光guang 天tian 德de
永yong 生sheng 福fu 荣rong 庆qing 晨chen 阳yang 泽ze 民min 小xiao 一yi 大da 中zhong 和he
正zheng 俊jun 彬bin 凯kai 雪xue 慧hui 琳lin 婷ting 瑞rui 旭xu 韬tao 博bo 山shan 松song 青qing
清qing 泉quan 秋qiu 冬dong 宏hong 虎hu 岩yan 铁tie 银yin 卫wei 兵bing 力li 群qun 利li 学xue
涵han 轩xuan 子zi 思si 欣xin 怡yi 佳jia 琪qi 家jia 振zhen 雨yu 桂gui 淑shu 沪hu 汉han 良liang
忠zhong 仁ren 义yi 礼li 信xin 贤xian 达da 鸿hong 宝bao 顺shun 健jian 彦yan 晶jing 励li 际ji
岐qi 战zhan 书shu 祥xiang 奇qi 希xi 凤feng 尚shang 涌yong 京jing 伦lun 勤qin 春chun 宪xian
朝chao,zhao 乐le,yue 单shan,dan 长chang,zhang 重chong,zhong
"""
# Two-character surnames, so that the given name is split correctly.
_COMPOUND_SURNAMES = {"欧阳": "ouyang", "司马": "sima", "诸葛": "zhuge", "上官": "shangguan", "司徒": "situ"}


def _parse_pinyin(text: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for item in text.split():
        table[item[0]] = tuple(item[1:].split(","))
    return table


PINYIN: dict[str, tuple[str, ...]] = _parse_pinyin(_PINYIN_TEXT)


def is_han(text: str) -> bool:
    """True when the text contains CJK unified ideographs (a Chinese name in Han script)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def clean_name(name: str) -> str:
    """Trim and collapse whitespace: the display form of a name nobody has a rule for."""
    return _SPACES.sub(" ", name).strip()


@lru_cache(maxsize=65536)  # actor names repeat across thousands of statements
def normalise_name(name: str) -> str:
    """Return a match key: case, accents, punctuation and common transliteration variants removed.

    "Sergey Lavrov", "Sergei Lavrov" and "Сергей Лавров" all give "sergei lavrov"; "Mariya
    Zakharova", "Maria Zakharova" and "Мария Захарова" give "maria zaharova". Han names are
    returned with whitespace removed (see ``han_to_pinyin`` for their romanisations).
    """
    text = unicodedata.normalize("NFKC", name)
    if is_han(text):
        return _SPACES.sub("", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(_CYRILLIC.get(ch, ch) for ch in text)
    for ch in _APOSTROPHES:
        text = text.replace(ch, "")
    text = _PUNCT.sub(" ", text)  # hyphens and other punctuation separate words
    for old, new in _VARIANTS:
        text = text.replace(old, new)
    text = _DOUBLED.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def han_to_pinyin(name: str) -> list[str]:
    """All normalised pinyin spellings of a Han-script name ("赵立坚" -> ["zhao lijian"]).

    Surname first, given name as one word, as Chinese names are romanised. Returns [] when a
    character is not in the built-in table: such names need an explicit alias rule.
    """
    chars = "".join(ch for ch in unicodedata.normalize("NFKC", name) if not ch.isspace() and ch != "·")
    if len(chars) < 2:
        return []
    if chars[:2] in _COMPOUND_SURNAMES:
        surnames: tuple[str, ...] = (_COMPOUND_SURNAMES[chars[:2]],)
        given_chars = chars[2:]
    else:
        if chars[0] not in PINYIN:
            return []
        surnames = PINYIN[chars[0]]
        given_chars = chars[1:]
    if any(ch not in PINYIN for ch in given_chars):
        return []
    spellings = []
    for surname in surnames:
        for given in product(*(PINYIN[ch] for ch in given_chars)):
            spellings.append(normalise_name(f"{surname} {''.join(given)}".strip()))
    return sorted(set(spellings))


@dataclass
class AliasRules:
    """Researcher-editable mapping of spellings to one canonical actor name.

    Lookups go through ``normalise_name``, so a rule written for "Sergei Lavrov" also catches
    "SERGEY LAVROV". ``distinct`` holds pairs a researcher rejected, so they are not suggested again.
    """

    aliases: dict[str, str] = field(default_factory=dict)  # alias spelling -> canonical name
    distinct: set[frozenset[str]] = field(default_factory=set)
    _index: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for alias, canonical in list(self.aliases.items()):
            self.add(alias, canonical)

    def add(self, alias: str, canonical: str) -> None:
        """Record that ``alias`` is the actor called ``canonical``."""
        canonical = clean_name(canonical)
        if not canonical:
            raise ValueError(f"alias {alias!r}: canonical name is empty")
        self.aliases[alias] = canonical
        self._index[normalise_name(canonical)] = canonical
        self._index[normalise_name(alias)] = canonical

    def reject(self, a: str, b: str) -> None:
        """Record that ``a`` and ``b`` are different actors (never suggest merging them)."""
        self.distinct.add(frozenset((normalise_name(a), normalise_name(b))))

    def resolve(self, name: str) -> str:
        """The canonical name for ``name``, or the name itself (whitespace cleaned) without a rule."""
        return self._index.get(normalise_name(name), clean_name(name))

    def has_rule(self, name: str) -> bool:
        """True when a researcher's rule covers this spelling (its canonical name is then used)."""
        return normalise_name(name) in self._index

    def key(self, name: str) -> str:
        """Grouping key: spellings that resolve to the same actor share it."""
        return normalise_name(self.resolve(name))

    def is_distinct(self, a: str, b: str) -> bool:
        return frozenset((normalise_name(a), normalise_name(b))) in self.distinct

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> AliasRules:
        """Build rules from the shape a TOML file gives::

        [aliases]                       # alias = canonical
        "Husam Abd-al-Ra'uf" = "Hossam Raouf"

        [[actor]]                       # or one table per actor
        name = "Zhao Lijian"
        aliases = ["赵立坚", "Lijian Zhao"]

        [[distinct]]                    # pairs a researcher rejected
        names = ["Wang Yi", "Wang Yi (journalist)"]
        """
        rules = cls()
        aliases = data.get("aliases", {})
        if not isinstance(aliases, Mapping):
            raise ValueError(f"{source}: 'aliases' must be a table of alias = canonical")
        for alias, canonical in aliases.items():
            if not isinstance(canonical, str):
                raise ValueError(f"{source}: aliases.{alias}: canonical name must be a string")
            rules.add(str(alias), canonical)
        for i, entry in enumerate(data.get("actor", [])):
            name = entry.get("name") if isinstance(entry, Mapping) else None
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"{source}: actor[{i}].name: a non-empty string is required")
            names = entry.get("aliases", [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"{source}: actor[{i}].aliases: a list of strings is required")
            rules.add(name, name)
            for alias in names:
                rules.add(alias, name)
        for i, entry in enumerate(data.get("distinct", [])):
            pair = entry.get("names") if isinstance(entry, Mapping) else None
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"{source}: distinct[{i}].names: a list of two names is required")
            rules.reject(pair[0], pair[1])
        return rules

    def to_dict(self) -> dict[str, Any]:
        """The inverse of ``from_dict`` (grouped per actor), ready to write as TOML."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for alias, canonical in self.aliases.items():
            if alias != canonical:
                grouped[canonical].append(alias)
            else:
                grouped.setdefault(canonical, [])
        return {
            "actor": [{"name": name, "aliases": sorted(al)} for name, al in sorted(grouped.items())],
            "distinct": [{"names": sorted(pair)} for pair in sorted(self.distinct, key=sorted)],
        }


# --- suggestions ---------------------------------------------------------------------------


def _skeleton(token: str) -> str:
    """First letter plus consonants: "hosam" and "husam" both give "hsm"."""
    return token[:1] + re.sub(r"[aeiou]", "", token[1:])


def _token_similarity(a: str, b: str, equivalent: set[frozenset[str]]) -> tuple[float, str]:
    if a == b:
        return 1.0, ""
    if frozenset((a, b)) in equivalent:
        return 0.95, f"{a}~{b} (researcher equivalence)"
    if len(a) > 2 and _skeleton(a) == _skeleton(b):
        return 0.9, f"{a}~{b}"
    ratio = SequenceMatcher(None, a, b).ratio()
    return (ratio, f"{a}~{b}") if ratio >= 0.75 else (0.0, "")


def _match_score(
    short: list[str], long: list[str], equivalent: set[frozenset[str]]
) -> tuple[float, list[str]]:
    """Greedy one-to-one token match; every token of the shorter name must find a partner."""
    free = list(long)
    sims, notes = [], []
    for tok in short:
        best, best_note, best_j = 0.0, "", -1
        for j, other in enumerate(free):
            sim, note = _token_similarity(tok, other, equivalent)
            if sim > best:
                best, best_note, best_j = sim, note, j
        if best_j < 0:
            return 0.0, []
        sims.append(best)
        if best_note:
            notes.append(best_note)
        free.pop(best_j)
    coverage = len(short) / len(long)
    return (sum(sims) / len(sims)) * coverage**0.25, notes


def suggest_aliases(
    names: Iterable[str],
    extra_pairs: Iterable[tuple[str, str]] = (),
    rules: AliasRules | None = None,
    min_score: float = 0.75,
) -> list[tuple[str, str, float, str]]:
    """Propose pairs of spellings that are probably one actor, best first, for a researcher to confirm.

    ``extra_pairs`` are spelling equivalences the researcher knows: one-word pairs
    (("Eugene", "Yevgeny")) are treated as the same word; multi-word pairs as the same name.
    Pairs already merged by ``rules`` or rejected there are left out. Names are only compared
    when they share a word skeleton (blocking), so thousands of names stay cheap. A one-word name
    is only suggested when its key equals the other's. Returns (a, b, score, reason).
    """
    unique = sorted({clean_name(n) for n in names if n and n.strip()})
    equivalent_words: set[frozenset[str]] = set()
    equivalent_names: set[frozenset[str]] = set()
    for a, b in extra_pairs:
        ka, kb = normalise_name(a), normalise_name(b)
        (equivalent_words if " " not in ka and " " not in kb else equivalent_names).add(frozenset((ka, kb)))

    # Each name gets one or more romanised forms (Han names: one per pinyin reading).
    forms: dict[str, list[tuple[str, bool]]] = {}
    for name in unique:
        key = normalise_name(name)
        forms[name] = [(p, True) for p in han_to_pinyin(name)] if is_han(name) else [(key, False)]
        if is_han(name) and not forms[name]:
            logger.debug("no pinyin for %r: it needs an explicit alias rule", name)

    block: dict[str, set[str]] = defaultdict(set)
    for name, variants in forms.items():
        for form, _ in variants:
            for tok in form.split():
                if tok not in PARTICLES:
                    block[_skeleton(tok)].add(name)
    for pair in equivalent_names:
        for key in pair:
            block["=" + key] |= {n for n, v in forms.items() if any(f == key for f, _ in v)}
    for pair in equivalent_words:
        a, b = sorted(pair)
        block[_skeleton(a)] |= block.get(_skeleton(b), set())

    candidates: set[tuple[str, str]] = set()
    for members in block.values():
        ordered = sorted(members)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                candidates.add((a, b))

    out: list[tuple[str, str, float, str]] = []
    for a, b in candidates:
        if rules is not None and (rules.key(a) == rules.key(b) or rules.is_distinct(a, b)):
            continue
        best: tuple[float, str] = (0.0, "")
        for (fa, han_a), (fb, han_b) in product(forms[a], forms[b]):
            scored = _score_forms(fa, fb, equivalent_words, equivalent_names)
            if scored[0] > 0 and (han_a or han_b):
                scored = (scored[0] * 0.95, "pinyin of Han characters; " + scored[1])
            best = max(best, scored)
        if best[0] >= min_score:
            out.append((a, b, round(best[0], 3), best[1].rstrip("; ")))
    out.sort(key=lambda s: (-s[2], s[0], s[1]))
    return out


def _score_forms(
    a: str, b: str, equivalent_words: set[frozenset[str]], equivalent_names: set[frozenset[str]]
) -> tuple[float, str]:
    if a == b:
        return 1.0, "same normalised spelling"
    if frozenset((a, b)) in equivalent_names:
        return 0.95, "researcher equivalence"
    ta, tb = a.split(), b.split()
    core_a = [t for t in ta if t not in PARTICLES] or ta
    core_b = [t for t in tb if t not in PARTICLES] or tb
    dropped = sorted((set(ta) - set(core_a)) | (set(tb) - set(core_b)))
    short, long = sorted((core_a, core_b), key=len)
    if len(short) < 2:
        return 0.0, ""
    score, notes = _match_score(short, long, equivalent_words)
    if score <= 0:
        return 0.0, ""
    reasons = []
    if notes:
        reasons.append("spelling variants " + ", ".join(notes))
    if dropped:
        reasons.append("particles ignored " + ", ".join(dropped))
    if len(short) < len(long):
        reasons.append(f"{len(long) - len(short)} extra word(s)")
    if not reasons:
        reasons.append("same words" if core_a == core_b else "same words, other order")
    return score, "; ".join(reasons)
