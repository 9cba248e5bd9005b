"""The demo's corpus of address spellings, and how a geocoder's answer is judged.

For every village of the demo (all 975 of seeds/yunfu-divisions.tsv), 40 spellings
drawn deterministically the many ways people write them: province and city or
not, county, town and village in full, short or office form, a villagers' group
or a house number after the village, a landmark, a label in front, stray spaces
and punctuation, full-width digits. Each spelling carries what a careful reader
can tell from it: the villages that fit every name written, in its role. The
tests (tests/test_geocoder_variants.py) hold the geocoder to it; `python -m
bench.spellings` prints the figures.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, defaultdict
from typing import NamedTuple

from sqlalchemy import text

# -- the corpus --------------------------------------------------------------------------

VARIANTS_PER_VILLAGE = 40
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
CN_DIGITS = "零一二三四五六七八九"
SEPARATORS = ("", "", "", " ", "，", "、", "-", "·", "\u3000", ",", "  ")
LABELS = ("", "", "", "户籍地：", "住址:", "现住", "户籍所在地：", "家住", "住所地:")
PROVINCES = ("", "", "广东省", "广东")
CITIES = ("", "", "云浮市", "云浮")


class Village(NamedTuple):
    code: str
    name: str
    town: str
    county: str


class Variant(NamedTuple):
    text: str
    code: str  # the village meant
    county: str | None  # the forms written, None when left out
    town: str | None
    village: str
    village_name: str  # the official name of the village meant


def chinese(n: int) -> str:
    """1–99 in Chinese numerals: 3 → 三, 12 → 十二, 20 → 二十."""
    tens, ones = divmod(n, 10)
    if not tens:
        return CN_DIGITS[ones]
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


def county_forms(name: str) -> list[str]:
    """罗定市 → 罗定市, 罗定; 云安区 also by its old name 云安县 (an alias)."""
    forms = [name]
    if name.endswith(("市", "区", "县")) and len(name) >= 3:
        forms.append(name[:-1])
    if name == "云安区":
        forms.append("云安县")
    return forms


def town_forms(name: str) -> list[str]:
    """河口街道 → 河口街道, 河口街道办事处, 河口街道办, 河口镇, 河口; 六都镇 → 六都镇, 六都;
    farms and forestry centres (林场, 农场) only in full. The demo's 双东镇街道 is the
    real 双东街道: people write 双东街道."""
    if name.endswith("街道"):
        stem = name.removesuffix("街道")
        if stem.endswith("镇") and len(stem) > 2:
            stem = stem[:-1]
        forms = [name, stem + "街道", stem + "街道办事处", stem + "街道办", stem + "镇"]
        if len(stem) >= 2:
            forms.append(stem)
        return list(dict.fromkeys(forms))
    if name.endswith("镇") and len(name) >= 3:
        return [name, name[:-1]]
    return [name]


def village_forms(name: str) -> list[str]:
    """城北村 → 城北村, 城北, 城北村委会, 城北村委, 城北村民委员会, 城北村民委;
    星岩社区 → 星岩社区, 星岩, 星岩社区居委会, 星岩居委会, 星岩居民委员会 …;
    高村 (one character before 村) → 高村, 高村村委会, 高村村民委员会, 高村村委."""
    if name.endswith("社区"):
        stem = name.removesuffix("社区")
        return [name, stem, stem + "社区居委会", stem + "居委会", stem + "居民委员会",
                stem + "社区居民委员会", stem + "社区居委"]
    if name.endswith("村"):
        stem = name.removesuffix("村")
        if len(stem) >= 2:
            return [name, stem, stem + "村委会", stem + "村委", stem + "村民委员会",
                    stem + "村民委"]
        return [name, name + "村委会", name + "村民委员会", name + "村委"]
    return [name]  # 大云雾林场虚拟生活区


def tails(rng: random.Random) -> tuple[str, ...]:
    n = rng.randint(1, 15)
    house = f"{rng.randint(1, 99)}号"
    return ("", f"{chinese(n)}组", f"{n}组", f"第{chinese(n)}村民小组", f"第{n}村民小组",
            f"{chinese(n)}队", house, house.translate(FULL_WIDTH),
            f"{rng.randint(1, 60)}-{rng.randint(1, 9)}号", f"{chinese(n)}组{house}", "旁边小卖部",
            f"{n}组{house}旁边小卖部", f"第{n}村民小组{house}")


def variants(village: Village, n: int = VARIANTS_PER_VILLAGE):
    """n spellings of an address in `village`; every form of each name turns up."""
    rng = random.Random(zlib.crc32(village.code.encode()))
    cf, tf, vf = county_forms(village.county), town_forms(village.town), village_forms(village.name)
    for i in range(n):
        county = cf[i % len(cf)] if rng.random() < 0.8 else None
        town = tf[i % len(tf)] if rng.random() < 0.85 else None
        form = vf[i % len(vf)]
        parts = [rng.choice(PROVINCES), rng.choice(CITIES), county, town, form,
                 rng.choice(tails(rng))]
        written = ""
        for part in parts:
            if part:
                written += (rng.choice(SEPARATORS) if written else "") + part
        written = rng.choice(LABELS) + written
        if rng.random() < 0.1:
            written = written.translate(FULL_WIDTH)
        yield Variant(written, village.code, county, town, form, village.name)


class Reader:
    """What a careful person can tell from the names written, each in its role."""

    def __init__(self, villages: list[Village]):
        self.by_form: dict[str, list[Village]] = defaultdict(list)
        for v in villages:
            for form in village_forms(v.name):
                self.by_form[form].append(v)

    def candidates(self, variant: Variant) -> list[str]:
        return [v.code for v in self.by_form[variant.village]
                if (variant.town is None or variant.town in town_forms(v.town))
                and (variant.county is None or variant.county in county_forms(v.county))]


# -- judging one answer -------------------------------------------------------------------

OK, TOWN_ONLY, AMBIGUOUS, AMBIGUOUS_WITHOUT, NO_CANDIDATES, UNMATCHED, WRONG, SILENT_PICK = (
    "ok", "town only", "ambiguous", "ambiguous without it", "ambiguous, no candidates",
    "unmatched", "WRONG", "silent pick")


def outcome(status: str, codes: list[str], meant: str, fitting: list[str]) -> str:
    """codes: the matched grid first, or the candidates. fitting: what a reader allows."""
    if status == "matched":
        got = codes[0]
        if got == meant:
            return OK if len(fitting) <= 1 else SILENT_PICK
        if got == meant[:9] + "000":
            return TOWN_ONLY
        return WRONG
    if status == "ambiguous":
        return AMBIGUOUS if meant in codes else AMBIGUOUS_WITHOUT if codes else NO_CANDIDATES
    return UNMATCHED


def parsed_outcome(p, meant, fitting) -> str:
    return outcome(p.status, [pl.code for pl in p.places], meant, fitting)


def kind(variant: Variant) -> str:
    if variant.county and variant.town:
        return "county+town+village"
    if variant.town:
        return "town+village"
    if variant.county:
        return "county+village"
    name = variant.village_name
    short = variant.village != name and variant.village in (name.removesuffix("村"),
                                                             name.removesuffix("社区"))
    return "village alone, short" if short else "village alone"


def tally(corpus, outcomes) -> dict:
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for (v, fitting), out in zip(corpus, outcomes, strict=True):
        determinable = "determinable" if len(fitting) == 1 else "several fit"
        by_kind[kind(v), determinable][out] += 1
        by_kind["all", determinable][out] += 1
        by_kind["all", "all"][out] += 1
    return by_kind


def share(counter: Counter, key: str = OK) -> float:
    return counter[key] / max(1, sum(counter.values()))


def examples(corpus, outcomes, wanted: set[str], n: int = 20) -> list[str]:
    return [f"{v.text!r} (meant {v.code}) → {out}"
            for (v, _), out in zip(corpus, outcomes, strict=True) if out in wanted][:n]


def demo_villages(session) -> list[Village]:
    rows = session.execute(text("""
        SELECT v.code, v.name, t.name, c.name
        FROM grids v JOIN grids t ON t.id = v.parent_id JOIN grids c ON c.id = t.parent_id
        WHERE v.level = 'village' AND v.generation_high IS NULL ORDER BY v.code""")).all()
    return [Village(*r) for r in rows]


def corpus_of(villages: list[Village]) -> list[tuple[Variant, list[str]]]:
    reader = Reader(villages)
    return [(v, reader.candidates(v)) for village in villages for v in variants(village)]
