"""Where is it, and who answers for it: the `gridlink locate` contract.

Three rungs, strongest first:

1. A standard address (road + house number, geo.gazetteer finds the road) is a
   point in `address_points`; the point's village is found by point-in-polygon.
2. Otherwise the division names in the text (geo.gazetteer) give the village
   or town.
3. A point (a map click, GPS) is looked up in the current village polygons.

Point-in-polygon uses ST_Covers, so a point on a boundary still finds its
grids. A point on the edge two villages share is covered by both: the fixed
rule gives it to the grid with the LOWEST code, and the result is flagged
`shared_edge` with both grids as candidates, so a person can see it. The rule is
for one point only: a road of one name in several counties (城东路5号, no county
written) is several points, and the answer is `ambiguous`.

If the standard address and the names disagree (the point lies in another
village than the one written, before or after the road), or text around the names
was not understood, the answer is `ambiguous`, never one of them.

Batch functions take many inputs and make one SQL query per rung, so a file
of 100,000 lines is not 100,000 round trips.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Float, String

from geo.gazetteer import Gazetteer, Parsed, Place, gazetteer
from models.grids import N_

# Shared-edge rule: the covering grid with the lowest code wins, flagged.
SHARED_EDGE_CONFIDENCE = 0.9

_POINTS_SQL = text("""
    SELECT q.i, g.code
    FROM unnest(:lons, :lats) WITH ORDINALITY AS q(lon, lat, i)
    JOIN grids g ON g.generation_high IS NULL AND g.level = 'village'
     AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326))
    ORDER BY q.i, g.code
""").bindparams(bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))

_ADDRESS_POINTS_SQL = text("""
    SELECT q.i, g.code
    FROM unnest(:roads, :numbers, :counties) WITH ORDINALITY AS q(road, number, county, i)
    JOIN address_points a ON a.county_code = q.county AND a.road = q.road
     AND a.number = q.number
    JOIN grids g ON g.generation_high IS NULL AND g.level = 'village'
     AND ST_Covers(g.geom, a.geom)
    ORDER BY q.i, g.code
""").bindparams(bindparam("roads", type_=ARRAY(String)), bindparam("numbers", type_=ARRAY(String)),
                bindparam("counties", type_=ARRAY(String)))

_LIAISONS_SQL = text("""
    SELECT g.code, p.name, r.title, p.phone
    FROM grids g
    JOIN roster_entries r ON r.grid_id = g.id AND r.role = 'liaison'
     AND r.valid_from <= current_date AND (r.valid_to IS NULL OR r.valid_to > current_date)
    JOIN people p ON p.id = r.person_id
    WHERE g.generation_high IS NULL AND g.code = ANY(:codes)
