"""How people write a village's address: one place, many spellings.

Court clerks copy debtors' addresses from household registers, judgments and the
debtors' own words, so one village turns up as 广东省云浮市罗定市河口街道城北村委会三组,
罗定河口城北村第3村民小组, 罗定市河口街道办事处城北村民委员会１２号 or with stray
spaces. `address_variants` draws one such spelling; the synthetic province uses it
for its matters' addresses and the geocoder's benchmark reuses it, so both see
the same variety:

- the province (广东省/广东) and the city (云浮市/云浮) may be there or not;
- each division in its full name, its short name (the name without 市/区/县, 镇,
  街道, 村, 社区) when that leaves at least two characters, or the name of its
  office (街道办事处, 村委会, 村民委员会, 社区居委会, 居委会 …);
- a tail: a villagers' group (三组, 第3村民小组), a natural village, a road, a house
  number (12号, 12号之一), or nothing;
- digits sometimes full-width, and spaces where they do not belong.
"""

from __future__ import annotations

import random

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE_DIGITS = "零一二三四五六七八九"
# Natural villages (自然村) and streets of a village: common, deliberately repetitive.
HAMLETS = ("新屋", "老屋", "大屋", "上围", "下围", "岗头", "塘尾", "坑口", "石桥", "竹园")
ROADS = ("人民路", "建设路", "新华路", "解放路", "文化路", "中山路", "振兴路", "环城路", "沿江路")

COUNTY_SUFFIXES = ("市", "区", "县")
TOWN_OFFICES = {"镇": ("镇",), "街道": ("街道", "街道办事处", "街道办", "街")}
_COMMUNITY = ("社区", "社区居委会", "居委会", "社区居民委员会", "居委")
_VILLAGE = ("村", "村委会", "村民委员会", "村委", "管理区")
VILLAGE_OFFICES = {"社区": _COMMUNITY, "社区居委会": _COMMUNITY, "居委会": _COMMUNITY,
                   "村委会": _VILLAGE, "村": _VILLAGE}


def chinese_number(n: int) -> str:
    """1–99 in Chinese numerals: 3 → 三, 12 → 十二, 20 → 二十, 35 → 三十五."""
    tens, ones = divmod(n, 10)
    if not tens:
        return CHINESE_DIGITS[ones]
    head = "" if tens == 1 else CHINESE_DIGITS[tens]
    return head + "十" + (CHINESE_DIGITS[ones] if ones else "")


def _split(name: str, suffixes) -> tuple[str, str]:
    """罗定市 → (罗定, 市); a name with no known suffix is all stem."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def name_forms(name: str, offices: dict[str, tuple[str, ...]] | tuple[str, ...]) -> list[str]:
    """Every way to write one division: full name, short name, office names."""
    if isinstance(offices, tuple):
        offices = {suffix: (suffix,) for suffix in offices}
    stem, suffix = _split(name, sorted(offices, key=len, reverse=True))
    if not suffix:
        return [name]
    if len(stem) < 2:
        # 高村 is not 高 + 村: its committee is 高村村委会, never 高村委会.
        return [name] + [name + office for office in offices[suffix] if office != suffix]
    return [name, stem] + [stem + office for office in offices[suffix] if stem + office != name]


def _tail(rng: random.Random, is_community: bool) -> str:
    n = rng.choice((rng.randint(1, 12), rng.randint(1, 30)))
    house = rng.choice((f"{rng.randint(1, 99)}号", f"{rng.randint(1, 199)}号",
                        f"{rng.randint(1, 40)}号之{chinese_number(rng.randint(1, 3))}",
                        f"{rng.randint(1, 60)}-{rng.randint(1, 9)}号"))
    if is_community:
        choices = (rng.choice(ROADS) + house, rng.choice(ROADS) + house, house, "")
    else:
        cn = chinese_number(n)
        group = rng.choice((f"{cn}组", f"第{n}村民小组", f"第{cn}村民小组", f"{n}组", f"{cn}队",
                            rng.choice(HAMLETS) + "村民小组"))
        choices = (group, group + house, rng.choice(HAMLETS) + house,
                   rng.choice(HAMLETS) + "村" + house, house, "")
    return rng.choice(choices)


def _join(rng: random.Random, parts: list[str]) -> str:
    """Concatenate, with the odd stray space between (or inside) the parts."""
    text = ""
    for part in parts:
        roll = rng.random()
        if text and roll < 0.08:
            text += " "
        elif text and roll < 0.10:
            text += "  "
        text += part
    if rng.random() < 0.03:
        cut = rng.randint(1, max(1, len(text) - 1))
        text = text[:cut] + " " + text[cut:]
    if rng.random() < 0.03:
        text = rng.choice((" ", "　")) + text + " "
    return text


def address_variants(rng: random.Random, county: str, town: str, village: str, *,
                     city: str | None = None, province: str = "广东省") -> str:
    """One spelling of an address in `village` of `town` of `county` (full names)."""
    parts = []
    if rng.random() < 0.35:
        parts.append(rng.choice(name_forms(province, ("省",))))
    if city and rng.random() < 0.45:
        parts.append(rng.choice(name_forms(city, ("市",))))
    parts.append(rng.choice(name_forms(county, COUNTY_SUFFIXES)))
    parts.append(rng.choice(name_forms(town, TOWN_OFFICES)))
    parts.append(rng.choice(name_forms(village, VILLAGE_OFFICES)))
    community = village.endswith(("社区", "居委会"))
    parts.append(_tail(rng, community))
    text = _join(rng, [p for p in parts if p])
    if rng.random() < 0.15:
        text = text.translate(FULL_WIDTH_DIGITS)
    return text
