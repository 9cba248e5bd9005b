"""From address text to division: the in-memory name index.

The index is built from the database — current grids (county, town, village),
their suffix variants (geo.normalize), the admin-kept aliases and the road
names of the standard address points — so imported real boundaries work with
no code change. It is a plain dict from every written form to what it names
(geo.names.Form), plus a trie (pyahocorasick) that says how long a form can
start at a position, so a lookup at one position costs a handful of dict probes.
The rules that read an address with it are in geo.reading; `Gazetteer.parse`
is pure (no database) and fast; geo.locate adds standard address points,
points in polygons and the liaison.
"""

from __future__ import annotations

import re
import sys
import threading

import ahocorasick
from sqlalchemy import select, text
from sqlalchemy.orm import Session, aliased

from geo.names import _PREFIX_LENGTH, Entry, Form, Parsed, Place  # noqa: F401 (Parsed: used via here)
from geo.normalize import NEIGHBOURS, NUMERALS, core_and_forms
from geo.reading import Reading
from models.addresses import AddressPoint
from models.grids import Grid, GridLevel
from models.places import PlaceAlias

# Names of places outside any served area, so such an address is refused with
# that reason instead of "not recognised". Aliases (the served province and
# cities) take precedence over these.
OUTSIDE = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆",
    "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "香港", "澳门",
    "台湾", "广州", "深圳", "珠海", "汕头", "佛山", "韶关", "湛江", "肇庆", "江门", "茂名",
    "惠州", "梅州", "汕尾", "河源", "阳江", "清远", "东莞", "中山", "潮州", "揭阳", "云浮",
)
_OUTSIDE_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区",
                     "特别行政区")


class Gazetteer(Reading):
    def __init__(self, places: dict[str, Place], forms: dict[str, Form],
                 version: tuple = ()):
        self.places, self.forms, self.version = places, forms, version
        # A trie of the forms (pyahocorasick, in C) says how far the text at a position
        # can still be a form; the dict is then probed from there down, usually once.
        self._trie = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        for written in forms:
            self._trie.add_word(written)
        self._longest = max(map(len, forms), default=0)
        # What can matter after the village (a road, a full name), found in one pass.
        self._after = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        for written, form in forms.items():
            if form.roads or (form.divisions and form.all_full):
                self._after.add_word(written)
        if len(self._after):
            self._after.make_automaton()
        # ... and a quick test whether any of it may be there: a road's last letter before
        # a number, or the last letter of a full name (of a village too, after a short one).
        road_ends = {w[-1] for w, f in forms.items() if f.roads}
        above = {w[-1] for w, f in forms.items() if f.divisions and f.all_full
                 and not f.villages_only}
        villages = {w[-1] for w, f in forms.items() if f.villages_only and f.all_full}
        self._after_full = _letters(road_ends, above)
        self._after_short = _letters(road_ends, above | villages)
        # A form that is both a road and a division (河口街: a road of 河口社区, and 河口街道
        # written short) is read as one or the other by what follows it.
        both = [f for f in forms.values() if f.roads and f.divisions]
        self._as_road = {f.text: _form(f.text, (), (), f.roads, False, places) for f in both}
        self._as_division = {f.text: _form(f.text, f.divisions, f.areas, (), False, places)
                             for f in both}
        # Each town's villages by name, for the names a clerk mistyped by one letter.
        self._villages_of_town: dict[str, list[Place]] = {}
        for place in places.values():
            if place.level == "village":
                self._villages_of_town.setdefault(place.code[:9], []).append(place)

    # -- building -------------------------------------------------------------------

    @classmethod
    def load(cls, session: Session) -> Gazetteer:
        version = current_version(session)
        parent = aliased(Grid)
        rows = session.execute(
            select(Grid.id, Grid.code, Grid.name, Grid.level, parent.code)
            .outerjoin(parent, parent.id == Grid.parent_id)
            .where(Grid.generation_high.is_(None), Grid.level.in_(
                [GridLevel.county, GridLevel.town, GridLevel.village]))
            .order_by(Grid.code)).all()
        aliases = session.execute(select(PlaceAlias.alias, PlaceAlias.code)).all()
        roads = session.execute(select(AddressPoint.road, AddressPoint.county_code)
                                .distinct()).all()
        return cls.build(rows, aliases, roads, version)

    @classmethod
    def build(cls, grids, aliases=(), roads=(), version=()) -> Gazetteer:
        """grids: (id, code, name, level, parent_code) rows, parents before children."""
        places: dict[str, Place] = {}
        found: dict[str, dict] = {}

        def add(form, key, value):
            bucket = found.setdefault(form, {"divisions": [], "areas": [], "roads": [],
                                             "outside": False})
            if key == "outside":
                bucket["outside"] = True
            elif value not in bucket[key]:
                bucket[key].append(value)

        def division(code, level, full, own=True):
            return Entry(code, level, full, sys.intern(code[:_PREFIX_LENGTH[level]]), own)

        grids = [(i, code, name, getattr(level, "value", level), parent)
                 for i, code, name, level, parent in grids]
        # Official names carry prefixes people leave out (云浮市国有水台林场 is written
        # 水台林场): the served province and city, the counties, 国有/国营, a bureau.
        prefixes = sorted({a for a, code in aliases if len(code) in (2, 4)
                           and a.endswith(("省", "市"))}
                          | {name for _, _, name, level, _ in grids if level == "county"},
                          key=len, reverse=True)
        for grid_id, code, name, level, parent_code in grids:
            parent_path = places[parent_code].path if parent_code in places else ()
            places[code] = Place(code, name, level, (*parent_path, name), grid_id)
            core, own, other = core_and_forms(name, level)
            for form in (*own, *_without_prefixes(name, prefixes)):
                add(form, "divisions", division(code, level, True))
            for form in other:
                add(form, "divisions", division(code, level, True, own=False))
            if core:
                add(core, "divisions", division(code, level, False))
        for alias, code in aliases:
            if len(code) in (2, 4):
                add(alias, "areas", sys.intern(code))
            elif _level_of(code, places):
                place = places.get(code.ljust(12, "0")) or places[code]
                add(alias, "divisions", division(place.code, place.level, True))
        for road, county_code in roads:
            add(road, "roads", county_code)
        for name in OUTSIDE:
            for form in (name, *(name + s for s in _OUTSIDE_SUFFIXES)):
                if form not in found:
                    add(form, "outside", None)
        for name in NEIGHBOURS:
            for form in (name, name[:-1]) if len(name) > 2 else (name,):
                if form not in found:
                    add(form, "outside", None)
        forms = {text: _form(text, b["divisions"], tuple(b["areas"]), tuple(b["roads"]),
                             b["outside"], places)
                 for text, b in found.items()}
        return cls(places, forms, version)


