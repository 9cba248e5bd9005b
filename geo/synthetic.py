"""Deterministic synthetic-but-clean polygons for the Yunfu (云浮) demo.

Method
------
1. Brick lattice.  The plane is cut into rows of bricks w = 2**-7 degrees wide and
   h = 2**-8 degrees tall, odd rows shifted by w/2 (a brick wall).  Each brick is a
   6-vertex polygon that also carries the midpoints of its top and bottom edges, so it
   shares *whole* edges with each of its 6 neighbours.  Every coordinate is
   x0 + i * 2**-8 or y0 + j * 2**-8 with dyadic x0/y0: all exact in binary floating
   point, so a vertex shared by three bricks is bit-identical in all of them and any
   set of bricks is an exact polygonal coverage (no slivers, no gaps).  The brick wall
   is topologically a hexagonal grid: bricks never touch at a single point only, so a
   connected set of bricks unions to one clean polygon.
2. City.  Bricks whose centre lies inside a hand-drawn outline of Yunfu form the city
   (largest connected component).
3. Growth.  Counties, then towns inside each county, then villages inside each town,
   are grown from seed bricks with a multi-source Dijkstra over the brick adjacency
   graph: key = path length / sqrt(weight).  A region only ever claims an unclaimed
   brick adjacent to a brick it already owns, so every region is connected, and since
   the parent region is connected the growth claims every brick.  Edge costs are
   scaled by a smooth random "terrain" field so borders wander like real ones.  Weights
   are refitted a few times so areas approach their targets (real county areas,
   village counts per town, 社区 smaller than 村); town and rural-village seeds are
   also moved towards their region's centre (Lloyd relaxation) so shapes stay compact.
4. Polygons.  Villages are the coverage union of their bricks; the village coverage
   is simplified as a whole with coverage_simplify (shared edges stay shared); towns
   are the coverage union of their simplified villages and counties the union of their
   towns, so every parent is exactly the union of its children.

Everything is driven by random.Random(seed) and sorted names, so the output does not
depend on dict/set ordering or PYTHONHASHSEED.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

W = 2.0**-7  # brick width, degrees of longitude
H = 2.0**-8  # brick height, degrees of latitude
X0 = 111.0  # lattice origin (dyadic)
Y0 = 22.25
N_HALF_COLS = 400  # x0 + 400 * w/2 = 112.5625
N_ROWS = 282  # y0 + 282 * h = 23.3515625
KM_PER_DEG_X = 102.6  # at ~22.8°N; a constant, not math.cos, so results are portable
KM_PER_DEG_Y = 110.7

# Rough outline of Yunfu city (lon, lat), clockwise from the north-west.  The Xi river
# (西江) forms the northern edge; Guangxi to the west, Maoming/Yangjiang to the south,
# Jiangmen/Zhaoqing to the east; the notch in the south is Yangchun (阳春) reaching
# up between 罗定 and 新兴.
OUTLINE: tuple[tuple[float, float], ...] = (
    (111.27, 23.14),
    (111.40, 23.25),
    (111.55, 23.29),
    (111.75, 23.23),
    (111.95, 23.19),
    (112.13, 23.11),
    (112.26, 22.98),
    (112.42, 22.82),
    (112.42, 22.58),
    (112.30, 22.43),
    (112.13, 22.46),
    (112.00, 22.69),
    (111.89, 22.73),
    (111.81, 22.53),
    (111.64, 22.42),
    (111.42, 22.47),
    (111.24, 22.62),
    (111.21, 22.80),
    (111.31, 22.95),
    (111.24, 23.05),
)

# adcode -> (seed lon, seed lat, real area km²)
COUNTIES: dict[str, tuple[float, float, float]] = {
    "445302": (112.05, 22.93, 762.0),  # 云城区
    "445303": (112.00, 23.08, 1231.0),  # 云安区
    "445321": (112.23, 22.68, 1520.0),  # 新兴县
    "445322": (111.53, 23.20, 1966.0),  # 郁南县
    "445381": (111.57, 22.75, 2328.0),  # 罗定市
}

COMMUNITY_WEIGHT = 0.35
SIMPLIFY_TOLERANCE = W / 2

Key3 = tuple[str, str, str]
Hierarchy = dict[str, dict[str, list[str]]]  # adcode -> town -> village names


@dataclass(frozen=True)
class Tiling:
    counties: dict[str, MultiPolygon]
    towns: dict[tuple[str, str], MultiPolygon]
    villages: dict[Key3, MultiPolygon]


@dataclass(frozen=True)
class Lattice:
    """The city's bricks: doubled coordinates (row, half-column), centres, adjacency."""

    rows: np.ndarray  # int, row index j (y = Y0 + j*H)
    cols: np.ndarray  # int, half-column of the left edge (x = X0 + s*W/2), s ≡ j mod 2
    cx: np.ndarray  # centre, km east of X0
    cy: np.ndarray  # centre, km north of Y0
    adj: list[list[tuple[int, float]]]  # neighbour index, edge cost (km × terrain)

    def __len__(self) -> int:
        return len(self.rows)

    def nearest(self, members: Sequence[int], lon: float, lat: float) -> int:
        x, y = (lon - X0) * KM_PER_DEG_X, (lat - Y0) * KM_PER_DEG_Y
        return members[int(np.argmin((self.cx[members] - x) ** 2 + (self.cy[members] - y) ** 2))]


