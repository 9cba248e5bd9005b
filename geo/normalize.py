"""Address text as people write it, made comparable, and the names they use.

People write the same place many ways: full-width digits (１２号), stray spaces
and punctuation, a label in front (户籍地：…), Chinese numerals for groups
(三组, 第三村民小组). `clean` removes what never tells places apart; group and
house numbers are read from what is left after the place names (`tail`), so
numerals inside names (三合村) are never touched.

The suffix tables say which endings mark which level, and which longer forms
people use for each: 城北村 / 城北村委会 / 城北村民委员会, 河口街道 / 河口街道办事处.
"""

from __future__ import annotations

import re
import unicodedata

# Everything here is noise between place names. "-" stays (12-3号) and is
# dropped later where it does not sit between digits; other dashes become "-".
# Two regex substitutions: about twice as fast as str.translate on CJK text.
_NOISE = " \t\r\n\u3000,，。.、;；:：'\"“”‘’()（）[]【】{}<>《》!！?？*·…/\\|"
_DASHES = "—–－~〜"
_DROP = re.compile(f"[{re.escape(_NOISE)}]+")
_DASH = re.compile(f"[{re.escape(_DASHES)}]")
_STRAY_DASH = re.compile(r"(?<![0-9])-|-(?![0-9])")
_LABEL = re.compile(r"^(?:户籍(?:所在)?地?(?:址)?|户口所在地|住所地?|经常居住地|现?居住地|"
                    r"现住(?:址)?|住址|地址|家住|住在|住)")
_LABEL_STARTS = frozenset("户住经现居地家")


def clean(text: str) -> str:
    """Full-width to half-width, no spaces or punctuation, no leading label."""
    text = text or ""
    # NFKC, then the noise dropped. Most text needs NFKC only for its full-width
    # punctuation (，：), which is noise either way: with the noise dropped first, what
    # is left is often normalized already, and the answer is the same (noise letters
    # become noise, and join no neighbour under NFKC, but for < and > with U+0338).
    dropped = _DROP.sub("", text)
    if unicodedata.is_normalized("NFKC", dropped) and "\u0338" not in text:
        text = dropped
    else:
        text = _DROP.sub("", unicodedata.normalize("NFKC", text))
    text = _DASH.sub("-", text)
    if "-" in text:
        text = _STRAY_DASH.sub("", text)
    if text[:1] in _LABEL_STARTS:
        match = _LABEL.match(text)
        if match:
            return text[match.end():]
    return text


# Endings of names by level, longest first, and the forms people write for each.
# A street (街道) is also written as the town (镇) it used to be; a town written as a
# street (郁南县's 河口镇 as 河口街道) is kept too, but a place whose own form was written
# (云城区's 河口街道) is preferred over it.
COUNTY_SUFFIXES = ("自治县", "区", "县", "市")
TOWN_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "乡")
COUNTY_FORMS = ("区", "县", "市")
TOWN_FORMS = {"街道": ("街道", "街道办", "街道办事处", "街"), "镇": ("镇",), "乡": ("乡",)}
VILLAGE_FORMS = {
    "村": ("村", "村委会", "村委", "村民委员会", "村委员会", "村民委", "管理区"),
    "社区": ("社区", "社区居委会", "社区居委", "社区居民委员会", "居委会", "居委",
             "居民委员会"),
}

# A short name followed by one of these is part of a longer name we do not know
# (城北 + 镇 is 城北镇, not 城北村), or a road (城北 + 路): not a division match.
NOT_A_DIVISION_AFTER = ("路", "街", "巷", "道", "大道", "桥", "小区", "花园", "广场",
                        "大厦", "市场", "公园", "镇", "乡", "村", "社区", "居委", "县",
                        "区", "市", "省", "组", "队", "屯", "坊", "里", "苑", "庄", "场",
                        "林场", "农场")