def _within(divisions: list[Entry]) -> dict[str, tuple[Entry, ...]]:
    """Each entry under every code it lies below: province, city, county and town.
    The codes are interned, as are the prefixes and areas looked up in these dicts:
    a lookup then matches the key by identity, without reading another string."""
    below: dict[str, list[Entry]] = {}
    for entry in divisions:
        for n in (2, 4, 6, 9):
            if n < len(entry.prefix):
                below.setdefault(sys.intern(entry.code[:n]), []).append(entry)
    return {k: tuple(v) for k, v in below.items()}


def _letters(road_ends: set[str], name_ends: set[str]) -> re.Pattern:
    never = "(?!)"
    roads = f"[{re.escape(''.join(sorted(road_ends)))}][0-9]" if road_ends else never
    names = f"[{re.escape(''.join(sorted(name_ends)))}]" if name_ends else never
    return re.compile(f"{roads}|{names}")


_ORGANISATIONS = ("国有", "国营")


def _without_prefixes(name: str, prefixes: list[str]) -> list[str]:
    """云浮市国有水台林场 → 国有水台林场, 水台林场; 广东省西江林业局良洞迳林场 →
    西江林业局良洞迳林场, 良洞迳林场: the forms without what people leave out."""
    out, rest = [], name
    while True:
        for prefix in (*prefixes, *_ORGANISATIONS):
            if rest.startswith(prefix) and len(rest) - len(prefix) >= 3:
                rest = rest[len(prefix):]
                break
        else:
            bureau = rest.find("局")
            if not (out and bureau > 0 and len(rest) - bureau - 1 >= 3):
                return out
            rest = rest[bureau + 1:]
        out.append(rest)


def _form(text, divisions, areas, roads, outside, places) -> Form:
    all_full = all(e.full for e in divisions)
    villages_only = bool(divisions) and all(e.level == "village" for e in divisions)
    bare = any(e.level == "village" and places[e.code].name == text for e in divisions)
    guarded = bool(roads) or not all_full or bare or text[-1] == "村" or text[0] in NUMERALS
    return Form(text, tuple(divisions), areas, roads, outside, all_full, villages_only,
                _within(divisions), guarded, bare)


def _level_of(code: str, places: dict[str, Place]) -> str | None:
    place = places.get(code.ljust(12, "0")) or places.get(code)
    return place.level if place else None


# -- the process-wide index, rebuilt when the gazetteer changes ------------------------

_lock = threading.Lock()
_cache: dict[str, Gazetteer] = {}


def current_version(session: Session) -> tuple:
    """The version counter and the transaction that last wrote it: a rolled-back
    change and a later one can share a number, never a transaction."""
    row = session.execute(text("SELECT version, xmin::text FROM gazetteer_version")).first()
    return tuple(row) if row else ()


def gazetteer(session: Session) -> Gazetteer:
    """The index for the session's database, rebuilt when grids or aliases changed."""
    bind = session.get_bind()
    key = str(getattr(bind, "engine", bind).url)
    version = current_version(session)
    cached = _cache.get(key)
    if cached is not None and cached.version == version:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached.version != version:
            cached = _cache[key] = Gazetteer.load(session)
    return cached
