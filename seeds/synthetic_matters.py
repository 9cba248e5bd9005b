"""Court matters for the synthetic province: debtors and their addresses.

Each matter names one debtor (nine in ten a person with a valid 18-digit ID
number, the rest a company with a valid unified social credit code) and one to
three addresses. Every address is a point strictly inside a village, and a text
naming that village, its town and county the way clerks write them
(seeds.address_variants). The first address is where the debtor lives; a second
or third is in the same village half the time, elsewhere in the county or the
province otherwise. Nine matters in ten come from the county's own base court.

Matters wait unlocated (state `new`, as a bulk load leaves them before
geo.assign runs): the benchmark assigns them from their stored points, and the
point of each address says where it really is.
seeds.synthetic_load writes them, with requests and credentials that follow
models.matter_types, so they pass the same rules as filed matters.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from models.identity import id_check_character, uscc_check_character
from models.matter_types import (
    MatterType,
)
from models.matters import AddressKind, MatterState
from seeds.address_variants import address_variants
from seeds.people import PeopleMaker
from seeds.synthetic_tiling import points_inside

if TYPE_CHECKING:

    from seeds.synthetic_province import Province

TYPE_SHARES = {MatterType.service: 35, MatterType.locate_debtor: 20,
               MatterType.find_property: 25, MatterType.investigation: 8,
               MatterType.witness: 5, MatterType.other: 5, MatterType.legal_education: 2}
ADDRESSES_PER_MATTER = {1: 0.55, 2: 0.30, 3: 0.15}
FILED_FROM = datetime.fromisoformat("2026-01-01T08:00:00+08:00")
FILED_OVER_DAYS = 330
BIRTHS_FROM = date(1950, 1, 1)
STATE = MatterState.new
TRADES = ("贸易", "建材", "物流", "电子", "五金", "农业", "食品", "装饰", "运输", "石材")


@dataclass
class MatterBatch:
    first: int  # number of the batch's first matter
    court: np.ndarray  # county index of the requesting base court
    types: list[MatterType]
    filed: list[datetime]
    urgent: np.ndarray
    bounty: np.ndarray
    debtors: list[tuple[str, str, str]]  # (kind, name, id number or credit code)
    phones: list[str]
    officers: list[tuple[str, str]]
    case_numbers: list[str]
    address_matter: np.ndarray  # which matter of the batch each address belongs to
    address_village: np.ndarray
    address_xy: np.ndarray
    address_text: list[str]
    address_kind: list[str]


def _debtor(rng: random.Random, people: PeopleMaker, i: int, county_code: str,
            county_name: str) -> tuple[str, str, str]:
    """Debtor number i: its identifier is unique because i is (birth day × sequence)."""
    if rng.random() < 0.1:
        first17 = f"91{county_code}{i:09d}"
        name = f"{county_name[:2]}{rng.choice(TRADES)}{rng.choice(TRADES)}有限公司"
        return "organisation", name, first17 + uscc_check_character(first17)
    birth = BIRTHS_FROM + timedelta(days=(i // 1000) * 7919 % 18000)
    first17 = f"{county_code}{birth:%Y%m%d}{i % 1000:03d}"
    return "person", people.name(), first17 + id_check_character(first17)


def _address_villages(rng, home, position, county_of, span) -> np.ndarray:
    """The first address is home; others stay in it, or in its county, or go anywhere."""
    roll = rng.random(len(home))
    county = county_of[home]
    in_county = span[county] + (rng.random(len(home)) * (span[county + 1] - span[county]))
    anywhere = rng.integers(0, len(county_of), len(home))
    other = np.where(roll < 0.5, home, np.where(roll < 0.8, in_county.astype(int), anywhere))
    return np.where(position == 0, home, other)


def synthetic_matters(province: Province, count: int, *, seed: int = 2026,
                      batch: int = 50_000) -> Iterator[MatterBatch]:
    if count > 18_000_000:
        raise ValueError("debtor identifiers stay unique up to 18 million matters")
    rng, text_rng = np.random.default_rng([seed, 1]), random.Random(seed * 7 + 1)
    people = PeopleMaker(text_rng)
    villages, towns, counties = province.villages, province.towns, province.counties
    county_of = towns.parent[villages.parent]
    span = np.searchsorted(county_of, np.arange(len(counties) + 1))
    types, shares = list(TYPE_SHARES), np.array(list(TYPE_SHARES.values())) / 100
    per, per_p = list(ADDRESSES_PER_MATTER), list(ADDRESSES_PER_MATTER.values())
    cases = [0] * len(counties)
    for first in range(0, count, batch):
        n = min(batch, count - first)
        home = rng.integers(0, len(villages), n)
        k = rng.choice(per, n, p=per_p)
        owner = np.repeat(np.arange(n), k)
        village = _address_villages(rng, home[owner], np.arange(len(owner))
                                    - np.repeat(np.cumsum(k) - k, k), county_of, span)
        court = np.where(rng.random(n) < 0.9, county_of[home],
                         rng.integers(0, len(counties), n))
        case_numbers = []
        for c in court.tolist():
            cases[c] += 1
            case_numbers.append(f"（2026）粤{counties.codes[c][2:6]}执{cases[c]}号")
        texts = [address_variants(text_rng, counties.names[c], towns.names[t],
                                  villages.names[v], city=province.city_of_county(c))
                 for v, t, c in zip(village.tolist(), villages.parent[village].tolist(),
                                    county_of[village].tolist(), strict=True)]
        yield MatterBatch(
            first=first, court=court, types=[types[t] for t in rng.choice(7, n, p=shares)],
            filed=[FILED_FROM + timedelta(seconds=s) for s in
                   rng.integers(0, FILED_OVER_DAYS * 86400, n).tolist()],
            urgent=rng.random(n) < 0.1, bounty=rng.random(n) < 0.02,
            debtors=[_debtor(text_rng, people, first + j, villages.codes[v][:6],
                             counties.names[county_of[v]])
                     for j, v in enumerate(home.tolist())],
            phones=[people.phone() for _ in range(n)],
            officers=[(people.name(), people.phone()) for _ in range(n)],
            case_numbers=case_numbers, address_matter=owner, address_village=village,
            address_xy=points_inside(rng, villages.geoms, village), address_text=texts,
            address_kind=[kind.value for j in k.tolist()
                          for kind in text_rng.sample(list(AddressKind), j)])
