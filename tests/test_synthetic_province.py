"""The synthetic benchmark province: a small one built in memory, and loaded into a
database of its own."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
import shapely
from sqlalchemy import create_engine, text

from models import db
from models.grids import GridLevel, check_code
from models.identity import check_case_number, check_credit_code, check_id_number
from seeds.address_variants import address_variants
from seeds.synthetic_matters import synthetic_matters
from seeds.synthetic_province import build_province, load_province

SMALL = {"towns": 3, "villages": 30, "microgrids": 100}
SEED = 11
FULL_WIDTH = "０１２３４５６７８９"


@pytest.fixture(scope="module")
def small():
    return build_province(seed=SEED, **SMALL)


@pytest.fixture(scope="module")
def medium():
    """Big enough for names to repeat: 12 towns, 400 villages."""
    return build_province(seed=SEED, towns=12, villages=400, microgrids=1200)


LEVELS = [("counties", GridLevel.county, None), ("towns", GridLevel.town, "counties"),
          ("villages", GridLevel.village, "towns"),
          ("microgrids", GridLevel.microgrid, "villages")]


@pytest.mark.parametrize(("level", "grid_level", "parent"), LEVELS)
def test_codes_follow_the_division_rules(small, level, grid_level, parent):
    divisions = getattr(small, level)
    for i, code in enumerate(divisions.codes):
        check_code(code, grid_level, getattr(small, parent).codes[divisions.parent[i]]
                   if parent else None)
    assert len(set(divisions.codes)) == len(divisions)


@pytest.mark.parametrize("level", ["counties", "towns", "villages", "microgrids"])
def test_polygons_are_valid_multipolygons(small, level):
    geoms = getattr(small, level).geoms
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms)) == {6}  # MultiPolygon


@pytest.mark.parametrize(("level", "parent"), [("towns", "counties"), ("villages", "towns"),
                                               ("microgrids", "villages")])
def test_children_tile_their_parent(medium, level, parent):
    children, parents = getattr(medium, level), getattr(medium, parent)
    for p, whole in enumerate(parents.geoms):
        mine = children.geoms[children.parent == p]
        union = shapely.union_all(mine)
        assert abs(union.area - whole.area) < 1e-9
        assert shapely.symmetric_difference(union, whole).area < 1e-9
        left, right = shapely.STRtree(mine).query(mine, predicate="overlaps")
        assert len(left) == 0, f"{parents.names[p]}: overlapping {level}"
        left, right = shapely.STRtree(mine).query(mine, predicate="intersects")
        pairs = left < right
        assert shapely.area(shapely.intersection(mine[left[pairs]], mine[right[pairs]])).sum() == 0


def test_village_boundaries_have_a_few_hundred_vertices(medium):
    assert 250 <= shapely.get_num_coordinates(medium.villages.geoms).mean() <= 320


def test_village_names_repeat_across_towns_but_not_within_one(medium):
    villages = medium.villages
    repeated = [name for name, n in Counter(villages.names).items() if n > 1]
    assert len(repeated) >= 20
    per_town = Counter(zip(villages.parent.tolist(), villages.names, strict=True))
    assert max(per_town.values()) == 1


def test_names_have_the_suffixes_of_their_level(medium):
    assert all(n.endswith(("区", "县", "市")) for n in medium.counties.names)
    assert all(n.endswith(("镇", "街道")) for n in medium.towns.names)
    assert all(n.endswith(("村", "社区")) for n in medium.villages.names)
    assert all(n.startswith("第") and n.endswith("网格") for n in medium.microgrids.names)
    assert all(name.endswith("市") for _, name in medium.cities)


def test_standard_address_points_lie_inside_their_village(small):
    villages = small.villages
    assert small.address_points
    for county_code, road, number, x, y, v in small.address_points:
        assert villages.codes[v].startswith(county_code)
        assert shapely.contains_xy(villages.geoms[v], x, y), f"{road}{number}"
    keys = [(county, road, number) for county, road, number, *_ in small.address_points]
    assert len(set(keys)) == len(keys)


def test_matter_addresses_lie_inside_the_village_they_name(small):
    batches = list(synthetic_matters(small, 200, seed=SEED, batch=64))
    assert sum(len(b.court) for b in batches) == 200
    for b in batches:
        geoms = small.villages.geoms[b.address_village]
        assert shapely.contains_xy(geoms, b.address_xy[:, 0], b.address_xy[:, 1]).all()
        for v, written in zip(b.address_village, b.address_text, strict=True):
            stem = small.villages.names[v].removesuffix("村").removesuffix("社区")
            assert stem in written.replace(" ", "").replace("　", "")


def test_matters_carry_valid_identifiers(small):
    batch = next(synthetic_matters(small, 200, seed=SEED))
    for kind, _, number in batch.debtors:
        (check_id_number if kind == "person" else check_credit_code)(number)
    for case_number in batch.case_numbers:
        check_case_number(case_number)
    assert len({number for _, _, number in batch.debtors}) == 200


def test_address_variants_write_one_village_many_ways():
    rng = random.Random(5)
    forms = [address_variants(rng, "罗定市", "河口街道", "城北村", city="云浮市")
             for _ in range(500)]
    assert len(set(forms)) >= 300
    assert any(f.startswith("广东省") for f in forms) and any(f.startswith("罗定") for f in forms)
    assert any("城北村民委员会" in f for f in forms) and any("第" in f and "村民小组" in f
                                                            for f in forms)
    assert any(c in FULL_WIDTH for f in forms for c in f)
    assert any(" " in f.strip() for f in forms)
    assert all("城北" in f.replace(" ", "") for f in forms)


def test_one_seed_gives_one_province():
    one, two = (build_province(seed=3, **SMALL) for _ in range(2))
    assert one.villages.names == two.villages.names
    assert shapely.equals_exact(one.villages.geoms, two.villages.geoms, 0).all()


@pytest.fixture
def own_database(server_url):
    name = f"gridlink_synthetic_test_{os.getpid()}"
    yield server_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def test_load_writes_the_province_into_its_own_database(own_database):
    report = load_province(own_database, matters=200, seed=SEED, log=None, **SMALL)
    counts = report["counts"]
    assert (counts["counties"], counts["villages"], counts["matters"]) == (1, 30, 200)
    engine = create_engine(own_database)
    with engine.connect() as conn:
        levels = dict(conn.execute(text("SELECT level, count(*) FROM grids GROUP BY level")).all())
        assert levels == {"county": 1, "town": 3, "village": 30, "microgrid": 100}
        unplaced = conn.execute(text(
            "SELECT count(*) FROM matter_addresses a WHERE (SELECT count(*) FROM grids g "
            "WHERE g.level = 'village' AND ST_Contains(g.geom, a.geom)) <> 1")).scalar()
        assert unplaced == 0
        without_liaison = conn.execute(text(
            "SELECT count(*) FROM grids g WHERE g.level IN ('town', 'village') AND NOT EXISTS "
            "(SELECT 1 FROM roster_entries r WHERE r.grid_id = g.id AND r.role = 'liaison')"
        )).scalar()
        assert without_liaison == 0
        assert conn.execute(text("SELECT code FROM place_aliases WHERE alias = '广东省'")
                            ).scalar() == "44"
    engine.dispose()
    with pytest.raises(RuntimeError, match="already has grids"):
        load_province(own_database, matters=0, seed=SEED, log=None, **SMALL)


def test_load_refuses_the_demo_database(app, database_url):
    with pytest.raises(RuntimeError, match="already has grids"):
        load_province(database_url, matters=0, seed=SEED, log=None, **SMALL)


def test_seed_synthetic_builds_its_own_database_and_refuses_twice(app, own_database):
    name = own_database.rsplit("/", 1)[1]
    sizes = ["--towns", "2", "--villages", "6", "--microgrids", "12", "--matters", "5"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed", "synthetic", *sizes, "--seed", "3", "--database", name])
    assert result.exit_code == 0, result.output
    assert f"synthetic province in {name}: counties 1, towns 2, villages 6" in result.output
    engine = create_engine(own_database)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state::text, count(*) FROM matters "
                                        "GROUP BY state")).all())
    engine.dispose()
    assert states == {"new": 5}  # ready for geo.assign.assign_stored_points
    again = runner.invoke(args=["seed", "synthetic", *sizes, "--database", name])
    assert again.exit_code == 1
    assert "already has grids" in again.output


def test_seed_synthetic_never_writes_into_the_applications_database(app):
    with app.app_context():
        own = db.engine.url.database
    result = app.test_cli_runner().invoke(args=["seed", "synthetic", "--database", own])
    assert result.exit_code == 1
    assert "is the application's database" in result.output


def test_sizes_that_do_not_nest_are_refused_before_any_database_is_made(app):
    name = f"gridlink_synthetic_refused_{os.getpid()}"
    result = app.test_cli_runner().invoke(args=[
        "seed", "synthetic", "--towns", "10", "--villages", "5", "--microgrids", "3",
        "--matters", "0", "--database", name])
    assert result.exit_code == 1
    assert "10 towns, 5 villages, 3 micro-grids" in result.output
    with app.app_context():
        made = db.session.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :d"),
                                 {"d": name})
    assert made == 0
