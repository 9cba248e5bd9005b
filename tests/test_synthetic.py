"""Invariants of the synthetic Yunfu tiling (geo/synthetic.py); no database needed."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geo.synthetic import Tiling, build_tiling, is_community
from seeds.demo import read_divisions

ROOT = Path(__file__).resolve().parent.parent
TSV = ROOT / "seeds" / "yunfu-divisions.tsv"

# What the seed file really holds: 975 village lines in 72 (county, town) pairs; two of
# them are both called 高村 (in 云安区 高村镇), which read_divisions keys 高村 and 高村#2.
N_LINES, N_COUNTIES, N_TOWNS, N_VILLAGES = 975, 5, 72, 975

Hierarchy = dict[str, dict[str, list[str]]]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def digest(tiling: Tiling) -> str:
    h = hashlib.sha256()
    for level in (tiling.counties, tiling.towns, tiling.villages):
        for key in sorted(level):
            h.update(repr(key).encode())
            h.update(shapely.to_wkb(level[key]))
    return h.hexdigest()


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return read_divisions(TSV)[1]


@pytest.fixture(scope="module")
def tiling(hierarchy: Hierarchy) -> Tiling:
    t0 = time.perf_counter()
    result = build_tiling(hierarchy)
    print(f"\nbuild_tiling: {time.perf_counter() - t0:.2f} s")
    return result


def assert_partition(parent: BaseGeometry, children: list[BaseGeometry], what: str) -> None:
    """Children don't overlap and their union is exactly the parent (no gaps, no excess)."""
    union = shapely.union_all(children)
    assert shapely.equals(union, parent), what
    assert shapely.symmetric_difference(union, parent).area == 0, what
    total = sum(c.area for c in children)
    assert abs(total - parent.area) <= 1e-12 * parent.area, what
    tree = shapely.STRtree(children)
    left, right = tree.query(children, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            assert shapely.intersection(children[i], children[j]).area == 0, (what, i, j)


def groups(keys: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    out: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for key in sorted(keys):
        out.setdefault(key[:-1], []).append(key)
    return out


def test_seed_file_shape() -> None:
    rows = read_rows(TSV)
    assert len(rows) == N_LINES
    assert len({(r["county_adcode"], r["town"]) for r in rows}) == N_TOWNS
    # Two divisions share a name within one town; every other line is distinct.
    assert len({(r["county_adcode"], r["town"], r["village"]) for r in rows}) == N_VILLAGES - 1


def test_counts(tiling: Tiling) -> None:
    assert len(tiling.counties) == N_COUNTIES
    assert len(tiling.towns) == N_TOWNS
    assert len(tiling.villages) == N_VILLAGES


def test_keys_match_hierarchy(tiling: Tiling, hierarchy: Hierarchy) -> None:
    assert set(tiling.counties) == set(hierarchy)
    assert set(tiling.towns) == {(a, t) for a in hierarchy for t in hierarchy[a]}
    assert set(tiling.villages) == {
        (a, t, v) for a in hierarchy for t in hierarchy[a] for v in hierarchy[a][t]
    }


def test_geometries_valid_nonempty_multipolygons(tiling: Tiling) -> None:
    for level in (tiling.counties, tiling.towns, tiling.villages):
        for key, geom in level.items():
            assert isinstance(geom, MultiPolygon), key
            assert not geom.is_empty and geom.area > 0, key
            assert geom.is_valid, (key, shapely.is_valid_reason(geom))


def test_villages_tile_each_town(tiling: Tiling) -> None:
    for town, keys in groups(tiling.villages).items():
        assert_partition(tiling.towns[town], [tiling.villages[k] for k in keys], str(town))


def test_towns_tile_each_county(tiling: Tiling) -> None:
    for (adcode,), keys in groups(tiling.towns).items():
        assert_partition(tiling.counties[adcode], [tiling.towns[k] for k in keys], adcode)


def test_counties_tile_the_city(tiling: Tiling) -> None:
    counties = [tiling.counties[a] for a in sorted(tiling.counties)]
    city = shapely.union_all(counties)
    assert_partition(city, counties, "city")
    villages = list(tiling.villages.values())
    assert_partition(city, villages, "city from villages")
    assert bool(shapely.coverage_is_valid(villages))


def test_coordinates_in_yunfu(tiling: Tiling) -> None:
    coords = shapely.get_coordinates(list(tiling.villages.values()))
    assert coords[:, 0].min() >= 110.9 and coords[:, 0].max() <= 112.6
    assert coords[:, 1].min() >= 22.2 and coords[:, 1].max() <= 23.4


def test_communities_smaller_than_villages(tiling: Tiling) -> None:
    comm = [g.area for k, g in tiling.villages.items() if is_community(k[2])]
    rural = [g.area for k, g in tiling.villages.items() if not is_community(k[2])]
    assert sum(comm) / len(comm) < sum(rural) / len(rural)


def test_deterministic_in_process(tiling: Tiling, hierarchy: Hierarchy) -> None:
    assert digest(build_tiling(hierarchy)) == digest(tiling)


SUBPROCESS = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from test_synthetic import TSV, build_tiling, digest, read_divisions
print(digest(build_tiling(read_divisions(TSV)[1])))
"""


def test_deterministic_across_hash_seeds(tiling: Tiling) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SUBPROCESS, str(ROOT)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for hash_seed in ("1", "4242")
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs == [digest(tiling)] * 2


def test_duplicate_village_names_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate village"):
        build_tiling({"445303": {"高村镇": ["高村", "高村"]}})


def test_unknown_county_rejected() -> None:
    with pytest.raises(ValueError, match="no synthetic placement"):
        build_tiling({"440100": {"某镇": ["某村"]}})
