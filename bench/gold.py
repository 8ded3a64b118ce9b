"""Gold narratives for the quality benchmark: EUvsDisinfo cases whose tags reduce to one narrative tag.

EUvsDisinfo tags each case with about three keywords that mix narratives ("Biological weapons"),
topics ("coronavirus"), people, places and blanket framings ("Conspiracy theory"). To score a
clustering we need one reference narrative per case, so we reduce the tags with a fixed rule
written down here and in bench/README.md:

1. Merge spelling variants of the same tag (``SYNONYMS``), case-insensitively.
2. Drop tags that name a *person* (``PEOPLE``), a *place* (``PLACES``: countries, regions, cities,
   seas, separatist entities), or an *organisation / outlet* (``ORGANISATIONS``): they say whom or
   where a claim is about, not what it claims.
3. Drop *catch-all* tags (``CATCH_ALL``): framings that EUvsDisinfo attaches to unrelated claims
   (that a claim is a conspiracy theory, anti-Western, anti-Russian, about "the media" in general).
4. Keep a case only if exactly one tag remains; that tag is its gold narrative.
5. Keep a narrative only if at least ``MIN_CASES`` cases carry it after step 4.

The lists were fixed from the tag names alone, before any clustering was scored, and they are not
tuned to favour any method. Run ``python bench/gold.py`` to print how many cases and classes remain.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MIN_CASES = 15

SYNONYMS: dict[str, str] = {
    "world war 2": "wwii",
    "un": "united nations",
    "dpr": "dnr",
    "lpr": "lnr",
    "skripal": "sergei skripal",
    "neo-liberalism": "neoliberalism",
    "rt": "russia today (rt)",
    "migration": "migration crisis",
}

PEOPLE: frozenset[str] = frozenset(
    s.lower()
    for s in """
Alexei Navalny|Donald Trump|Sergei Skripal|George Soros|Vladimir Putin|Joe Biden|Alexander Lukashenko|
Volodymyr Zelensky|Petro Poroshenko|Adolf Hitler|Robert Mueller|Bill Gates|Joseph Stalin|Emmanuel Macron|
Nicolas Maduro|Bashar al-Assad|Angela Merkel|Maria Zakharova|Dmitry Kiselyov|Greta Thunberg|Sergei Lavrov|
Maia Sandu|Mike Pompeo|Viktor Yanukovych|Barack Obama|Andrzej Duda|Theresa May|Juan Guaido|Hillary Clinton|
Mikhail Gorbachev|Alexander Litvinenko|Heinz-Christian Strache|Tikhanouskaya|Dmitry Peskov|Mikheil Saakashvili|
Zelimkhan Khangoshvili|Khangoshvilli|Josep Borrell|Julian Assange|Stepan Bandera|Rothschild|Recep Tayyip Erdoğan|
Pope Francis|Nikolay Patrushev|Igor Dodon|Victoria Nuland|Ursula von der Leyen|Jens Stoltenberg|Hunter Biden|
Sergei Magnitsky|Abu Bakr al-Baghdadi|Boris Johnson|Frank-Walter Steinmeier|Donald Tusk|Rockefeller|
Bill Browder|Maria Butina|Kurt Volker|Edward Snowden|Oleksandr Turchynov|Dalia Grybauskaitė|Sergey Shoigu|
Boris Nemtsov|Konev|Mark Zuckerberg|Joseph Goebbels|John McCain|Pavlo Klimkin|Federica Mogherini|Oleg Sentsov|
Arkady Babchenko|Mikhail Khodorkovsky|Mustafa Dzhemilev|Boris Berezovsky|Leonid Kravchuk|Anna Politkovskaya|
Zbigniew Brzezinski|Vladimir Zhirinovsky|Sergei Gavrilov|Alexander Hug|Viktor Orban|Yulia Tymoshenko|
Andriy Parubiy|Jean-Claude Juncker|Yulia Navalnaya|Svetlana Alexievich|Slobodan Milošević|Saddam Hussein|
Geoffrey Pyatt|Carl Bildt|Boris Yeltsin|Dmitry Medvedev|Jarosław Kaczynski|Patriarch Filaret|Benjamin Netanyahu|
Queen Elizabeth II|Sebastian Kurz|Nathalie Loiseau|Madeleine Albright|Marine Le Pen|Markus Ederer|
Ilja Janitskin|Johan Bäckman|Jessikka Aro|Badri Patarkatsishvili|Miloš Zeman|Leonid Kalashnikov|
Alexander Sherin|Milorad Dodik|Igor Giorgadze|Gennady Onishchenko|Viktor Zolotov|Andrej Babiš|Kim Jong-un
""".replace("\n", "").split("|")
    if s.strip()
)

PLACES: frozenset[str] = frozenset(
    s.lower()
    for s in """
