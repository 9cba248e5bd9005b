"""The Yunfu demo: real division names, synthetic shapes, people and courts.

Names come from seeds/yunfu-divisions.tsv (public facts: 5 counties, the towns
and streets, 975 villages and communities). Polygons come from
geo.synthetic (they tile exactly but are NOT the real boundaries). Codes follow
the statistical scheme: county adcode + 3 digits of town (streets 001–099,
towns and farms from 101) + 3 of village (communities 001–199, villages from
201). People, phones and court addresses are invented; every run gives the same
result, so tests and screenshots can rely on it.
"""

from __future__ import annotations

import csv
import random
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path

from geoalchemy2.shape import from_shape
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from geo.map_shapes import refresh_map_shapes
from geo.sql import refresh_statistics
from geo.synthetic import build_tiling
from models import (
    AddressPoint,
    Court,
    CourtKind,
    Generation,
    Grid,
    GridLevel,
    MapShape,
    Person,
    PlaceAlias,
    RosterEntry,
    RosterRole,
)
from models.audit import append
from seeds.accounts import link_demo_people, load_demo_accounts
from seeds.addresses import address_points
from seeds.calendar_cn import load_official_calendar
from seeds.demo_inbox import load_demo_inbox
from seeds.demo_life import live_demo_matters
from seeds.demo_matters import load_demo_matters, showcase_stops
from seeds.demo_names import is_community, is_street, village_name
from seeds.demo_requests import load_demo_requests
from seeds.fees import load_demo_fees
from seeds.people import PeopleMaker

DIVISIONS = Path(__file__).parent / "yunfu-divisions.tsv"
CITY_NAME = "云浮市"
DEMO_NAMESPACE = uuid.UUID("7c1a6e0e-5d1b-4c57-9a53-9d0f3f6b5300")
DEMO_START = date(2026, 1, 1)

# Base courts with their code in case numbers (（2026）粤5302执123号), and the towns
# that host a people's tribunal in the demo (each tribunal serves the towns nearest it).
BASE_COURTS = {
    "445302": ("云浮市云城区人民法院", "粤5302", ["腰古镇"]),
    "445303": ("云浮市云安区人民法院", "粤5303", ["六都镇", "富林镇"]),
    "445321": ("新兴县人民法院", "粤5321", ["天堂镇", "车岗镇"]),
    "445322": ("郁南县人民法院", "粤5322", ["连滩镇", "南江口镇", "千官镇"]),
    "445381": ("罗定市人民法院", "粤5381", ["罗镜镇", "船步镇", "泗纶镇"]),
}


def read_divisions(path: Path = DIVISIONS) -> tuple[dict[str, str], dict[str, dict[str, list]]]:
    """County names by adcode, and adcode → town → village keys, in file order.

    A town can really have two divisions of one name (高村镇 has a 高村 village
    and a 高村 community, both listed as 高村): the second is keyed 高村#2, and
    `village_name` gives the name back."""
    names: dict[str, str] = {}
    tree: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            names[row["county_adcode"]] = row["county"]
            villages = tree[row["county_adcode"]][row["town"]]
            key, n = row["village"], 1
            while key in villages:
                n += 1
                key = f"{row['village']}#{n}"
            villages.append(key)
    return names, {c: dict(towns) for c, towns in tree.items()}


def number_children(names: list[str], urban) -> dict[str, str]:
    """Three-digit codes: urban units 001…, the others 101…/201…"""
    out, urban_n, rural_n = {}, 0, 0
    for name in names:
        if urban(name):
            urban_n += 1
            out[name] = f"{urban_n:03d}"
        else:
            rural_n += 1
            out[name] = f"{rural_n + (100 if urban is is_street else 200):03d}"
    return out


# The served province and city narrow where names are looked for; 云安县 became
# 云安区 in 2014 and is still written the old way.
DEMO_ALIASES = [
    {"alias": alias, "code": code, "note": note} for alias, code, note in (
        ("广东省", "44", "省"), ("广东", "44", "省"),
        ("云浮市", "4453", "市"), ("云浮", "4453", "市"),
        ("云安县", "445303000000", "2014年撤县设区前的名称"),
    )
]


def grid_id(code: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, code)


