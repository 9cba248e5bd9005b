"""Reading an address with the gazetteer's index: the rules that decide what a
written name means, and whether the answer is a place, a choice or a refusal.

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
- nothing, only the county, or a place outside the served area (a neighbouring
  county written short, 岑溪) → unmatched, with the reason.

What is around a name may say it is not that name (Reading._reading): group
text (第三村民小组 is no 三村, 六都村民小组 no 六都村), a road named after a place (中村路,
城北路; 河口街 is the road only with its number, else 河口街道 written short), a name
that starts inside a longer one we do not know (城东区, 生镇安全村). Names may also
come after the village: a town that does not contain it makes the answer ambiguous,
a road with its number is kept for geo.locate to compare with the village.

Parsing is pure (no database) and fast: a hundred thousand addresses a second.
"""

from __future__ import annotations

from geo.names import (
    _UNKNOWN_VILLAGE,
    CONFIDENT,
    MAX_CANDIDATES,
    Entry,
    Form,
    Parsed,
)
from geo.normalize import (
    GROUP_AFTER_村,
    HOUSE_NUMBER,
    NOT_A_DIVISION_AFTER,
    NUMERALS,
    ROAD_AFTER,
    clean,
)
from models.grids import N_


class Reading:
    """The parser, a part of geo.gazetteer.Gazetteer: it reads the index the
    Gazetteer builds (places, forms, the tries and the road/division twins)."""

    def parse(self, address: str) -> Parsed:
        s = clean(address)
        n = len(s)
        reach, forms, longest = self._trie.longest_prefix, self.forms.get, self._longest
        chain: list[tuple[Form, tuple[Entry, ...]]] = []  # each form and what it may mean
        prefixes: tuple[str, ...] = ()  # province/city codes named first
        pos = end = 0  # end: where the last name read ends
        unknown = None  # unrecognised division-like text between names
        named = None  # (form, towns): a town named short and read past (六祖 in 六祖桥亭社区)
        while pos < n:
            # The longest written form starting here: the trie says how long it can be,
            # and that length is nearly always a form itself (one probe).
            k = reach(s[pos:pos + longest])
            form = forms(s[pos:pos + k]) if k > 1 else None
            while form is None and k > 2:
                k -= 1
                form = forms(s[pos:pos + k])
            if form is None:
                if pos == end and chain and chain[-1][1][0].level == "town":
                    form = self._form_at(s, pos - 1)  # 镇安镇安居委会: 镇安镇 + 镇安居委会
                if form is None or not (form.all_full and form.divisions):
                    pos += 1
                    continue
                pos = end = pos - 1
            after = pos + len(form.text)
            if form.guarded and (form.roads or not form.all_full or (pos and s[pos - 1] in NUMERALS)
                                 or s[after:after + 1] in _AFTER_FULL):
                form, skip_to, passed = self._reading(s, pos, form)
                if form is None:
                    if passed is not None and named is None:
                        named = _town_named(passed, chain, prefixes)
                    pos = skip_to
                    continue
                after = pos + len(form.text)
            if form.roads:
                if _road_in_scope(form.roads, chain, prefixes):
                    if not chain and unknown is None and _unknown_name(s[end:pos]):
                        unknown = s[end:pos]
                    return self._after_road(address, s, after, chain, prefixes, unknown, form)
                pos += 1
                continue
            if not chain:
                if form.outside and not (form.areas or form.divisions):
                    return Parsed(address, "unmatched", reason=N_("%(place)s is outside the "
                                                                  "served area"),
                                  params={"place": form.text})
                if form.areas:
                    prefixes, pos = form.areas, after
                    end = pos
                    continue
            if pos > end and unknown is None and s[pos] in _SUFFIX_CHARS:
                unknown = s[end:pos + 1]  # 生 + 镇安全村: the 镇 ends a name not understood
                pos += 1
                continue
            fitting = _consistent(form, chain, prefixes)
            if fitting:
                if named is not None:
                    fitting = _below(fitting, named[1])
                    if not fitting:
                        return self._contradiction(address, form, prefixes, *named)
                if pos > end and unknown is None:
                    gap = s[end:pos]
                    if _looks_like_a_division(gap) or (not chain and _unknown_name(gap) and any(
                            e.level != "county" for e in fitting)):
                        unknown = gap  # 岑溪城北村: a county we do not know before the name
                chain.append((form, fitting))
                pos = end = after
                if form.villages_only or (fitting[0].level == "village" and all(
                        e.level == "village" for e in fitting)):
                    rest = s[end:]
                    if (self._after_full if form.all_full else self._after_short).search(rest):
                        return self._after_village(address, s, end, chain, unknown)
                    return self._finish(address, chain, rest, unknown)
            elif chain and form.divisions:
                kept = _narrowed(form, chain[-1][1])
                if not kept:  # 罗镜镇城北: a village (or town) of another place
                    return self._contradiction(address, form, prefixes, chain[-1][0],
                                               chain[-1][1])
                chain[-1] = (chain[-1][0], kept)  # 河口郁南: the county after its town
                pos = end = after
            else:
                pos += 1
        return self._finish(address, chain, s[end:], unknown)

    def _form_at(self, s: str, pos: int) -> Form | None:
        """The longest written form starting at pos (as in parse)."""
        forms = self.forms.get
        k = self._trie.longest_prefix(s[pos:pos + self._longest])
        form = forms(s[pos:pos + k]) if k > 1 else None
        while form is None and k > 2:
            k -= 1
            form = forms(s[pos:pos + k])
        return form

    def _reading(self, s: str, pos: int, form: Form):
        """Whether the text around a form says it is not that name: (the form to read,
        or None and where to go on, and a short name read past)."""
        after = pos + len(form.text)
        if pos and s[pos] in NUMERALS and s[pos - 1] in NUMERALS:
            return None, pos + 1, None  # 第三村民小组, 十四组: inside a number
        if form.text[-1] == "村" and s.startswith(GROUP_AFTER_村, after):
            return None, after, None  # 六都村民小组: the group named 六都, not 六都村
        if form.roads:
            # A road is a standard address only with its number (河口街8号); 河口街红阳村 is
            # 河口街道 written short, 通门街坊村 is 通门 + 街坊村.
            if s[after:after + 1].isdigit() and not self._division_across(s, pos, after):
                return (self._as_road[form.text] if form.divisions else form), 0, None
            form = self._as_division.get(form.text) or self._division_before(s, pos, after)
            if form is None:
                return None, pos + 1, None
            after = pos + len(form.text)
        if (not form.all_full and s[after:after + 1] in _NOT_A_DIVISION_STARTS
                and s.startswith(NOT_A_DIVISION_AFTER, after)):
            if self._full_division_at(s, after):
                return form, 0, None  # 东成 + 里江村: the town, then a village (its own or not)
            return None, after, form  # 城北路, 城东区: a name we do not know
        if form.bare and s.startswith(ROAD_AFTER, after):
            return None, after, None  # 中村路: a road named after the village
        return form, 0, None

    def _full_division_at(self, s: str, pos: int) -> bool:
        form = self._form_at(s, pos)
        return form is not None and form.all_full and bool(form.divisions)

    def _division_before(self, s: str, pos: int, after: int) -> Form | None:
        """The longest division name that starts where the road does and ends inside it."""
        for k in range(after - pos - 1, 1, -1):
            form = self.forms.get(s[pos:pos + k])
            if form is not None and form.divisions:
                return form if not form.roads else self._as_division[form.text]
        return None

    def _division_across(self, s: str, pos: int, after: int) -> Form | None:
        """A division name that starts inside the road found at pos and ends past it
        (通门街坊村: 通门 + 街坊村, not the road 通门街), with the name before it."""
        for j in range(pos + 2, after):
            shorter = self.forms.get(s[pos:j])
            if shorter is not None and shorter.divisions:
                following = self._form_at(s, j)
                if (following is not None and following.divisions and following.all_full
                        and j + len(following.text) > after):
                    return shorter
        return None

    def _after_road(self, address, s, after, chain, prefixes, unknown, road: Form) -> Parsed:
        """A village written after the road and number (星岩路5号城北村) is kept, so that
        geo.locate compares it with the point."""
        pos = after
        while pos < len(s):
            form = self._form_at(s, pos)
            if form is not None and form.guarded:
                form = self._reading(s, pos, form)[0]
            if form is not None and form.villages_only and form.all_full:
                fitting = _consistent(form, chain, prefixes)
                if fitting:
                    chain.append((form, fitting))
                    break
            pos += 1
        return self._finish(address, chain, s[after:], unknown, road)

    def _after_village(self, address, s, end, chain, unknown) -> Parsed:
        """After the village: a town or county named after it (城北村罗镜镇) must contain
        it, a village named short must not be followed by another one in full (城东区屋社区),
        and a road with a number (城北村星岩路5号) is kept for geo.locate to compare."""
        rest = s[end:]
        village, entries = chain[-1]
        road = None
        forms = self.forms
        for last, length in self._after.iter_long(rest):
            form = forms[rest[last - length + 1:last + 1]]
            if form.roads and road is None and rest[last + 1:last + 2].isdigit() and (
                    _road_in_scope(form.roads, chain, ())):
                road = form
            elif not form.divisions or not form.all_full:
                continue
            elif not form.villages_only:
                kept = _narrowed(form, chain[-1][1])
                if not kept:
                    return self._contradiction(address, village, (), form, form.divisions)
                chain[-1] = (village, kept)
            elif not village.all_full and _another_village(village, entries, form, rest,
                                                           last - length + 1):
                return Parsed(address, "ambiguous", [self.places[e.code] for e in (
                    *entries, *form.divisions)][:MAX_CANDIDATES],
                    reason=N_("%(name)s and %(other)s name different places"),
                    params={"name": village.text, "other": form.text})
        return self._finish(address, chain, rest, unknown, road)

    def _finish(self, address, chain, rest, unknown, road: Form | None = None) -> Parsed:
        result = Parsed(address, "unmatched", rest=rest)
        if road is not None:
            result.road, result.road_counties = road.text, road.roads
        if unknown:
            result.unsure = True
        if not chain:
            if road is not None:  # geo.locate looks the road and number up
                result.status = "ambiguous"
                if unknown:
                    result.reason, result.params = N_("%(text)s was not recognised"), {
                        "text": unknown}
                else:
                    result.reason, result.params = N_("only the road %(road)s was recognised"), {
                        "road": road.text}
                return result
            result.reason, result.params = N_("no place name was recognised in %(text)s"), {
                "text": address}
            return result
        last, entries = chain[-1]
        places = self.places
        if len(entries) == 1:  # the usual case, without a comprehension's cost
            result.places = [places[entries[0].code]]
        else:
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
            written = _UNKNOWN_VILLAGE.match(rest)
            if written:  # 云城街道丰盛村, with no 丰盛村 in the index
                near = self._villages_one_letter_off(entries[0].code, written.group())
                if near:  # 平鑫村 for the town's 平新村: a person picks, nothing is guessed
                    result.status, result.places = "ambiguous", near
                    result.flags = (*result.flags, "village_not_recognised")
                    result.reason, result.params = N_(
                        "there is no %(text)s in %(town)s; villages with a similar name are "
                        "offered"), {"text": written.group(), "town": last.text}
                    return result
                confidence -= 0.2
                result.flags = (*result.flags, "village_not_recognised")
                result.reason, result.params = N_("the village in %(text)s was not recognised; "
                                                  "the town answers"), {"text": rest}
        elif level == "village" and (len(chain) < 2 or chain[-2][1][0].level != "town"):
            confidence -= 0.1  # the village was named without its town
        if not full and (len(chain) == 1 or (last.text[-1] in ROAD_ENDS
                                             and HOUSE_NUMBER.match(rest))):
            confidence = 0.5  # 城北 alone, 东路26号 (东路村, or a road): too weak to route on
        # Only a score lowered by subtraction has float noise to round (0.85 - 0.1).
        result.confidence = confidence if confidence == 1.0 else round(confidence, 2)
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

    def _villages_one_letter_off(self, town_code: str, written: str) -> list:
        """The town's villages whose name is one letter away from what was written
        (one letter changed, added or left out); none for a one-letter name (大村),
        which is one letter away from too many."""
        if len(written) < 3:
            return []
        return [v for v in self._villages_of_town.get(town_code[:9], ())
                if _one_edit(v.name, written)][:MAX_CANDIDATES]

    def _contradiction(self, address, form: Form, prefixes, parent: Form,
                       parent_entries=()) -> Parsed:
        """A name that is not in the place named with it: ambiguous between what each
        says (the village, the town written), never one of them."""
        places = [self.places[e.code] for e in form.divisions
                  if e.code.startswith(prefixes or ("",))]
        places += [self.places[e.code] for e in parent_entries
                   if e.level != "county" and self.places[e.code] not in places]
        return Parsed(address, "ambiguous" if places else "unmatched", places[:MAX_CANDIDATES],
                      reason=N_("%(name)s is not in %(parent)s"),
                      params={"name": form.text, "parent": parent.text})


