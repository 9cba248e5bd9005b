"""A synthetic province for benchmarks: Guangdong's scale, invented names and shapes.

About 21 cities, 120 counties, 1,600 towns, 26,000 villages and 200,000
micro-grids tile a rough outline of Guangdong (NOT its real boundaries; the
tiling is seeds.synthetic_tiling's), with village boundaries of a few hundred
vertices, a liaison for every town and village, standard address points and a
million court matters (seeds.synthetic_matters) whose debtors' addresses are
written the many ways people write them. Everything follows from the seed.

`build_province` makes it in memory; `load_province` writes it with COPY into a
database of its own (seeds.synthetic_load), never into one that has grids.

Codes follow the statistical scheme: 44 + a 2-digit city + a 2-digit county (区
from 02, 县 from 21, county-level 市 from 81), 3 digits of town (streets 001–,
towns 101–), 3 of village (communities 001–, villages 201–) and 3 of micro-grid.
Within each parent the division nearest its seat comes first, so the urban
streets and communities surround the seats.
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import psycopg
import shapely
from sqlalchemy import make_url
from sqlalchemy.engine import URL

from seeds.synthetic_load import conninfo, prepare_database, write_province
from seeds.synthetic_tiling import (
    Cells,
    as_multipolygons,
    dissolve,
    grow_hierarchy,
    microgrid_polygons,
    points_inside,
)

PROVINCE = ("广东省", "44")
# Characters of invented place names. Villages draw their first characters with a
# skew towards the head of each list, so popular names (新塘, 大岗, 石坑 …) repeat
# across towns the way real ones do.
VILLAGE_HEADS = "新大上下东西南北中高石龙黄白青马牛竹松杨柳桃李罗何陈林黎邓梁冯金凤莲桂平长永"
VILLAGE_ROOTS = "塘岗坑坪岭田洞坡冲湾围埔沙洲桥口寨圩山水江河溪垌岩窝角墩基涌滘步寮屋厝坝"
VILLAGE_TAILS = "头尾背心脚面"
TOWN_HEADS = "太安永富宁兴华丰和云连泗船金龙凤白石高黄河南北东西腰都思宋附城水沙樟横大小罗镜" \
             "榃朗六冲庙宝顺德容桂勒乐从杏均九江樵官窑里梅蕉潭莲汤合铁古同良"
TOWN_ROOTS = "城江口平安塘山水湖岗坪洞头圩桥滩林华都埔岭溪田洲门"
COUNTY_HEADS = "清英佛顺番花从增开恩台鹤信化吴廉遂徐雷阳电茂封德怀广四乳始仁翁曲乐紫博惠陆揭" \
               "普潮饶澄蕉梅五郁罗韶汕珠湛肇"
COUNTY_ROOTS = "远德山海宁平城江兴州川宜溪安丰源化门南阳会庆"
TOWN_REPEAT_SHARE = 0.03  # towns whose short name repeats one in another county


@dataclass
class Level:
    """One level of divisions, in code order; `parent` indexes the level above."""

    codes: list[str]
    names: list[str]
    parent: np.ndarray
    geoms: np.ndarray  # shapely MultiPolygons, SRID 4326 coordinates

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class Province:
    name: str
    cities: list[tuple[str, str]]  # (4-digit code, name)
    counties: Level  # parent: index into cities
    towns: Level
    villages: Level
    microgrids: Level
    # Standard address points: (county_code, road, number, lon, lat, village index).
    address_points: list[tuple] = field(default_factory=list)

    def city_of_county(self, county: int) -> str:
        return self.cities[int(self.counties.parent[county])][1]


# --- codes and names ---------------------------------------------------------------------


def _seat_rank(parent_of: np.ndarray, pos: np.ndarray, seat: np.ndarray) -> np.ndarray:
    """Rank of each child within its parent, the one nearest the parent's seat first."""
    dist = np.linalg.norm(pos - seat[parent_of], axis=1)
    order = np.lexsort((dist, parent_of))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(parent_of[order], parent_of[order])
    return rank


