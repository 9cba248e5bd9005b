"""What the gazetteer's index holds (places, the divisions a written form may name,
everything a form may mean) and what a parse returns. Shared by geo.gazetteer,
which builds the index, and geo.reading, which reads addresses with it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from geo.normalize import tail

# Below this a match waits for a person (the review queue) instead of being assigned.
CONFIDENT = 0.6
MAX_CANDIDATES = 20


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
    own: bool = True  # a form of its own kind (河口街道 for a 街道, not 河口镇)


@dataclass(frozen=True, slots=True)
class Form:
    """Everything one written form may mean, sorted out once when the index is built.
    Slots rather than a NamedTuple: parsing reads these fields dozens of times per
    address, and a slot is the fastest attribute to read."""

    text: str
    divisions: tuple[Entry, ...]
    areas: tuple[str, ...]  # province/city prefixes named by an alias
    roads: tuple[str, ...]  # county codes that have a road of this name
    outside: bool  # a province or city outside the served area
    all_full: bool  # no division entry is a short form
    villages_only: bool  # every division entry is a village
    within: dict[str, tuple[Entry, ...]]  # the entries below each area, county or town code
    guarded: bool  # the text around it may say it is not this name (see geo.reading)
    bare: bool  # the official name of a village, nothing added (中村: 中村路 is a road)


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
    unsure: bool = False  # text between the names was not understood: a point must not decide

    def __init__(self, input: str, status: str, places=(), confidence: float = 0.0,
                 reason: str | None = None, params: dict | None = None, rest: str = ""):
        self.input, self.status, self.places = input, status, places
        self.confidence, self.rest = confidence, rest
        if reason is not None:
            self.reason, self.params = reason, params or {}

    @property
    def grid_confidence(self) -> float:
        """The confidence in the grid answered: none is answered when ambiguous or
        unmatched, whatever the reading's own score for the name."""
        return self.confidence if self.status == "matched" else 0.0

    @property
    def place(self) -> Place | None:
        return self.places[0] if self.status == "matched" else None

    @property
    def details(self) -> dict:
        return tail(self.rest)