def _road_in_scope(counties, chain, prefixes) -> bool:
    """A road counts where the text already points: the counties named, else the area."""
    if chain:
        return any(c.startswith(tuple(e.code[:6] for e in chain[-1][1])) for c in counties)
    return any(c.startswith(prefixes or ("",)) for c in counties)


def _consistent(form: Form, chain, prefixes) -> tuple[Entry, ...]:
    """The form's entries that lie below what the text named before it. Below several
    places (河口街道 may be read as 郁南县's 河口镇 too), those below a place named in
    its own kind come first."""
    if chain:
        above = chain[-1][1]
        if len(above) == 1:  # the usual case: one place named before, no list to build
            return form.within.get(above[0].prefix, ())
        areas = [b.prefix for b in above]
    else:
        areas = prefixes
    if not areas:
        return form.divisions
    if len(areas) == 1:
        return form.within.get(areas[0], ())
    fitting = tuple(dict.fromkeys(e for a in areas for e in form.within.get(a, ())))
    if len(fitting) > 1 and chain:
        own = [b.prefix for b in chain[-1][1] if b.own]
        if own and len(own) < len(areas):
            preferred = tuple(e for e in fitting if e.code.startswith(tuple(own)))
            if preferred:
                return preferred
    return fitting


def _narrowed(form: Form, entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """The entries that lie below one the form names (河口 then 郁南: 郁南县's 河口镇)."""
    above = tuple(e.prefix for e in form.divisions if e.level != "village")
    return tuple(b for b in entries if b.code.startswith(above) and b.prefix not in above)


def _another_village(village: Form, entries, form: Form, rest: str, start: int) -> bool:
    """Whether a full village name after one named short is another village that the
    text may mean: in the same town (城东 + 区屋社区), or a longer name holding the short
    one (大历 + 大历林场虚拟生活区). Not group text (第三村民小组), not a hamlet of
    another town (新中 + 新屋村)."""
    if (start and rest[start] in NUMERALS and rest[start - 1] in NUMERALS) or (
            form.text[-1] == "村" and rest.startswith(GROUP_AFTER_村, start + len(form.text))):
        return False
    codes = {e.code for e in entries}
    towns = {c[:9] for c in codes}
    return any(e.code not in codes and (e.code[:9] in towns or village.text in form.text)
               for e in form.divisions)


def _town_named(form: Form, chain, prefixes):
    towns = tuple(e for e in _consistent(form, chain, prefixes) if e.level == "town")
    return (form, towns) if towns else None


def _below(entries: tuple[Entry, ...], towns: tuple[Entry, ...]) -> tuple[Entry, ...]:
    inside = tuple(t.prefix for t in towns)
    return tuple(e for e in entries if e.code.startswith(inside))


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by exactly one letter changed, added or left out."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    i = next((i for i, (x, y) in enumerate(zip(short, long[:-1], strict=True)) if x != y),
             len(short))
    return short[i:] == long[i + 1:]


def _looks_like_a_division(text: str) -> bool:
    return any(ch in text for ch in "省市县区镇乡村")


def _unknown_name(text: str) -> bool:
    """Two to four letters before the first name: a county we do not know (岑溪)."""
    return 2 <= len(text) <= 4 and text.isalpha()


_SUFFIX_CHARS = frozenset("省市县区镇乡村")
# The first letters of NOT_A_DIVISION_AFTER: one set lookup rules most text out.
_NOT_A_DIVISION_STARTS = frozenset(word[0] for word in NOT_A_DIVISION_AFTER)
ROAD_ENDS = frozenset("路街巷道")
# What may follow a full name that is not that name: 村民小组 (民), a road (中村路, 中村大道).
_AFTER_FULL = frozenset({"民", *(road[0] for road in ROAD_AFTER)})
