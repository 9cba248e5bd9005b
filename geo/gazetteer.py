"""From address text to division: the in-memory name index and its parser.

The index is built from the database — current grids (county, town, village),
their suffix variants (geo.normalize), the admin-kept aliases and the road
names of the standard address points — so imported real boundaries work with
no code change. It is a plain dict from every written form to what it names,
plus, for each two-character start, the lengths of the forms that begin with
it, so a lookup at one position costs a handful of dict probes.

Parsing walks the text left to right, the way Chinese addresses are written
(province › city › county › town › village › group › number). At each
position it takes the longest form that is consistent with what was already
read (a town inside the county named before it), so 罗定市 narrows 城北村 to
罗定's 城北村. The result is never a guess:

- one division fits → matched (confidence lower for short forms and for a
  village named without its town);
- several fit (50 Yunfu village names exist in two towns) → ambiguous, with
  every candidate;
- a name contradicts the one before it, or unrecognised division-like text
  sits between the names → ambiguous, with the reason;
- nothing, only the county, or a place outside the served area → unmatched,
  with the reason.

`Gazetteer.parse` is pure (no database) and fast; geo.locate adds standard
address points, points in polygons and the liaison.
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

import ahocorasick
from sqlalchemy import select, text
from sqlalchemy.orm import Session, aliased

from geo.normalize import NOT_A_DIVISION_AFTER, clean, core_and_forms, tail
from models.addresses import AddressPoint
from models.grids import N_, Grid, GridLevel
from models.places import PlaceAlias

LEVELS = ("county", "town", "village")
DEPTH = {"area": 0, "county": 1, "town": 2, "village": 3}
# Below this a match waits for a person (the review queue) instead of being assigned.
CONFIDENT = 0.6
MAX_CANDIDATES = 20

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


class Place(NamedTuple):
    code: str
    name: str
    level: str
    path: tuple[str, ...]  # names, county first
    grid_id: object = None


class Entry(NamedTuple):
    """One division a written form may name, full (城北村委会) or short (城北)."""

    code: str
    level: str  # county | town | village
    full: bool
    prefix: str  # the code digits that identify it: its descendants start with them


class Form(NamedTuple):
    """Everything one written form may mean, sorted out once when the index is built."""

    text: str
    divisions: tuple[Entry, ...]
    areas: tuple[str, ...]  # province/city prefixes named by an alias
    roads: tuple[str, ...]  # county codes that have a road of this name
    outside: bool  # a province or city outside the served area
    all_full: bool  # no division entry is a short form
    villages_only: bool  # every division entry is a village
    within: dict[str, tuple[Entry, ...]]  # the entries below each area, county or town code


_PREFIX_LENGTH = {"county": 6, "town": 9, "village": 12}
# After a town, text that reads like a village or community name we do not know.
_UNKNOWN_VILLAGE = re.compile(r"[\u4e00-\u9fff]{1,8}?(?:村|社区|居委)")


class Parsed:
    """What the text says: status, the place (or candidates), why, and what follows
    the place names (group and house number, read only when asked for). Rarely set
    attributes keep their class defaults: a parse is made a hundred thousand times
    a second."""

    reason: str | None = None
    params: dict = {}  # never mutated: replaced when set
    flags: tuple[str, ...] = ()
    method: str | None = None  # division, unless geo.locate found a point
    road: str | None = None
    road_counties: tuple[str, ...] = ()

    def __init__(self, input: str, status: str, places=(), confidence: float = 0.0,
                 reason: str | None = None, params: dict | None = None, rest: str = ""):
        self.input, self.status, self.places = input, status, places
        self.confidence, self.rest = confidence, rest
        if reason is not None:
            self.reason, self.params = reason, params or {}

    @property
    def place(self) -> Place | None:
        return self.places[0] if self.status == "matched" else None

    @property
    def details(self) -> dict:
        return tail(self.rest)


class Gazetteer:
    def __init__(self, places: dict[str, Place], forms: dict[str, Form],
                 version: tuple = ()):
        self.places, self.forms, self.version = places, forms, version
        # A trie of the forms (pyahocorasick, in C) says how far the text at a position
        # can still be a form; the dict is then probed from there down, usually once.
        self._trie = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        for written in forms:
            self._trie.add_word(written)
        self._longest = max(map(len, forms), default=0)

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

        def division(code, level, full):
            return Entry(code, level, full, code[:_PREFIX_LENGTH[level]])

        for grid_id, code, name, level, parent_code in grids:
            level = getattr(level, "value", level)
            parent_path = places[parent_code].path if parent_code in places else ()
            places[code] = Place(code, name, level, (*parent_path, name), grid_id)
            core, full_forms = core_and_forms(name, level)
            for form in full_forms:
                add(form, "divisions", division(code, level, True))
            if core:
                add(core, "divisions", division(code, level, False))
        for alias, code in aliases:
            if len(code) in (2, 4):
                add(alias, "areas", code)
            elif _level_of(code, places):
                place = places.get(code.ljust(12, "0")) or places[code]
                add(alias, "divisions", division(place.code, place.level, True))
        for road, county_code in roads:
            add(road, "roads", county_code)
        for name in OUTSIDE:
            for form in (name, *(name + s for s in _OUTSIDE_SUFFIXES)):
                if form not in found:
                    add(form, "outside", None)
        forms = {text: Form(text, tuple(b["divisions"]), tuple(b["areas"]), tuple(b["roads"]),
                            b["outside"], all(e.full for e in b["divisions"]),
                            bool(b["divisions"]) and all(e.level == "village"
                                                         for e in b["divisions"]),
                            _within(b["divisions"]))
                 for text, b in found.items()}
        return cls(places, forms, version)

    # -- parsing --------------------------------------------------------------------

    def parse(self, address: str) -> Parsed:
        s = clean(address)
        n = len(s)
        reach, forms, longest = self._trie.longest_prefix, self.forms.get, self._longest
        chain: list[tuple[Form, tuple[Entry, ...]]] = []  # each form and what it may mean
        prefixes: tuple[str, ...] = ()  # province/city codes named first
        pos = end = 0  # end: where the last name read ends
        unknown = None  # unrecognised division-like text between names
        while pos < n:
            # The longest written form starting here.
            form = None
            for k in range(reach(s[pos:pos + longest]), 1, -1):
                form = forms(s[pos:pos + k])
                if form is not None:
                    break
            if form is None or (not form.all_full and s.startswith(
                    NOT_A_DIVISION_AFTER, pos + len(form.text))):
                pos += 1  # 城北 in 城北路 or 城北镇 is part of a name we do not know
                continue
            after = pos + len(form.text)
            if form.roads and _road_in_scope(form.roads, chain, prefixes):
                return self._finish(address, chain, s[after:], unknown, form)
            if not chain:
                if form.outside and not (form.areas or form.divisions):
                    return Parsed(address, "unmatched", reason=N_("%(place)s is outside the "
                                                                  "served area"),
                                  params={"place": form.text})
                if form.areas:
                    prefixes, pos = form.areas, after
                    end = pos
                    continue
            fitting = _consistent(form, chain, prefixes)
            if fitting:
                if pos > end and unknown is None and _looks_like_a_division(s[end:pos]):
                    unknown = s[end:pos]
                chain.append((form, fitting))
                pos = end = after
                if form.villages_only:
                    break  # what follows is the group, the house, the landmark
            elif chain and any(e.full for e in form.divisions):
                return self._contradiction(address, chain, form, prefixes)
            else:
                pos += 1
        return self._finish(address, chain, s[end:], unknown)

    def _finish(self, address, chain, rest, unknown, road: Form | None = None) -> Parsed:
        result = Parsed(address, "unmatched", rest=rest)
        if road is not None:
            result.road, result.road_counties = road.text, road.roads
        if not chain:
            if road is not None:  # geo.locate looks the road and number up
                result.status = "ambiguous"
                result.reason, result.params = N_("only the road %(road)s was recognised"), {
                    "road": road.text}
                return result
            result.reason, result.params = N_("no place name was recognised in %(text)s"), {
                "text": address}
            return result
        last, entries = chain[-1]
        places = self.places
        result.places = [places[e.code] for e in entries[:MAX_CANDIDATES]]
        level = entries[0].level if len(entries) == 1 else None
        if level == "county" or (level is None and all(e.level == "county" for e in entries)):
            result.reason, result.params = N_("only the county %(place)s was recognised; name "
                                              "the town or village"), {"place": last.text}
            return result
        full = last.all_full or (level is None and all(e.full for e in entries)) or (
            level is not None and entries[0].full)
        confidence = 1.0 if full else 0.85
        if level == "town":
            confidence -= 0.1
            if _UNKNOWN_VILLAGE.match(rest):  # 云城街道丰盛村, with no 丰盛村 in the index
                confidence -= 0.2
                result.flags = (*result.flags, "village_not_recognised")
                result.reason, result.params = N_("the village in %(text)s was not recognised; "
                                                  "the town answers"), {"text": rest}
        elif level == "village" and (len(chain) < 2 or chain[-2][1][0].level != "town"):
            confidence -= 0.1  # the village was named without its town
        if len(chain) == 1 and not full:
            confidence = 0.5  # a bare short name (城北) alone is too weak to route on
        result.confidence = round(confidence, 2)
        if unknown:
            result.status = "ambiguous"
            result.reason, result.params = N_("%(text)s was not recognised"), {"text": unknown}
        elif level is None:
            result.status = "ambiguous"
            result.reason, result.params = N_("%(name)s exists in %(n)d places"), {
                "name": last.text, "n": len(entries)}
        elif confidence < CONFIDENT:
            result.status = "ambiguous"
            result.reason, result.params = N_("only the short name %(name)s was given"), {
                "name": last.text}
        else:
            result.status = "matched"
        return result

    def _contradiction(self, address, chain, form: Form, prefixes) -> Parsed:
        places = [self.places[e.code] for e in form.divisions
                  if e.code.startswith(prefixes or ("",))]
        return Parsed(address, "ambiguous" if places else "unmatched", places[:MAX_CANDIDATES],
                      reason=N_("%(name)s is not in %(parent)s"),
                      params={"name": form.text, "parent": chain[-1][0].text})


def _road_in_scope(counties, chain, prefixes) -> bool:
    """A road counts where the text already points: the counties named, else the area."""
    if chain:
        return any(c.startswith(tuple(e.code[:6] for e in chain[-1][1])) for c in counties)
    return any(c.startswith(prefixes or ("",)) for c in counties)


def _within(divisions: list[Entry]) -> dict[str, tuple[Entry, ...]]:
    """Each entry under every code it lies below: province, city, county and town."""
    below: dict[str, list[Entry]] = {}
    for entry in divisions:
        for n in (2, 4, 6, 9):
            if n < len(entry.prefix):
                below.setdefault(entry.code[:n], []).append(entry)
    return {k: tuple(v) for k, v in below.items()}


def _consistent(form: Form, chain, prefixes) -> tuple[Entry, ...]:
    """The form's entries that lie below what the text named before it."""
    areas = [b.prefix for b in chain[-1][1]] if chain else prefixes
    if not areas:
        return form.divisions
    if len(areas) == 1:
        return form.within.get(areas[0], ())
    return tuple(dict.fromkeys(e for a in areas for e in form.within.get(a, ())))


def _looks_like_a_division(text: str) -> bool:
    return any(ch in text for ch in "省市县区镇乡村")


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
