"""The Yunfu demo's invariants, checked in PostGIS: counts, codes, exact tiling."""

import pytest
from conftest import as_superuser
from sqlalchemy import text

from models import Court, CourtKind, Grid, GridLevel
from models.grids import check_code
from seeds.demo import load_demo


def scalar(session, sql, **params):
    return session.execute(text(sql), params).scalar()


def test_counts(session):
    counts = dict(session.execute(text(
        "SELECT level, count(*) FROM grids WHERE generation_high IS NULL GROUP BY level")).all())
    assert counts == {"county": 5, "town": 72, "village": 975}


def test_every_code_is_well_formed_and_unique(session):
    grids = session.scalars(Grid.current()).all()
    for grid in grids:
        check_code(grid.code, grid.level, grid.parent_code)
    assert len({g.code for g in grids}) == len(grids)
    assert {g.code for g in grids if g.level is GridLevel.county} == {
        "445302000000", "445303000000", "445321000000", "445322000000", "445381000000"}


def test_real_names_under_their_counties(session):
    rows = session.execute(text("""
        SELECT c.name, t.name, v.name FROM grids v
        JOIN grids t ON t.id = v.parent_id JOIN grids c ON c.id = t.parent_id
        WHERE v.level = 'village'""")).all()
    assert ("云城区", "云城街道", "星岩社区") in rows
    assert ("罗定市", "泗纶镇", "分会村") in rows
    # One real town has two divisions called 高村 (a village and a community).
    assert len(rows) == 975 and len(set(rows)) == 974
    assert rows.count(("云安区", "高村镇", "高村")) == 2


def test_all_polygons_valid_and_inside_yunfu(session):
    assert scalar(session, "SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)") == 0
    xmin, ymin, xmax, ymax = session.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM grids) s")).one()
    assert 110.9 < xmin < xmax < 112.6 and 22.2 < ymin < ymax < 23.4


@pytest.mark.parametrize(("child", "parent"), [("village", "town"), ("town", "county")])
def test_children_tile_their_parent_exactly(session, child, parent):
    mismatched = session.execute(text("""
        SELECT p.code, ST_Area(ST_SymDifference(p.geom, u.geom)) FROM grids p
        JOIN (SELECT parent_id, ST_Union(geom) geom FROM grids
              WHERE level = CAST(:child AS grid_level) GROUP BY parent_id) u
          ON u.parent_id = p.id
        WHERE p.level = CAST(:parent AS grid_level) AND NOT ST_Equals(p.geom, u.geom)"""),
        {"child": child, "parent": parent}).all()
    assert mismatched == []
    childless = scalar(session, """
        SELECT count(*) FROM grids p WHERE p.level = CAST(:parent AS grid_level)
        AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.parent_id = p.id)""", parent=parent)
    assert childless == 0


@pytest.mark.parametrize("level", ["county", "town", "village"])
def test_no_two_grids_of_a_level_overlap(session, level):
    # '2********': the interiors share an area. Touching along an edge is fine.
    overlaps = scalar(session, """
        SELECT count(*) FROM grids a JOIN grids b
          ON a.id < b.id AND a.geom && b.geom AND a.level = b.level
        WHERE a.level = CAST(:level AS grid_level) AND ST_Relate(a.geom, b.geom, '2********')""",
        level=level)
    assert overlaps == 0


def test_roster_covers_every_town_and_village(session):
    without_liaison = scalar(session, """
        SELECT count(*) FROM grids g WHERE g.level IN ('town', 'village') AND NOT EXISTS (
          SELECT 1 FROM roster_entries r WHERE r.grid_id = g.id AND r.role = 'liaison'
          AND r.valid_to IS NULL)""")
    villages_short_of_workers = scalar(session, """
        SELECT count(*) FROM grids g WHERE g.level = 'village' AND (
          SELECT count(*) FROM roster_entries r WHERE r.grid_id = g.id
          AND r.role = 'grid_worker') < 2""")
    assert (without_liaison, villages_short_of_workers) == (0, 0)


def test_courts_of_the_city(session):
    courts = session.query(Court).all()
    names = {c.name for c in courts}
    assert {"云浮市中级人民法院", "云浮市云城区人民法院", "云浮市云安区人民法院", "新兴县人民法院",
            "郁南县人民法院", "罗定市人民法院"} <= names
    tribunals = [c for c in courts if c.kind is CourtKind.tribunal]
    assert len(tribunals) >= 5
    assert all(t.parent.kind is CourtKind.base and t.grids for t in tribunals)
    assert all(g.level is GridLevel.town for t in tribunals for g in t.grids)


def test_address_points_lie_inside_one_urban_community(session):
    total = scalar(session, "SELECT count(*) FROM address_points")
    placed = session.execute(text("""
        SELECT a.id, count(g.id), bool_and(g.name LIKE '%社区' OR g.name LIKE '%居委会')
        FROM address_points a JOIN grids g
          ON g.level = 'village' AND ST_Covers(g.geom, a.geom)
        GROUP BY a.id""")).all()
    assert total > 1000
    assert len(placed) == total
    assert all(n == 1 and urban for _, n, urban in placed)


DIGEST = """
    SELECT md5(string_agg(code || name || level || coalesce(p, '') || ST_AsEWKB(geom)::text,
                          '|' ORDER BY code))
    FROM (SELECT g.code, g.name, g.level::text, pg.code p, g.geom FROM grids g
          LEFT JOIN grids pg ON pg.id = g.parent_id) s"""
ROSTER_DIGEST = """
    SELECT md5(string_agg(g.code || r.role || p.name || coalesce(p.phone, ''), '|'
                          ORDER BY g.code, r.role, p.name, p.phone))
    FROM roster_entries r JOIN people p ON p.id = r.person_id JOIN grids g ON g.id = r.grid_id"""


# The demo year's tables, children first.
MATTER_TABLES = ("ledger_lines", "fee_statements", "record_forms", "evidence", "outcomes",
                 "matter_steps", "risk_reports", "assignments", "matter_addresses", "matters",
                 "debtors", "job_runs")
MATTERS_DIGEST = """
    SELECT md5(string_agg(m.case_number || m.state || m.matter_type || d.name
                          || coalesce(d.id_number, '') || m.deadline::text
                          || (SELECT count(*) FROM matter_steps s WHERE s.matter_id = m.id)
                          || coalesce((SELECT sum(amount)::text FROM ledger_lines l
                                       WHERE l.matter_id = m.id), ''),
                          '|' ORDER BY m.case_number, m.matter_type))
    FROM matters m JOIN debtors d ON d.id = m.debtor_id"""


def test_demo_is_deterministic_and_loads_once(session):
    before = scalar(session, DIGEST), scalar(session, ROSTER_DIGEST)
    assert load_demo(session).startswith("demo not loaded")
    matters_before = scalar(session, MATTERS_DIGEST)
    with as_superuser(session):  # outcomes are the owner's to remove (the app only adds)
        for table in (*MATTER_TABLES, "legal_advice_requests", "place_aliases", "api_tokens",
                      "accounts", "login_attempts", "address_points", "roster_entries",
                      "people", "court_grids", "courts", "grids", "generations"):
            session.execute(text(f"DELETE FROM {table}"))
    report = load_demo(session)
    assert "975 villages" in report and "2 legal advice requests" in report
    assert "3008 matters over the year" in report
    # The year of matters too: the same filings, states, steps and fees again.
    assert scalar(session, MATTERS_DIGEST) == matters_before
    assert (scalar(session, DIGEST), scalar(session, ROSTER_DIGEST)) == before