def load_demo(session: Session) -> str:
    """Load the demo unless the database already has grids; flush, never commit."""
    existing = session.scalar(select(func.count()).select_from(Grid))
    if existing:
        if not session.scalar(select(func.count()).select_from(MapShape)):
            refresh_map_shapes(session)  # a database from before the committee maps
        linked = link_demo_people(session)
        return (f"demo not loaded: the database already has {existing} grids"
                + (f" ({linked} demo accounts now name their roster person)" if linked else ""))
    county_names, tree = read_divisions()
    tiling = build_tiling(tree)
    generation = Generation(label="云浮市示范数据（合成边界）", valid_from=DEMO_START)
    session.add(generation)
    session.flush()

    rows, codes = [], {}
    for adcode in sorted(tree):
        county_code = adcode + "000000"
        codes[(adcode,)] = county_code
        rows.append(_grid_row(county_code, county_names[adcode], GridLevel.county, None,
                              tiling.counties[adcode], generation.id))
        town_numbers = number_children(list(tree[adcode]), is_street)
        for town, villages in tree[adcode].items():
            town_code = f"{adcode}{town_numbers[town]}000"
            codes[(adcode, town)] = town_code
            rows.append(_grid_row(town_code, town, GridLevel.town, county_code,
                                  tiling.towns[(adcode, town)], generation.id))
            village_numbers = number_children(villages, is_community)
            for village in villages:
                code = town_code[:9] + village_numbers[village]
                codes[(adcode, town, village)] = code
                rows.append(_grid_row(code, village_name(village), GridLevel.village, town_code,
                                      tiling.villages[(adcode, town, village)], generation.id))
    session.execute(insert(Grid), rows)

    people = _load_roster(session, tree, codes)
    courts = _load_courts(session, tree, codes, tiling)
    points = address_points(tree, codes, tiling)
    session.execute(insert(AddressPoint), points)
    session.execute(insert(PlaceAlias), DEMO_ALIASES)
    accounts = load_demo_accounts(session)
    advice = load_demo_requests(session)
    load_official_calendar(session)  # before the matters: their deadlines count on it
    load_demo_fees(session, DEMO_START)
    filed = load_demo_matters(session, since=DEMO_START)
    states = live_demo_matters(session, stops=showcase_stops(filed))
    notices = load_demo_inbox(session)
    report = (f"loaded the Yunfu demo: {len(tree)} counties, "
              f"{sum(len(t) for t in tree.values())} towns, "
              f"{sum(len(v) for t in tree.values() for v in t.values())} villages, "
              f"{people} people, {courts} courts, {len(points)} standard addresses, "
              f"{accounts} demo accounts, {advice} legal advice requests, "
              f"{len(filed)} matters over the year ({_states(states)}), "
              f"{notices} notifications of the last weeks")
    # The bulk inserts above bypass the per-row audit; one record says what was loaded.
    append(session.connection(), "seed_demo", "database", None, after={"report": report})
    refresh_statistics(session)
    refresh_map_shapes(session)
    return report


def _states(states) -> str:
    return ", ".join(f"{n} {state}" for state, n in states.most_common())


def _grid_row(code, name, level, parent_code, shape, generation_id) -> dict:
    return {
        "id": grid_id(code), "code": code, "name": name, "level": level,
        "parent_id": grid_id(parent_code) if parent_code else None,
        "geom": from_shape(shape, srid=4326), "generation_low": generation_id,
    }


def _load_roster(session: Session, tree, codes) -> int:
    """A liaison (the grid head) for every town and village; 2–4 grid workers per village."""
    rng = random.Random(5300)
    maker = PeopleMaker(rng)
    people, entries = [], []

    def post(code, role, title):
        person = maker.person()
        people.append(person)
        entries.append({"id": uuid.uuid5(DEMO_NAMESPACE, f"{code}/{role}/{len(entries)}"),
                        "person_id": person["id"], "grid_id": grid_id(code), "role": role,
                        "title": title, "valid_from": DEMO_START})

    for adcode in sorted(tree):
        for town, villages in tree[adcode].items():
            town_title = "街道网格长" if is_street(town) else "镇网格长"
            post(codes[(adcode, town)], RosterRole.liaison, town_title)
            for village in villages:
                code = codes[(adcode, town, village)]
                post(code, RosterRole.liaison, "社区网格长" if is_community(village)
                     else "村网格长")
                for _ in range(rng.randint(2, 4)):
                    post(code, RosterRole.grid_worker, "网格员")
    session.execute(insert(Person), people)
    session.execute(insert(RosterEntry), entries)
    return len(people)


def _load_courts(session: Session, tree, codes, tiling) -> int:
    rng = random.Random(5301)
    maker = PeopleMaker(rng)
    by_code = {g.code: g for g in session.scalars(
        Grid.current().where(Grid.level.in_([GridLevel.county, GridLevel.town])))}
    city = Court(id=uuid.uuid5(DEMO_NAMESPACE, "court/445300"), name="云浮市中级人民法院",
                 kind=CourtKind.intermediate, case_code="粤53", county_code="445300",
                 address="云浮市云城区世纪大道中", phone="0766-8000000",
                 contact_name=maker.name(), contact_phone=maker.phone())
    city.grids = [by_code[codes[(a,)]] for a in sorted(tree)]
    session.add(city)
    count = 1
    for adcode, (name, case_code, seats) in BASE_COURTS.items():
        base = Court(id=uuid.uuid5(DEMO_NAMESPACE, f"court/{adcode}"), name=name,
                     kind=CourtKind.base, parent=city, case_code=case_code,
                     county_code=adcode, address=f"{name.removesuffix('人民法院')}人民路1号",
                     phone=f"0766-{rng.randint(2000000, 8999999)}",
                     contact_name=maker.name(), contact_phone=maker.phone())
        base.grids = [by_code[codes[(adcode,)]]]
        session.add(base)
        count += 1
        served = _towns_by_nearest_seat(tree[adcode], seats, adcode, tiling)
        for seat in seats:
            tribunal = Court(
                id=uuid.uuid5(DEMO_NAMESPACE, f"court/{adcode}/{seat}"),
                name=f"{name}{seat.removesuffix('镇')}人民法庭", kind=CourtKind.tribunal,
                parent=base, case_code=case_code, county_code=adcode,
                address=f"{seat}墟镇大道8号", phone=f"0766-{rng.randint(2000000, 8999999)}",
                contact_name=maker.name(), contact_phone=maker.phone())
            tribunal.grids = [by_code[codes[(adcode, t)]] for t in served[seat]]
            session.add(tribunal)
            count += 1
    session.flush()
    return count


def _towns_by_nearest_seat(towns, seats, adcode, tiling) -> dict[str, list[str]]:
    """Tribunals serve towns, not streets: the base court itself serves the urban area."""
    served: dict[str, list[str]] = {seat: [] for seat in seats}
    centres = {t: tiling.towns[(adcode, t)].representative_point() for t in towns}
    for town in towns:
        if is_street(town):
            continue
        nearest = min(seats, key=lambda s: (centres[s].distance(centres[town]), s))
        served[nearest].append(town)
    return served