Crimea|Ukraine|Donbas|Eastern Ukraine|Europe|Baltic states|Eastern Europe|Middle East|Black Sea|Azov sea|
Kerch|Donetsk|DNR|LNR|Douma|Kaliningrad|Caucasus|Brussels|South Ossetia|Abkhazia|Transnistria|Kosovo|
Yugoslavia|Western Balkans|Nagorno-Karabakh|Idlib|Transcarpathia|Odessa|Middle East and North Africa|Arctic|
Khan Sheikhoun|North Africa|Catalonia|Central Europe|Chechnya|Africa|Aleppo|Baltic sea|Kharkiv|Karelia|
Kurdistan|GDR|Central Asia|Siberia|Mediterranean Sea|Mediterranean|Lviv|Kherson|Austria|Novorossiya|
Ivangorod|Åland|Austria-Hungary|USSR|Schengen|Visegrad
""".replace("\n", "").split("|")
    if s.strip()
)

ORGANISATIONS: frozenset[str] = frozenset(
    s.lower()
    for s in """
European Union|NATO|OPCW|European Parliament|Sputnik|United Nations|WHO|Russia Today (RT)|European Commission|
OSCE|IMF|Facebook|CIA|Democratic Party (US)|Council of Europe|Russia's Ministry of Defence|GRU|Twitter|
ECHR|MI6|SBU|European Council|Wikileaks|Google|FSB|CIS|YouTube|Microsoft|Right Sector|
International Criminal Court|World Bank|The Guardian|The New York Times|G7|Human Rights Watch|Fancy Bear|
Berkut|FBI|Republican Party (US)|CNN|Amnesty International|KGB|Mossad|Azov Battalion|USAID|BBC|TV Zvezda|
Valdai Club|Muslim Brotherhood|Hezbollah|UNHCR|G20|Rosatom|European Court of Justice|WTO|EEU|
Planned Parenthood|Greenpeace|European Defence Agency|ICJ|Rosneft|PODEMOS|Interpol|Frontex|UEFA|WADA|
Eurasian economic union|Centre Against Terrorism and Hybrid Threats|Daesh|Al-Qaeda|Lugar Laboratory
""".replace("\n", "").split("|")
    if s.strip()
)

CATCH_ALL: frozenset[str] = frozenset(
    s.lower()
    for s in """
Conspiracy theory|West|Anti-Russian|Russophobia|Propaganda|Media|Mainstream media|fake news|International|
Information war|Hybrid war|Military|security threat|Democracy|Human rights|economy|health|Europe|Crime|
Chaos|culture|education|Internet|social media|legislation|experiments
""".replace("\n", "").split("|")
    if s.strip()
)


@dataclass(frozen=True)
class GoldSet:
    """Titles with one gold narrative each, plus what the rule kept and dropped."""

    texts: list[str]
    labels: list[str]
    n_cases_total: int
    n_single_tag: int

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def normalise_tag(tag: str) -> str:
    t = tag.strip().lower()
    return SYNONYMS.get(t, t)


DROPPED: frozenset[str] = PEOPLE | PLACES | ORGANISATIONS | CATCH_ALL


def narrative_tags(keywords: str) -> list[str]:
    """The tags of one case that survive steps 1-3 of the rule, deduplicated, in order."""
    out: list[str] = []
    for raw in keywords.split("+"):
        t = normalise_tag(raw)
        if t and t not in DROPPED and t not in out:
            out.append(t)
    return out


def load_gold(path: Path, min_cases: int = MIN_CASES) -> GoldSet:
    """Apply the rule to the EUvsDisinfo CSV at ``path``."""
    singles: list[tuple[str, str]] = []
    total = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            total += 1
            title = (row.get("title") or "").strip()
            if not title:
                raise ValueError(f"{path}:{line_no}: field 'title' is empty")
            tags = narrative_tags(row.get("keywords") or "")
            if len(tags) == 1:
                singles.append((title, tags[0]))
    counts = Counter(tag for _, tag in singles)
    kept = [(t, g) for t, g in singles if counts[g] >= min_cases]
    return GoldSet(
        texts=[t for t, _ in kept],
        labels=[g for _, g in kept],
        n_cases_total=total,
        n_single_tag=len(singles),
    )


def default_data_path() -> Path:
    root = Path(__file__).resolve().parent.parent
    base = Path(os.environ.get("TRACKER_SHARED_DATA", root.parent / "shared" / "data"))
    return base / "euvsdisinfo-cases-2018-2021.csv"


def main() -> int:
    path = default_data_path()
    if not path.exists():
        print(f"data set not found: {path}", file=sys.stderr)
        return 2
    gold = load_gold(path)
    counts = Counter(gold.labels)
    print(f"cases in file: {gold.n_cases_total}")
    print(f"cases with exactly one narrative tag: {gold.n_single_tag}")
    print(f"cases kept (tag has >= {MIN_CASES} cases): {len(gold.texts)} in {len(counts)} classes")
    for tag, n in counts.most_common():
        print(f"  {n:5d}  {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