# A village's bare name followed by one of these is a road named after it (中村路).
ROAD_AFTER = ("路", "街", "巷", "大道")
# A short name ending like a road and followed by a house number is a road (东路 of 东路村
# in 水东路4号), not the village: 岔路10组 is 岔路村's group 10, 岔路10号 a house on 岔路.
HOUSE_NUMBER = re.compile(r"[0-9]+(?:-[0-9]+)*号")
# 第三村民小组, 十四村民小组, 六都村民小组: the 村 belongs to the group, not to a village.
GROUP_AFTER_村 = ("民小组", "民组")
NUMERALS = frozenset("第零〇一二两三四五六七八九十百0123456789")
# Names of places outside the served area that border it, full and short: text that
# starts with one of them (岑溪城北村) is not read as a Yunfu place found further on.
NEIGHBOURS = ("高要区", "德庆县", "封开县", "端州区", "鼎湖区", "高明区", "鹤山市", "开平市",
              "恩平市", "阳春市", "信宜市", "高州市", "岑溪市", "苍梧县", "藤县", "梧州市")


def core_and_forms(name: str, level: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """The short form of an official name (罗定市 → 罗定), its own full forms and its
    full forms of another kind (河口街道 → 河口镇)."""
    if level == "county":
        for suffix in COUNTY_SUFFIXES:
            core = name.removesuffix(suffix)
            if core != name and len(core) >= 2:
                return core, tuple(dict.fromkeys([name] + [core + f for f in COUNTY_FORMS])), ()
        return None, (name,), ()
    if level == "town":
        for suffix in TOWN_SUFFIXES:
            core = name.removesuffix(suffix)
            if core != name and len(core) >= 2:
                kind = "街道" if suffix.startswith("街道") else suffix
                if kind == "街道" and core.endswith("镇") and len(core) > 2:
                    core = core[:-1]  # 双东镇街道, written 双东街道
                own = [name] + [core + f for f in TOWN_FORMS[kind]]
                other = [core + f for k, forms in TOWN_FORMS.items() if k != kind
                         for f in forms if f != "街"]
                if kind == "街道":  # 河口镇: many streets were towns, and are still written so
                    own, other = own + other, []
                own = tuple(dict.fromkeys(own))
                return core, own, tuple(f for f in dict.fromkeys(other) if f not in own)
        return None, (name,), ()
    if level == "village":
        for ending in ("社区", "村"):
            core = name.removesuffix(ending)
            if core == name:
                continue
            if len(core) >= 2:
                return core, tuple(core + f for f in VILLAGE_FORMS[ending]), ()
            # 高村: its committee is 高村村委会, never 高村委会; no short form.
            if ending == "村":
                return None, (name, *(name + f for f in VILLAGE_FORMS["村"] if f != "村")), ()
            return None, tuple(core + f for f in VILLAGE_FORMS["社区"] if f.startswith("社区")), ()
    return None, (name,), ()


_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def chinese_number(text: str) -> int | None:
    """一 … 九十九 (and digits) as an int; None when it is not a number."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _NUMERALS and c not in "十百" for c in text):
        return None
    if "百" in text:
        hundreds, _, rest = text.partition("百")
        rest = rest.lstrip("零〇")
        high = _NUMERALS.get(hundreds, 1 if not hundreds else None)
        low = chinese_number(rest) if rest else 0
        return None if high is None or low is None else high * 100 + low
    if "十" in text:
        tens, _, ones = text.partition("十")
        high = _NUMERALS.get(tens, 1 if not tens else None)
        low = _NUMERALS.get(ones, 0 if not ones else None)
        return None if high is None or low is None else high * 10 + low
    if len(text) == 1:
        return _NUMERALS[text]
    digits = [_NUMERALS[c] for c in text]
    return int("".join(map(str, digits)))


_GROUP = re.compile(r"第?([0-9]+|[零〇一二两三四五六七八九十百]+)"
                    r"(?:村民小组|村民组|经济合作社|经济社|小组|组|队|社)")
_NUMBER = re.compile(r"([0-9]+(?:-[0-9]+)*)号")


def tail(text: str) -> dict:
    """Group and house number from the text after the place names."""
    found = {}
    group = _GROUP.search(text)
    if group:
        value = chinese_number(group.group(1))
        if value is not None:
            found["group"] = value
    number = _NUMBER.search(text)
    if number:
        found["number"] = number.group(1) + "号"
    return found