def _numbered(rank, parent_of, urban_share, first_rural):
    """Three-digit numbers: the first `urban_share[parent]` of each parent's children
    (streets, communities) from 001, the others from `first_rural`."""
    size = np.bincount(parent_of, minlength=len(urban_share))
    urban_n = np.round(urban_share * size).astype(np.int64)
    urban_n = np.maximum(urban_n, urban_share >= 0.5)[parent_of]
    urban = rank < urban_n
    number = np.where(urban, 1 + rank, first_rural + rank - urban_n)
    if (number[urban] >= first_rural).any() or (number > 999).any():
        raise ValueError("too many divisions under one parent for 3-digit codes")
    return number, urban


def _stem_pool(rng: random.Random, heads: str, roots: str) -> Iterator[str]:
    """Stems in a seeded order: every two-character one, then three characters."""
    pairs = [h + r for h in heads for r in roots]
    rng.shuffle(pairs)
    yield from pairs
    while True:
        yield rng.choice(heads) + rng.choice(heads) + rng.choice(roots)


def _unique(pool: Iterator[str], taken: set[str]) -> str:
    stem = next(pool)
    while stem in taken:
        stem = next(pool)
    taken.add(stem)
    return stem


def _county_names(rng: random.Random, city_of: np.ndarray, rank: np.ndarray, n_cities: int):
    """City names; county codes and names. In each city the districts (区, the seat
    first) are numbered from 02, counties (县) from 21, county-level cities (市) from 81."""
    pool, taken = _stem_pool(rng, COUNTY_HEADS, COUNTY_ROOTS), set()
    cities = [_unique(pool, taken) + "市" for _ in range(n_cities)]
    size = np.bincount(city_of, minlength=n_cities)
    codes, names, seen = [""] * len(rank), [""] * len(rank), {}
    for i in np.lexsort((rank, city_of)).tolist():
        c = int(city_of[i])
        kind = ("区" if rank[i] < max(1, round(0.54 * size[c]))
                else "市" if rng.random() < 0.35 else "县")
        seen[c, kind] = seen.get((c, kind), 0) + 1
        yy = {"区": 1, "县": 20, "市": 80}[kind] + seen[c, kind]
        codes[i] = f"44{c + 1:02d}{yy:02d}000000"
        names[i] = _unique(pool, taken) + kind
    return cities, codes, names


def _town_names(rng: random.Random, order, county_of, is_street) -> list[str]:
    """Town stems are unique in the province but now and then repeat a town of another
    county, as real ones do."""
    pool, taken, own, named = _stem_pool(rng, TOWN_HEADS, TOWN_ROOTS), set(), {}, []
    names = [""] * len(county_of)
    for i in order:
        county, stem = int(county_of[i]), None
        if named and rng.random() < TOWN_REPEAT_SHARE:
            other, stem = named[rng.randrange(len(named))]
            if other == county or stem in own.get(county, ()):
                stem = None
        stem = stem or _unique(pool, taken)
        own.setdefault(county, set()).add(stem)
        named.append((county, stem))
        names[i] = stem + ("街道" if is_street[i] else "镇")
    return names


def _skewed(rng: random.Random, chars: str) -> str:
    return chars[int(len(chars) * rng.random() ** 1.6)]


def _village_names(rng: random.Random, order, town_of, is_community) -> list[str]:
    """Popular names repeat across towns; within a town every name is distinct."""
    names, taken = [""] * len(town_of), {}
    for i in order:
        used = taken.setdefault(int(town_of[i]), set())
        while True:
            stem = _skewed(rng, VILLAGE_HEADS) + _skewed(rng, VILLAGE_ROOTS)
            if rng.random() < 0.25:
                stem += rng.choice(VILLAGE_TAILS)
            name = stem + ("社区" if is_community[i] else "村")
            if name not in used:
                used.add(name)
                names[i] = name
                break
    return names