""").bindparams(bindparam("codes", type_=ARRAY(String)))


def locate_text(session: Session, address: str) -> dict:
    return locate_texts(session, [address])[0]


def locate_point(session: Session, lon: float, lat: float) -> dict:
    return locate_points(session, [(lon, lat)])[0]


def locate_texts(session: Session, addresses: list[str]) -> list[dict]:
    gaz = gazetteer(session)
    return with_liaisons(session, [as_json(p) for p in resolve_texts(session, gaz, addresses)])


def locate_points(session: Session, points: list[tuple[float, float]]) -> list[dict]:
    gaz = gazetteer(session)
    return with_liaisons(session, [as_json(p) for p in resolve_points(session, gaz, points)])


def resolve_texts(session: Session, gaz: Gazetteer, addresses: list[str]) -> list[Parsed]:
    """Parse every address; those naming a road and number are looked up as points."""
    parsed = [gaz.parse(a) for a in addresses]
    lookups = []  # (index, road, number, county)
    for i, p in enumerate(parsed):
        if p.road and (number := p.details.get("number")):
            counties = {pl.code[:6] for pl in p.places} or set(p.road_counties)
            lookups += [(i, p.road, number, c) for c in sorted(counties & set(p.road_counties))]
    if lookups:
        # One list of covering villages per point: a road of one name in two counties is
        # two points, never one point on a shared edge.
        found: dict[int, dict[int, list[str]]] = {}
        for k, code in session.execute(_ADDRESS_POINTS_SQL, {
                "roads": [r for _, r, _, _ in lookups], "numbers": [n for _, _, n, _ in lookups],
                "counties": [c for _, _, _, c in lookups]}):
            found.setdefault(lookups[k - 1][0], {}).setdefault(k, []).append(code)
        for i in {i for i, *_ in lookups}:
            parsed[i] = _by_address_point(gaz, parsed[i], list(found.get(i, {}).values()))
    return parsed


def _by_address_point(gaz: Gazetteer, p: Parsed, points: list[list[str]]) -> Parsed:
    number = p.details.get("number")
    if not points:
        if p.status == "matched":
            return p
        return Parsed(p.input, p.status if p.places else "unmatched", p.places,
                      reason=N_("%(road)s %(number)s is not a standard address"),
                      params={"road": p.road, "number": number})
    if len(points) > 1:  # 城东路5号 in 新兴县 and in 罗定市, no county written
        places = [gaz.places[c] for codes in points for c in codes if c in gaz.places]
        return Parsed(p.input, "ambiguous", places, reason=N_("%(name)s exists in %(n)d places"),
                      params={"name": p.road + number, "n": len(points)})
    located = _covering(gaz, p.input, sorted(set(points[0])), "address_point")
    named = [pl for pl in p.places if pl.level != "county"]
    if named and located.place and not any(located.place.code.startswith(_own_digits(pl))
                                           for pl in named):
        return Parsed(p.input, "ambiguous", [located.place, *named],
                      reason=N_("%(road)s %(number)s lies in %(found)s, not in %(named)s"),
                      params={"road": p.road, "number": number, "found": located.place.name,
                              "named": named[0].name})
    if p.unsure and located.place:  # text around the names was not understood
        return Parsed(p.input, "ambiguous", [located.place, *named], reason=p.reason,
                      params=p.params)
    return located


def resolve_points(session: Session, gaz: Gazetteer,
                   points: list[tuple[float, float]]) -> list[Parsed]:
    found: dict[int, list[str]] = {}
    if points:
        for i, code in session.execute(_POINTS_SQL, {"lons": [float(x) for x, _ in points],
                                                     "lats": [float(y) for _, y in points]}):
            found.setdefault(i - 1, []).append(code)
    return [_covering(gaz, f"{x},{y}", found.get(i, []), "point")
            for i, (x, y) in enumerate(points)]


def _covering(gaz: Gazetteer, label: str, codes: list[str], method: str) -> Parsed:
    """The answer for a point covered by these village codes (sorted)."""
    places = [gaz.places[c] for c in codes if c in gaz.places]
    if not places:
        return Parsed(label, "unmatched", reason=N_("the point lies outside every grid of "
                                                    "the served area"))
    result = Parsed(label, "matched", places, confidence=1.0)
    result.method = method
    if len(places) > 1:
        result.confidence = SHARED_EDGE_CONFIDENCE
        result.flags = (*result.flags, "shared_edge")
        result.reason = N_("the point is on the boundary shared by %(names)s; by rule the "
                           "grid with the lowest code answers")
        result.params = {"names": "、".join(p.name for p in places)}
    return result


def _own_digits(place: Place) -> str:
    return place.code[:{"county": 6, "town": 9, "village": 12}.get(place.level, 15)]


def place_json(place: Place) -> dict:
    return {"code": place.code, "name": place.name, "level": place.level,
            "path": list(place.path)}


def as_json(p: Parsed) -> dict:
    """The contract object of DESIGN.md (liaison filled in by with_liaisons)."""
    matched = p.status == "matched"
    method = p.method or ("division" if p.places else None)
    return {
        "input": p.input,
        "status": p.status,
        "grid": place_json(p.places[0]) if matched else None,
        "liaison": None,
        "method": method if p.status != "unmatched" else None,
        "confidence": p.grid_confidence,
        "candidates": ([place_json(x) for x in p.places]
                       if not matched or len(p.places) > 1 else []),
        "reason": p.reason % p.params if p.reason else None,
        "reason_template": p.reason,
        "reason_params": p.params,
        "flags": list(p.flags),
    }


def liaisons_of(session: Session, codes) -> dict[str, dict]:
    """grid code → its liaison on duty today, for the current grids of these codes."""
    if not codes:
        return {}
    return {code: {"name": name, "title": title, "phone": phone}
            for code, name, title, phone in session.execute(_LIAISONS_SQL,
                                                            {"codes": sorted(codes)})}


def with_liaisons(session: Session, results: list[dict]) -> list[dict]:
    """Fill in each matched grid's liaison on duty today, in one query."""
    liaisons = liaisons_of(session, {r["grid"]["code"] for r in results if r["grid"]})
    for r in results:
        if r["grid"]:
            r["liaison"] = liaisons.get(r["grid"]["code"])
    return results