# ---------------------------------------------------------------------- lattice


def _all_bricks() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = [], []
    for j in range(N_ROWS):
        for s in range(j % 2, N_HALF_COLS - 1, 2):
            rows.append(j)
            cols.append(s)
    return np.array(rows), np.array(cols)


def _largest_component(keys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    present, best = set(keys), []
    seen: set[tuple[int, int]] = set()
    for start in keys:  # keys are sorted, so the result is deterministic
        if start in seen:
            continue
        comp, stack = [], [start]
        seen.add(start)
        while stack:
            cur = stack.pop()
            comp.append(cur)
            for nb in _neighbour_keys(*cur):
                if nb in present and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        if len(comp) > len(best):
            best = comp
    return sorted(best)


def _neighbour_keys(j: int, s: int) -> tuple[tuple[int, int], ...]:
    return ((j, s - 2), (j, s + 2), (j - 1, s - 1), (j - 1, s + 1), (j + 1, s - 1), (j + 1, s + 1))


def _terrain(n: int, nbrs: list[list[int]], rng: random.Random) -> list[float]:
    """Smooth random cost multiplier in [0.55, 1.45]: white noise, neighbour-averaged."""
    field = [rng.random() for _ in range(n)]
    for _ in range(12):
        field = [
            (field[i] + sum(field[k] for k in nb)) / (1 + len(nb)) for i, nb in enumerate(nbrs)
        ]
    lo, hi = min(field), max(field)
    return [0.55 + 0.9 * (v - lo) / (hi - lo) for v in field]


def build_lattice(rng: random.Random) -> Lattice:
    rows, cols = _all_bricks()
    lon = X0 + (cols + 1) * (W / 2)
    lat = Y0 + (rows + 0.5) * H
    inside = shapely.contains_xy(Polygon(OUTLINE), lon, lat)
    keys = _largest_component(
        sorted(zip(rows[inside].tolist(), cols[inside].tolist(), strict=True))
    )
    index = {k: i for i, k in enumerate(keys)}
    nbrs = [[index[nb] for nb in _neighbour_keys(*k) if nb in index] for k in keys]
    rows, cols = np.array([k[0] for k in keys]), np.array([k[1] for k in keys])
    cx = ((cols + 1) * (W / 2)) * KM_PER_DEG_X
    cy = ((rows + 0.5) * H) * KM_PER_DEG_Y
    terrain = _terrain(len(keys), nbrs, rng)
    adj = []
    for i, nb in enumerate(nbrs):
        adj.append(
            [
                (k, math.hypot(cx[i] - cx[k], cy[i] - cy[k]) * (terrain[i] + terrain[k]) / 2)
                for k in nb
            ]
        )
    return Lattice(rows, cols, cx, cy, adj)


def brick_polygons(lat: Lattice) -> np.ndarray:
    """One 6-vertex polygon per brick; coordinates from integers, hence exact."""
    j, s = lat.rows[:, None], lat.cols[:, None]
    dx = np.array([0, 1, 2, 2, 1, 0, 0])[None, :]
    dy = np.array([0, 0, 0, 1, 1, 1, 0])[None, :]
    xs = X0 + (s + dx) * (W / 2)
    ys = Y0 + (j + dy) * H
    return shapely.polygons(np.stack([xs, ys], axis=-1))


# ---------------------------------------------------------------------- growth


def grow(
    lat: Lattice, allowed: set[int], seeds: Sequence[int], weights: Sequence[float]
) -> dict[int, int]:
    """Weighted multi-source Dijkstra restricted to `allowed`; returns brick -> region."""
    owner: dict[int, int] = {}
    heap = [(0.0, r, b) for r, b in enumerate(seeds)]
    scale = [1.0 / math.sqrt(w) for w in weights]
    while heap:
        key, r, b = heapq.heappop(heap)
        if b in owner:
            continue
        owner[b] = r
        for nb, cost in lat.adj[b]:
            if nb in allowed and nb not in owner:
                heapq.heappush(heap, (key + cost * scale[r], r, nb))
    if len(owner) != len(allowed):
        raise RuntimeError("growth did not reach every brick: parent region is disconnected")
    return owner


def _regions(owner: dict[int, int], n: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for b in sorted(owner):
        out[owner[b]].append(b)
    if not all(out):  # cannot happen: a region always owns its own seed brick
        raise RuntimeError("a region received no brick")
    return out


def _central_brick(lat: Lattice, members: list[int]) -> int:
    """The member deepest inside the region (hops to its border), nearest the centroid.

    Plain "nearest to centroid" would put the seed of a crescent-shaped region on its
    inner edge, where it smothers whichever small region the crescent wraps around.
    """
    inside = set(members)
    depth = {
        b: 0 for b in members if len(lat.adj[b]) < 6 or any(k not in inside for k, _ in lat.adj[b])
    }
    frontier = sorted(depth)
    while frontier:
        nxt = []
        for b in frontier:
            for k, _ in lat.adj[b]:
                if k in inside and k not in depth:
                    depth[k] = depth[b] + 1
                    nxt.append(k)
        frontier = nxt
    mx, my = lat.cx[members].mean(), lat.cy[members].mean()
    return max(members, key=lambda b: (depth[b], -((lat.cx[b] - mx) ** 2 + (lat.cy[b] - my) ** 2)))


def fit(
    lat: Lattice,
    allowed: set[int],
    seeds: list[int],
    targets: Sequence[float],
    movable: Sequence[bool],
    rounds: int,
) -> list[list[int]]:
    """Grow regions, refitting weights to `targets` and re-centring movable seeds."""
    total_t, n = sum(targets), len(seeds)
    weights = [t / total_t for t in targets]
    seeds = list(seeds)
    for _ in range(rounds):
        regions = _regions(grow(lat, allowed, seeds, weights), n)
        for r, members in enumerate(regions):
            want = targets[r] / total_t * len(allowed)
            weights[r] *= min(2.0, max(0.5, want / len(members)))
            if movable[r]:
                seeds[r] = _central_brick(lat, members)
        if len(set(seeds)) != n:  # re-centring must never merge two seeds
            raise RuntimeError("two regions share a seed brick")
    return _regions(grow(lat, allowed, seeds, weights), n)


def spread_seeds(
    lat: Lattice, members: list[int], k: int, first: list[int], rng: random.Random
) -> list[int]:
    """Farthest-point sampling of k seeds among `members`, continuing from `first`."""
    chosen = list(first) or [members[rng.randrange(len(members))]]
    x, y = lat.cx[members], lat.cy[members]
    d = np.full(len(members), np.inf)
    for b in chosen:
        d = np.minimum(d, (x - lat.cx[b]) ** 2 + (y - lat.cy[b]) ** 2)
    while len(chosen) < k:
        pick = int(np.argmax(d))
        chosen.append(members[pick])
        d = np.minimum(d, (x - x[pick]) ** 2 + (y - y[pick]) ** 2)
    return chosen[:k]


# ---------------------------------------------------------------------- levels


def split_towns(
    lat: Lattice, county: list[int], towns: dict[str, list[str]], rng: random.Random
) -> dict[str, list[int]]:
    names = sorted(towns)
    seeds = spread_seeds(lat, county, len(names), [], rng)
    targets = [float(len(towns[t])) for t in names]
    regions = fit(lat, set(county), seeds, targets, [True] * len(names), rounds=5)
    return dict(zip(names, regions, strict=True))


def split_villages(
    lat: Lattice, town: list[int], villages: list[str], rng: random.Random
) -> dict[str, list[int]]:
    names = sorted(villages, key=lambda v: (not is_community(v), v))  # 社区 first
    if len(town) < len(names):
        raise ValueError(f"lattice too coarse: {len(town)} bricks for {len(names)} villages")
    n_comm = sum(map(is_community, names))
    centre = _central_brick(lat, town)
    core = sorted(
        town,
        key=lambda b: ((lat.cx[b] - lat.cx[centre]) ** 2 + (lat.cy[b] - lat.cy[centre]) ** 2, b),
    )
    comm = spread_seeds(lat, core[: 4 * n_comm], n_comm, [centre], rng) if n_comm else []
    seeds = spread_seeds(lat, town, len(names), comm, rng)
    targets = [COMMUNITY_WEIGHT if is_community(v) else 1.0 for v in names]
    movable = [not is_community(v) for v in names]
    regions = fit(lat, set(town), seeds, targets, movable, rounds=3)
    return dict(zip(names, regions, strict=True))


def is_community(village: str) -> bool:
    return village.endswith("社区")


def split_counties(lat: Lattice, adcodes: list[str]) -> dict[str, list[int]]:
    everything = list(range(len(lat)))
    seeds = [lat.nearest(everything, *COUNTIES[a][:2]) for a in adcodes]
    targets = [COUNTIES[a][2] for a in adcodes]
    regions = fit(lat, set(everything), seeds, targets, [False] * len(adcodes), rounds=2)
    return dict(zip(adcodes, regions, strict=True))


def assign_bricks(hierarchy: Hierarchy, lat: Lattice, rng: random.Random) -> dict[Key3, list[int]]:
    out: dict[Key3, list[int]] = {}
    counties = split_counties(lat, sorted(hierarchy))
    for adcode, county in counties.items():
        towns = split_towns(lat, county, hierarchy[adcode], rng)
        for town, bricks in towns.items():
            villages = split_villages(lat, bricks, hierarchy[adcode][town], rng)
            for village, vb in villages.items():
                out[(adcode, town, village)] = vb
    return out


# ---------------------------------------------------------------------- polygons


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    raise TypeError(f"expected polygonal geometry, got {geom.geom_type}")


def simplify_coverage(raw: np.ndarray, tolerance: float) -> np.ndarray:
    """coverage_simplify, halving the tolerance until the result is a clean coverage."""
    while tolerance > H / 64:
        out = shapely.coverage_simplify(raw, tolerance)
        ok = (
            shapely.is_valid(out).all()
            and not shapely.is_empty(out).any()
            and bool(shapely.coverage_is_valid(out))
        )
        if ok:
            return out
        tolerance /= 2
    return raw


def _check_hierarchy(hierarchy: Hierarchy) -> None:
    unknown = sorted(set(hierarchy) - set(COUNTIES))
    if unknown:
        raise ValueError(f"no synthetic placement for county adcodes {unknown}")
    for adcode, towns in hierarchy.items():
        for town, villages in towns.items():
            if not villages:
                raise ValueError(f"town {adcode}/{town} has no villages")
            dupes = sorted({v for v in villages if villages.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate village names in {adcode}/{town}: {dupes}")


def build_tiling(hierarchy: Hierarchy, *, seed: int = 5300) -> Tiling:
    """Polygons for every county/town/village in `hierarchy` (adcode -> town -> villages)."""
    _check_hierarchy(hierarchy)
    rng = random.Random(seed)
    lat = build_lattice(rng)
    assignment = assign_bricks(hierarchy, lat, rng)
    bricks = brick_polygons(lat)
    keys = sorted(assignment)
    raw = np.array([shapely.coverage_union_all(bricks[assignment[k]]) for k in keys])
    simplified = simplify_coverage(raw, SIMPLIFY_TOLERANCE)
    villages = {k: as_multi(g) for k, g in zip(keys, simplified, strict=True)}
    towns = {
        (a, t): as_multi(shapely.coverage_union_all([villages[(a, t, v)] for v in vs]))
        for a in sorted(hierarchy)
        for t, vs in sorted(hierarchy[a].items())
    }
    counties = {
        a: as_multi(shapely.coverage_union_all([towns[(a, t)] for t in sorted(hierarchy[a])]))
        for a in sorted(hierarchy)
    }
    return Tiling(counties=counties, towns=towns, villages=villages)
