"""An exact, wiggly tiling of a province: micro-grids grouped into villages, towns,
counties and cities, for the synthetic benchmark province (seeds.synthetic_province).

Built bottom-up, so that every shared edge is the same sequence of coordinates on
both sides:

1. Micro-grids are the Voronoi cells of random sites inside the outline (sites on
   a dyadic lattice, ringed by dummy sites so that every real cell is bounded).
   The cells are assembled from the Delaunay triangulation: a Voronoi vertex is
   one triangle's circumcentre, computed once and shared by index.
2. Villages, towns, counties and cities are grown one level from the other: a
   multi-source Dijkstra over the adjacency of the level below, from random
   seeds, so every region is connected and every parent a union of children.
3. Edges between two villages (and along the outline) are densified and made to
   wander, each computed once and read backwards by the cell on the other side.
   A Voronoi edge AB between sites p and q is the diagonal of the kite A-p-B-q,
   whose halves lie in the two cells, and the kites of all edges tile the plane:
   a wiggle kept inside its edge's kite can never cross another edge.
4. Villages are the coverage union of their micro-grids, towns of their
   villages, counties of their towns: exact, with no slivers.

Everything is drawn from one numpy Generator, so a seed gives the same tiling.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import Polygon

# A rough, hand-drawn outline of Guangdong (lon, lat), clockwise from the tip of the
# Leizhou peninsula: where the province is, not its border.
OUTLINE = Polygon([
    (110.25, 20.25), (109.90, 20.45), (109.70, 20.95), (109.75, 21.45), (109.95, 21.65),
    (110.35, 21.85), (110.65, 22.15), (110.95, 22.55), (111.35, 22.85), (111.45, 23.25),
    (111.55, 23.65), (111.85, 24.05), (112.00, 24.55), (112.05, 24.85), (112.70, 25.15),
    (113.35, 25.45), (114.05, 25.30), (114.50, 24.95), (115.20, 24.65), (115.85, 24.75),
    (116.55, 24.60), (116.95, 24.15), (117.20, 23.65), (116.95, 23.35), (116.40, 22.95),
    (115.60, 22.75), (114.95, 22.60), (114.25, 22.55), (113.75, 22.30), (113.15, 21.95),
    (112.55, 21.70), (111.80, 21.50), (111.05, 21.40), (110.60, 21.20), (110.55, 20.60),
])
# Sites sit on a 2**-20 degree lattice (~0.1 m): exact in binary floating point, so
# GEOS hands back the very coordinates it was given and a triangle's corner maps
# back to its site by an integer key.
LATTICE = 2.0**-20
WIGGLE_MODES = 5
LEVELS = ("villages", "towns", "counties", "cities")


# --- micro-grid cells --------------------------------------------------------------------


def _lattice(xy: np.ndarray) -> np.ndarray:
    ij = np.round(xy / LATTICE).astype(np.int64)
    _, first = np.unique(ij, axis=0, return_index=True)
    return ij[np.sort(first)]


def _sites(rng: np.random.Generator, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = OUTLINE.bounds
    shapely.prepare(OUTLINE)
    got = np.empty((0, 2), np.int64)
    while len(got) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(2 * n + 16, 2))
        xy = xy[shapely.contains_xy(OUTLINE, xy[:, 0], xy[:, 1])]
        got = _lattice(np.concatenate([got * LATTICE, xy]))
    return got[:n]


def _frame(n: int) -> np.ndarray:
    """Dummy sites: two rings around the outline and four far corners."""
    spacing = math.sqrt(OUTLINE.area / n)
    parts = []
    for k in (1, 2):
        ring = OUTLINE.buffer(k * spacing).exterior
        along = np.arange(0, ring.length, spacing / k)
        parts.append(shapely.get_coordinates(shapely.line_interpolate_point(ring, along)))
    minx, miny, maxx, maxy = OUTLINE.buffer(10 * spacing + 1).bounds
    parts.append(np.array([(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)]))
    return _lattice(np.concatenate(parts))


def _delaunay(ij: np.ndarray) -> np.ndarray:
    """Triangles as rows of three site indices."""
    triangles = shapely.delaunay_triangles(shapely.multipoints(ij * LATTICE))
    corners = shapely.get_coordinates(shapely.get_parts(triangles)).reshape(-1, 4, 2)[:, :3]
    keys = ij[:, 0] << 32 | ij[:, 1]
    order = np.argsort(keys)
    c = np.round(corners / LATTICE).astype(np.int64)
    return order[np.searchsorted(keys, c[..., 0] << 32 | c[..., 1], sorter=order)]


def _circumcentres(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a = p[tri[:, 0]]
    b, c = p[tri[:, 1]] - a, p[tri[:, 2]] - a
    d = 2 * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
    bb, cc = (b**2).sum(1), (c**2).sum(1)
    # Only triangles of dummy sites can be flat (NaN here); Cells.build checks that.
    with np.errstate(divide="ignore", invalid="ignore"):
        return a + np.column_stack([(c[:, 1] * bb - b[:, 1] * cc) / d,
                                    (b[:, 0] * cc - c[:, 0] * bb) / d])


@dataclass
class Cells:
    """Voronoi cells of the real sites, as ring edges: edge k of the ring of site
    `site[k]` runs from vertex `a[k]` to vertex `b[k]` (triangle indices, whose
    circumcentres are `vertices`) and separates it from site `across[k]`."""

    points: np.ndarray
    vertices: np.ndarray
    site: np.ndarray
    a: np.ndarray
    b: np.ndarray
    across: np.ndarray

    @classmethod
    def build(cls, rng: np.random.Generator, n: int) -> Cells:
        ij = np.concatenate([_sites(rng, n), _frame(n)])
        p = ij * LATTICE
        tri = _delaunay(ij)
        site = tri.ravel()
        t = np.repeat(np.arange(len(tri)), 3)
        site, t = site[site < n], t[site < n]
        # Around a site its triangles follow each other by the angle of their centroids.
        d = p[tri].mean(axis=1)[t] - p[site]
        order = np.lexsort((np.arctan2(d[:, 1], d[:, 0]), site))
        site, t = site[order], t[order]
        counts = np.bincount(site, minlength=n)
        nxt = np.arange(len(t)) + 1
        nxt[np.cumsum(counts) - 1] = np.cumsum(counts) - counts
        ta, tb = tri[t], tri[t[nxt]]
        shared = (ta[:, :, None] == tb[:, None, :]).any(axis=2) & (ta != site[:, None])
        across = ta[np.arange(len(ta)), shared.argmax(1)]
        vertices = _circumcentres(p, tri)
        if (across >= len(ij) - 4).any() or not np.isfinite(vertices[t]).all():
            raise RuntimeError("a real cell reaches the far frame: too few sites")
        return cls(p, vertices, site, t, t[nxt], across)


# --- growing regions ---------------------------------------------------------------------


def _grow(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
          seeds: np.ndarray) -> np.ndarray:
    """Multi-source Dijkstra: each node goes to its nearest seed along the graph, so
    every region is connected."""
    order = np.argsort(src, kind="stable")
    dst_l, wt = dst[order].tolist(), weight[order].tolist()
    start = np.searchsorted(src[order], np.arange(n + 1)).tolist()
    owner, best = [-1] * n, [math.inf] * n
    heap = [(0.0, int(s), g) for g, s in enumerate(seeds)]
    heapq.heapify(heap)
    while heap:
        d, v, g = heapq.heappop(heap)
        if owner[v] != -1:
            continue
        owner[v] = g
        for k in range(start[v], start[v + 1]):
            w = dst_l[k]
            if owner[w] == -1 and d + wt[k] < best[w]:
                best[w] = d + wt[k]
                heapq.heappush(heap, (best[w], w, g))
    if -1 in owner:
        raise RuntimeError("the site graph is not connected")
    return np.array(owner)


def _group(rng, pos: np.ndarray, src: np.ndarray, dst: np.ndarray, k: int):
    """Regions of k random seeds over a graph of nodes at `pos`: (owner, seed nodes)."""
    seeds = np.sort(rng.choice(len(pos), k, replace=False))
    weight = np.linalg.norm(pos[src] - pos[dst], axis=1)
    return _grow(len(pos), src, dst, weight, seeds), seeds


def _coarsen(owner: np.ndarray, src: np.ndarray, dst: np.ndarray):
    """The region graph: pairs of regions that touch, both ways."""
    a, b = owner[src], owner[dst]
    pairs = np.unique(np.column_stack([a, b])[a != b], axis=0)
    return pairs[:, 0], pairs[:, 1]


# --- wiggled shared edges and polygons ---------------------------------------------------


def _kite_wiggle(rng, A, B, P, m, ends=0.7):
    """Interior points of each edge AB (m[e] of them), displaced sideways inside the
    edge's kite: never beyond `ends` of its half-width nor 30 % of its length.

    The kite is symmetric about AB (q is p mirrored), so one half will do: the
    triangle A-B-P with P at height h above the foot s (along AB). At x along AB
    it is h·x/s wide before the foot and h·(L−x)/(L−s) after it, the smaller of
    the two; a foot beyond A or B leaves only the other bound. The displacement
    is a few sine modes (zero at both ends) plus a little noise, so the edge
    wanders like a surveyed boundary."""
    e_of = np.repeat(np.arange(len(m)), m)
    first = np.cumsum(m) - m
    t = (np.arange(m.sum()) - first[e_of] + 1) / (m[e_of] + 1)
    L = np.linalg.norm(B - A, axis=1)
    u = (B - A) / np.where(L > 0, L, 1)[:, None]
    normal = np.column_stack([-u[:, 1], u[:, 0]])
    s_p, h = ((P - A) * u).sum(1), np.abs(((P - A) * normal).sum(1))
    x, Le, se = t * L[e_of], L[e_of], s_p[e_of]
    with np.errstate(divide="ignore", invalid="ignore"):
        width = h[e_of] * np.minimum(np.where(se > 0, x / se, np.inf),
                                     np.where(se < Le, (Le - x) / (Le - se), np.inf))
    amp = ends * np.minimum(width, 0.3 * Le)
    k = np.arange(1, WIGGLE_MODES + 1)
    coef = rng.uniform(-1, 1, size=(len(m), WIGGLE_MODES)) / k**1.3
    coef /= np.abs(coef).sum(1, keepdims=True)
    signal = (coef[e_of] * np.sin(np.pi * t[:, None] * k)).sum(1)
    signal = np.clip(0.8 * signal + rng.uniform(-0.2, 0.2, len(t)), -1, 1)
    return A[e_of] + u[e_of] * x[:, None] + normal[e_of] * (amp * signal)[:, None], first


def _step_for(L, wiggled, occ_edge, occ_wiggled, n_villages, target) -> float:
    """The densifying step that gives villages `target` vertices on average."""
    occ = occ_edge[occ_wiggled]

    def mean_vertices(step):
        m = np.where(wiggled, np.maximum(np.ceil(L / step) - 1, 0), 0)
        return (len(occ) + m[occ].sum() + n_villages) / n_villages

    lo, hi = 1e-7, 10.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if mean_vertices(mid) > target else (lo, mid)
    return hi


def microgrid_polygons(rng, cells: Cells, village_of: np.ndarray, n_villages: int,
                       village_vertices: int) -> np.ndarray:
    """The micro-grid polygons, site order. Edges between villages (or on the
    outline) are densified so villages average `village_vertices` and wiggled;
    edges inside a village stay straight."""
    n, T = len(village_of), len(cells.vertices)
    lo, hi = np.minimum(cells.a, cells.b), np.maximum(cells.a, cells.b)
    _, first, occ_edge = np.unique(lo * T + hi, return_index=True, return_inverse=True)
    owner = np.concatenate([village_of, np.full(len(cells.points) - n, -1)])
    occ_wiggled = owner[cells.site] != owner[cells.across]
    wiggled = np.zeros(len(first), bool)
    wiggled[occ_edge[occ_wiggled]] = True
    A, B = cells.vertices[lo[first]], cells.vertices[hi[first]]
    L = np.linalg.norm(B - A, axis=1)
    step = _step_for(L, wiggled, occ_edge, occ_wiggled, n_villages, village_vertices)
    m = np.where(wiggled, np.maximum(np.ceil(L / step) - 1, 0), 0).astype(np.int64)
    inner, start = _kite_wiggle(rng, A, B, cells.points[cells.site[first]], m)
    # Each ring edge contributes its first vertex, then the edge's interior points,
    # read backwards when the ring runs the edge from its higher vertex.
    mk = m[occ_edge]
    chunk = 1 + mk
    kk = np.repeat(np.arange(len(chunk)), chunk)
    pos = np.arange(chunk.sum()) - (np.cumsum(chunk) - chunk)[kk]
    forward = (cells.a < cells.b)[kk]
    idx = np.where(pos == 0, cells.a[kk],
                   T + start[occ_edge[kk]] + np.where(forward, pos - 1, mk[kk] - pos))
    rings = shapely.linearrings(np.concatenate([cells.vertices, inner])[idx],
                                indices=cells.site[kk])
    return shapely.polygons(rings)


def dissolve(geoms: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    """Region g = coverage union of the geoms it owns (exact: their edges match)."""
    order = np.argsort(owner, kind="stable")
    cut = np.searchsorted(owner[order], np.arange(k + 1))
    return np.array([shapely.coverage_union_all(geoms[order[cut[g]:cut[g + 1]]])
                     for g in range(k)])


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    parts, index = shapely.get_parts(geoms, return_index=True)
    return shapely.multipolygons(parts, indices=index)


def grow_hierarchy(rng, cells: Cells, sizes: dict[str, int]):
    """site → village → town → county → city, each level grown over the one below.
    Returns each level's owner (its parent, by growth index) and its seats."""
    n = sizes["microgrids"]
    inner = cells.across < n
    src, dst = cells.site[inner], cells.across[inner]
    pos, owners, seats = cells.points[:n], {}, {}
    for level in LEVELS:
        owners[level], seed_nodes = _group(rng, pos, src, dst, sizes[level])
        seats[level] = pos[seed_nodes]
        src, dst = _coarsen(owners[level], src, dst)
        pos = seats[level]
    return owners, seats


def points_inside(rng: np.random.Generator, geoms: np.ndarray, which: np.ndarray) -> np.ndarray:
    """One random point strictly inside geoms[which[i]] for each i (rejection sampling
    in the bounding boxes, all polygons at once)."""
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)[which]
    xy = np.empty((len(which), 2))
    todo = np.arange(len(which))
    while len(todo):
        lo, hi = bounds[todo, :2], bounds[todo, 2:]
        xy[todo] = lo + rng.random((len(todo), 2)) * (hi - lo)
        inside = shapely.contains_xy(geoms[which[todo]], xy[todo, 0], xy[todo, 1])
        todo = todo[~inside]
    return xy