# -- the same objects as JSON text, fast ------------------------------------------------
# A batch of a hundred thousand addresses names a few thousand places and liaisons:
# their JSON is written once per batch and the answers are put together from it, as
# UTF-8 bytes ready to write (encoding a whole answer costs more than putting it
# together). The text is exactly what json.dumps(answer, ensure_ascii=False) writes
# for the objects above (tests/test_cli_locate.py compares them over the demo's corpus).

_encode = json.JSONEncoder(ensure_ascii=False).encode


class BatchText:
    """The answers of one batch as JSON lines in UTF-8, chunk after chunk. What many
    answers share is written once per batch: each place, each grid's liaison (read from
    the database the first time the grid is answered: a roster changed while the batch
    runs does not show in it), and the whole text after the input of a plain match.
    If the index is rebuilt while the batch runs (a grid renamed), all of it is
    written again from the new one (follow)."""

    def __init__(self, session: Session):
        self.session = session
        self.index: Gazetteer | None = None
        self.rebuilt = 0  # how many times the index changed under the batch
        self.places: dict[str, str] = {}
        self.liaisons: dict[str, str] = {}  # grid code → its liaison's JSON, or null
        self.numbers: dict[float, str] = {}
        self.plain: dict[tuple, bytes] = {}  # (code, method, confidence) → after the input

    def follow(self, index: Gazetteer) -> None:
        if index is not self.index:
            if self.index is not None:
                self.rebuilt += 1
                for written in (self.places, self.liaisons, self.plain):
                    written.clear()
            self.index = index

    def lines(self, parsed: list[Parsed]) -> list[bytes]:
        """One JSON text per answer, liaisons filled in."""
        liaisons = self.liaisons
        new = {p.places[0].code for p in parsed if p.status == "matched"} - liaisons.keys()
        if new:
            found = liaisons_of(self.session, new)
            for code in new:
                liaisons[code] = _encode(found[code]) if code in found else "null"
        plain, after_input = self.plain, self._after_input
        lines = []
        for p in parsed:
            # Most answers are one place, plainly matched: a few thousand texts after
            # the input, each written once.
            if (p.status == "matched" and len(p.places) == 1 and p.reason is None
                    and not p.params and not p.flags):
                key = (p.places[0].code, p.method, p.confidence)
                rest = plain.get(key)
                if rest is None:
                    rest = plain[key] = after_input(p).encode()
                lines.append(b'{"input": ' + encode_basestring(p.input).encode() + rest)
            else:
                lines.append(('{"input": ' + encode_basestring(p.input)
                              + after_input(p)).encode())
        return lines

    def _place(self, pl: Place) -> str:
        written = self.places.get(pl.code)
        if written is None:
            written = self.places[pl.code] = _encode(place_json(pl))
        return written

    def _after_input(self, p: Parsed) -> str:
        """Everything the answer says after its input."""
        matched = p.status == "matched"
        method = p.method or ("division" if p.places else None)
        confidence = p.grid_confidence
        number = self.numbers.get(confidence)
        if number is None:
            number = self.numbers[confidence] = _encode(confidence)
        return "".join((
            ', "status": "', p.status,
            '", "grid": ', self._place(p.places[0]) if matched else "null",
            ', "liaison": ', self.liaisons[p.places[0].code] if matched else "null",
            ', "method": ', encode_basestring(method) if method and p.status != "unmatched"
            else "null",
            ', "confidence": ', number,
            ', "candidates": [', ", ".join(map(self._place, p.places))
            if not matched or len(p.places) > 1 else "",
            '], "reason": ', encode_basestring(p.reason % p.params) if p.reason else "null",
            ', "reason_template": ', encode_basestring(p.reason) if p.reason else "null",
            ', "reason_params": ', _encode(p.params) if p.params else "{}",
            ', "flags": ', _encode(list(p.flags)) if p.flags else "[]", "}"))


def json_lines(session: Session, parsed: list[Parsed]) -> list[bytes]:
    """One JSON text per answer (UTF-8), liaisons filled in: `gridlink locate --batch`."""
    return BatchText(session).lines(parsed)


def locate_text_lines(session: Session, addresses: list[str],
                      batch: BatchText | None = None) -> list[bytes]:
    batch, gaz = batch or BatchText(session), gazetteer(session)
    batch.follow(gaz)
    return batch.lines(resolve_texts(session, gaz, addresses))


def locate_point_lines(session: Session, points: list[tuple[float, float]],
                       batch: BatchText | None = None) -> list[bytes]:
    batch, gaz = batch or BatchText(session), gazetteer(session)
    batch.follow(gaz)
    return batch.lines(resolve_points(session, gaz, points))