def _sorted_level(codes, names, parent_of, geoms, parent_position) -> tuple[Level, np.ndarray]:
    """The level in code order, and each (growth-order) member's position in it."""
    order = np.argsort(np.array(codes), kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    level = Level([codes[i] for i in order], [names[i] for i in order],
                  parent_position[parent_of[order]], as_multipolygons(geoms[order]))
    return level, position


# --- the province ------------------------------------------------------------------------


class _Clock:
    def __init__(self, log: Callable[[str], None] | None):
        self.log, self.timings = log, {}
        self.start = self.last = time.perf_counter()

    def __call__(self, step: str, message: str = "") -> None:
        now = time.perf_counter()
        self.timings[step] = round(self.timings.get(step, 0) + now - self.last, 2)
        self.last = now
        if self.log:
            self.log(f"[{now - self.start:7.1f} s] {step}: {message}")


def province_sizes(towns: int, villages: int, microgrids: int, counties: int | None = None,
                   cities: int | None = None) -> tuple[int, int]:
    """Counties and cities (by default in Guangdong's proportions: 120 and 21 for 1,600
    towns), once the sizes are checked to nest (ValueError)."""
    counties = counties or max(1, round(towns * 120 / 1600))
    cities = cities or max(1, round(counties * 21 / 120))
    if not 1 <= cities <= counties <= towns <= villages <= microgrids:
        raise ValueError(f"each level needs at least as many divisions as the one above it: "
                         f"{cities} cities, {counties} counties, {towns} towns, "
                         f"{villages} villages, {microgrids} micro-grids")
    return counties, cities


def build_province(seed: int = 2026, towns: int = 1600, villages: int = 26000,
                   microgrids: int = 200000, *, counties: int | None = None,
                   cities: int | None = None, village_vertices: int = 285,
                   log: Callable[[str], None] | None = None) -> Province:
    """The synthetic province in memory. Counties and cities default to Guangdong's
    proportions (120 and 21 for 1,600 towns)."""
    counties, cities = province_sizes(towns, villages, microgrids, counties, cities)
    sizes = {"cities": cities, "counties": counties, "towns": towns, "villages": villages,
             "microgrids": microgrids}
    clock, rng, names_rng = _Clock(log), np.random.default_rng(seed), random.Random(seed)
    cells = Cells.build(rng, microgrids)
    owners, seats = grow_hierarchy(rng, cells, sizes)
    clock("regions", f"{microgrids} cells grown into {villages} villages, {towns} towns, "
                     f"{counties} counties, {cities} cities")
    geoms = {"microgrids": microgrid_polygons(rng, cells, owners["villages"], villages,
                                              village_vertices)}
    for level, below in (("villages", "microgrids"), ("towns", "villages"),
                         ("counties", "towns")):
        geoms[level] = dissolve(geoms[below], owners[level], sizes[level])
    clock("polygons", "micro-grids assembled, villages, towns and counties dissolved")
    province = _name_everything(names_rng, cells, owners, seats, geoms, cities)
    clock("names", f"mean village vertices "
                   f"{shapely.get_num_coordinates(province.villages.geoms).mean():.0f}")
    province.address_points = _address_points(names_rng, rng, province)
    clock("address points", f"{len(province.address_points)}")
    return province


def _name_everything(rng, cells, owners, seats, geoms, n_cities) -> Province:
    # Cities numbered north to south, then west to east.
    city_seat = seats["cities"]
    city_order = np.lexsort((city_seat[:, 0], -city_seat[:, 1]))
    city_id = np.empty_like(city_order)
    city_id[city_order] = np.arange(n_cities)
    city_of = city_id[owners["cities"]]
    rank = _seat_rank(city_of, seats["counties"], city_seat[city_order])
    city_names, codes, names = _county_names(rng, city_of, rank, n_cities)
    counties, county_pos = _sorted_level(codes, names, city_of, geoms.pop("counties"),
                                         np.arange(n_cities))

    county_of = owners["counties"]
    rank = _seat_rank(county_of, seats["towns"], seats["counties"])
    district = np.array([counties.names[p].endswith("区") for p in county_pos])
    number, street = _numbered(rank, county_of, np.where(district, 0.6, 0.1), 101)
    codes = [f"{counties.codes[county_pos[c]][:6]}{k:03d}000"
             for c, k in zip(county_of.tolist(), number.tolist(), strict=True)]
    names = _town_names(rng, np.argsort(codes).tolist(), county_of, street)
    towns, town_pos = _sorted_level(codes, names, county_of, geoms.pop("towns"), county_pos)

    town_of = owners["towns"]
    rank = _seat_rank(town_of, seats["villages"], seats["towns"])
    number, community = _numbered(rank, town_of, np.where(street, 0.8, 0.08), 201)
    codes = [f"{towns.codes[town_pos[t]][:9]}{k:03d}"
             for t, k in zip(town_of.tolist(), number.tolist(), strict=True)]
    names = _village_names(rng, np.argsort(codes).tolist(), town_of, community)
    villages, village_pos = _sorted_level(codes, names, town_of, geoms.pop("villages"), town_pos)

    village_of = owners["villages"]
    number = 1 + _seat_rank(village_of, cells.points[:len(village_of)], seats["villages"])
    if number.max() > 999:
        raise ValueError("too many micro-grids in one village for 3-digit codes")
    codes = [f"{villages.codes[village_pos[v]]}{k:03d}"
             for v, k in zip(village_of.tolist(), number.tolist(), strict=True)]
    names = [f"第{k}网格" for k in number.tolist()]
    microgrids, _ = _sorted_level(codes, names, village_of, geoms.pop("microgrids"),
                                  village_pos)
    cities = [(f"44{i + 1:02d}", name) for i, name in enumerate(city_names)]
    return Province(PROVINCE[0], cities, counties, towns, villages, microgrids)


# --- points inside villages --------------------------------------------------------------


def _address_points(names_rng: random.Random, rng: np.random.Generator, province: Province,
                    share: float = 0.1, roads: int = 2, houses: int = 20) -> list[tuple]:
    """Standard addresses in a tenth of the villages: each village's roads (named after
    it, made unique in the county) with numbered houses placed inside the village."""
    villages = province.villages
    chosen = np.sort(rng.choice(len(villages), max(1, round(share * len(villages))),
                                replace=False))
    which = np.repeat(chosen, roads * houses)
    xy = points_inside(rng, villages.geoms, which)
    seen, rows = set(), []
    for n, v in enumerate(chosen.tolist()):
        town = int(villages.parent[v])
        county_code = villages.codes[v][:6]
        stem = villages.names[v].removesuffix("村").removesuffix("社区")
        for r, suffix in enumerate(names_rng.sample(("路", "街", "大道", "巷"), roads)):
            road = stem + suffix
            if (county_code, road) in seen:
                road = province.towns.names[town][:2] + road
            while (county_code, road) in seen:
                road = road + "一"
            seen.add((county_code, road))
            for h in range(houses):
                x, y = xy[(n * roads + r) * houses + h]
                rows.append((county_code, road, f"{h + 1}号", float(x), float(y), v))
    return rows


# --- loading ---------------------------------------------------------------------------


def synthetic_url(app_url: str | URL, database: str) -> URL:
    """The synthetic province's database on the application's server: never the
    application's own (ValueError)."""
    own = make_url(app_url)
    if database == own.database:
        raise ValueError(f"{database} is the application's database: the synthetic "
                         "province goes into a database of its own")
    return own.set(database=database)


def load_province(dsn: str, *, towns: int = 1600, villages: int = 26000,
                  microgrids: int = 200000, matters: int = 1_000_000, seed: int = 2026,
                  counties: int | None = None, cities: int | None = None,
                  log: Callable[[str], None] | None = print) -> dict:
    """Build the province and COPY it into its own database (created and migrated
    here; one that has grids is refused), in one transaction. Returns the counts,
    the timings in seconds, the mean vertex count of villages and this process's
    peak memory."""
    province_sizes(towns, villages, microgrids, counties, cities)  # before creating anything
    clock, url = _Clock(log), make_url(dsn)
    prepare_database(url)
    clock("database", f"{url.database} created or found, migrated")
    province = build_province(seed, towns, villages, microgrids, counties=counties,
                              cities=cities, log=log)
    clock("build", "province built in memory")
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        counts = write_province(cur, province, matters, seed, clock)
        cur.execute("ANALYZE")
        clock("analyze")
    clock("commit")
    vertices = float(shapely.get_num_coordinates(province.villages.geoms).mean())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"database": url.database, "counts": counts, "timings": clock.timings,
            "total_seconds": round(time.perf_counter() - clock.start, 1),
            "mean_village_vertices": round(vertices, 1), "peak_rss_mb": round(peak)}
