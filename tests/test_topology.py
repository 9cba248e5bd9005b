"""Topology checks find nothing in a clean tiling and exactly what was broken in it;
saving a boundary that breaks the tiling needs an explicit, recorded override;
old boundaries stay queryable by date and generation."""

import json
import re

import pytest
from sqlalchemy import func, select, text

from geo.topology import check
from models import AuditRecord, Grid

XINGYAN = "445302001003"


def grid(session, code):
    return session.scalar(Grid.current().where(Grid.code == code))


def neighbour_of(session, village):
    return session.scalars(Grid.neighbours_of(village).where(
        Grid.parent_id == village.parent_id)).first()


def square_inside(session, target, half=0.001):
    """A small square around a point well inside `target`, clipped to it (EWKT)."""
    return session.scalar(select(func.ST_AsEWKT(func.ST_Intersection(
        func.ST_Expand(func.ST_PointOnSurface(Grid.geom), half), Grid.geom))).where(
        Grid.id == target.id))


def set_geom(session, grid_id, sql, **params):
    session.execute(text(f"UPDATE grids SET geom = ST_Multi({sql}) WHERE id = :id"),
                    {"id": grid_id, **params})


def area_m2(session, ewkt):
    return session.scalar(text("SELECT ST_Area(ST_GeomFromEWKT(:g)::geography)"), {"g": ewkt})


def covers(session, ewkt, lon, lat):
    return session.scalar(text("SELECT ST_Covers(ST_GeomFromEWKT(:g), "
                               "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                          {"g": ewkt, "x": lon, "y": lat})


def test_the_demo_is_clean(runner):
    result = runner.invoke(args=["grids", "check"])
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output


def test_an_injected_overlap_is_found_exactly(session, runner):
    village = grid(session, XINGYAN)
    other = neighbour_of(session, village)
    piece = square_inside(session, other)
    set_geom(session, village.id, "ST_Union(geom, ST_GeomFromEWKT(:piece))", piece=piece)
    (problem,) = [p for p in check(session) if p.kind == "overlap"]
    assert sorted(problem.codes) == sorted([village.code, other.code])
    assert problem.area_m2 == pytest.approx(area_m2(session, piece), rel=1e-3)
    assert covers(session, piece, problem.lon, problem.lat)
    result = runner.invoke(args=["grids", "check"])
    assert result.exit_code == 1 and "overlap" in result.output and other.code in result.output


def test_an_injected_gap_is_found_exactly(session):
    village = grid(session, XINGYAN)
    piece = square_inside(session, village)
    set_geom(session, village.id, "ST_Difference(geom, ST_GeomFromEWKT(:piece))", piece=piece)
    problems = check(session)
    assert [(p.kind, p.codes) for p in problems] == [("gap", [village.parent.code])]
    assert problems[0].area_m2 == pytest.approx(area_m2(session, piece), rel=1e-3)
    assert covers(session, piece, problems[0].lon, problems[0].lat)


def test_a_grid_spilling_out_of_its_parent_and_a_sliver(session):
    village = grid(session, XINGYAN)
    # A detached thread 1 km long and 1 m wide, south of the city, outside any grid.
    set_geom(session, village.id, "ST_Union(geom, ST_MakeEnvelope(111.0, 22.25, 111.01, "
                                  "22.25001, 4326))")
    problems = check(session, prefix="445302001")
    assert sorted((p.kind, p.codes[0]) for p in problems) == [
        ("outside_parent", XINGYAN), ("sliver", XINGYAN)]
    (sliver,) = [p for p in problems if p.kind == "sliver"]
    assert 111.0 <= sliver.lon <= 111.01 and sliver.area_m2 < 1200


def test_tolerance_ignores_drawing_noise(session):
    village = grid(session, XINGYAN)
    # Pushing the boundary 0.2 m into the neighbours: under a 1 m tolerance, nothing.
    set_geom(session, village.id, "ST_Buffer(geom::geography, 0.2)::geometry")
    assert [p for p in check(session, prefix="445302001") if p.kind == "overlap"] == []
    assert [p.kind for p in check(session, prefix="445302001", tolerance_m=0.01)].count(
        "overlap") >= 2


def test_check_as_json_lines(session, runner):
    village = grid(session, XINGYAN)
    set_geom(session, village.id, "ST_Difference(geom, ST_GeomFromEWKT(:piece))",
             piece=square_inside(session, village))
    result = runner.invoke(args=["grids", "check", "--json"])
    (line,) = result.output.strip().splitlines()
    assert json.loads(line)["kind"] == "gap"


# --- saving in the admin ---------------------------------------------------------------

def edit_form(client, village, geojson, **extra):
    return {"code": village.code, "name": village.name, "level": "village",
            "parent": str(village.parent_id), "geom": geojson} | extra


def shape_json(session, sql, village):
    return session.scalar(text(f"SELECT ST_AsGeoJSON(ST_Multi({sql})) FROM grids "
                               "WHERE id = :id"), {"id": village.id})


def test_shrinking_a_village_is_refused_for_the_gap_it_opens(client, session):
    """A vertex dragged inward leaves ground no neighbour covers: refused like an
    overlap, saved only with the recorded override."""
    village = grid(session, XINGYAN)
    first = village.generation_low
    smaller = shape_json(session, "ST_Buffer(geom, -0.0002)", village)
    page = client.post(f"/admin/grid/edit/?id={village.id}",
                       data=edit_form(client, village, smaller),
                       follow_redirects=True).get_data(as_text=True)
    assert re.search(r"留下约 \d+ 平方米的空隙", page), page[:2000]
    session.expire_all()
    assert grid(session, XINGYAN).generation_low == first  # nothing saved
    client.post(f"/admin/grid/edit/?id={village.id}",
                data=edit_form(client, village, smaller, accept_topology="y"))
    session.expire_all()
    assert grid(session, XINGYAN).generation_low > first
    override = session.scalar(select(AuditRecord).where(
        AuditRecord.action == "topology_override"))
    assert "gap" in " ".join(override.after["problems"])


def test_moving_a_shared_edge_into_a_neighbour_that_covers_it_leaves_no_gap(client, session):
    """Giving up ground that a neighbour already covers is no gap: here the village
    gives up exactly what it overlaps with after a first, accepted, overlapping save."""
    village = grid(session, XINGYAN)
    original = shape_json(session, "geom", village)
    bigger = shape_json(session, "ST_Intersection(ST_Buffer(geom, 0.002), "
                                 "(SELECT geom FROM grids p WHERE p.id = grids.parent_id))",
                        village)
    client.post(f"/admin/grid/edit/?id={village.id}",
                data=edit_form(client, village, bigger, accept_topology="y"))
    session.expire_all()
    village = grid(session, XINGYAN)
    page = client.post(f"/admin/grid/edit/?id={village.id}",
                       data=edit_form(client, village, original), follow_redirects=True)
    assert "保存记录成功" in page.get_data(as_text=True)


def test_an_overlapping_boundary_needs_an_explicit_recorded_override(client, session):
    village = grid(session, XINGYAN)
    first = village.generation_low
    bigger = shape_json(session, "ST_Intersection(ST_Buffer(geom, 0.002), "
                                 "(SELECT geom FROM grids p WHERE p.id = grids.parent_id))",
                        village)
    refused = client.post(f"/admin/grid/edit/?id={village.id}",
                          data=edit_form(client, village, bigger), follow_redirects=True)
    page = refused.get_data(as_text=True)
    assert re.search(r"与.+重叠 \d+ 平方米", page), page[:2000]
    session.expire_all()
    assert grid(session, XINGYAN).generation_low == first  # nothing saved

    client.post(f"/admin/grid/edit/?id={village.id}",
                data=edit_form(client, village, bigger, accept_topology="y"))
    session.expire_all()
    assert grid(session, XINGYAN).generation_low > first
    override = session.scalar(select(AuditRecord).where(
        AuditRecord.action == "topology_override"))
    assert override.actor == "demo_admin" and override.after["code"] == XINGYAN


# --- versions --------------------------------------------------------------------------

def matter_at(session, lon, lat):
    """A matter filed with a point, assigned to the village there."""
    from geo.assign import file_matter
    from models import Court
    from models.filing import AddressInput, MatterInput

    court = session.scalar(select(Court).where(Court.case_code == "粤5302"))
    matter, _ = file_matter(session, MatterInput(
        court=court, officer_name="李明", case_number="（2026）粤5302执9号",
        matter_type="other", request={"purpose": "mediation"}, debtor_kind="person",
        debtor_name="王五", addresses=[AddressInput("residence", None, lon, lat)]))
    assert matter.primary_assignment.grid.code == XINGYAN
    session.commit()  # the admin's request below runs in its own savepoint
    return matter


def test_old_boundaries_answer_for_their_day_and_diff_lists_the_change(client, session,
                                                                       runner):
    village = grid(session, XINGYAN)
    first = village.generation_low
    inside_old_only = session.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference(geom, "
        "ST_Buffer(geom, -0.0004))) p FROM grids WHERE id = :id) s"), {"id": village.id}).one()
    matter = matter_at(session, *inside_old_only)
    smaller = shape_json(session, "ST_Buffer(geom, -0.0004)", village)
    client.post(f"/admin/grid/edit/?id={village.id}",  # a gap: saved with the override
                data=edit_form(client, village, smaller, accept_topology="y"))
    session.expire_all()
    now = grid(session, XINGYAN).generation_low
    lonlat = f"{inside_old_only[0]},{inside_old_only[1]}"

    before = runner.invoke(args=["grids", "at", "--lonlat", lonlat, "--date", "2026-03-01"])
    assert XINGYAN in before.output
    today = runner.invoke(args=["grids", "at", "--lonlat", lonlat])
    assert XINGYAN not in today.output  # the point is in the strip the redraw gave up

    changes = runner.invoke(args=["grids", "diff", "--from", str(first), "--to", str(now)])
    assert re.search(rf"redrawn\s+{XINGYAN} 星岩社区 -[\d,]+ m²", changes.output)
    assert "1 grids differ" in changes.output
    # The open matter located by that point is named, with where its point lies now.
    assert f"matter   {matter.case_number} {XINGYAN} → (no grid)" in changes.output
    assert "1 open matters lie in another grid" in changes.output
    missing = runner.invoke(args=["grids", "diff", "--from", "1", "--to", "999"])
    assert missing.exit_code == 1 and "no boundary generation 999" in missing.output


# --- the report page -------------------------------------------------------------------

def test_report_page_lists_problems_in_scope(client, client_as, session):
    assert "未发现问题" in client.get("/admin/topology/").get_data(as_text=True)
    village = grid(session, XINGYAN)
    other = neighbour_of(session, village)
    set_geom(session, village.id, "ST_Union(geom, ST_GeomFromEWKT(:piece))",
             piece=square_inside(session, other))
    page = client.get("/admin/topology/").get_data(as_text=True)
    assert "重叠" in page and XINGYAN in page and other.code in page
    committee = client_as("demo_yuncheng_committee").get("/admin/topology/")
    assert XINGYAN in committee.get_data(as_text=True)


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker", "demo_court_yuncheng",
                                      "demo_town_liaison", "demo_town_centre"])
def test_topology_and_boundary_history_are_not_for_grid_and_court_people(client_as,
                                                                        username):
    """They have no use for them: no menu entry, and the pages are refused."""
    who = client_as(username)
    for url in ("/admin/topology/", "/admin/grid_history/"):
        assert who.get(url).status_code == 403
    home = who.get("/admin/").get_data(as_text=True)
    assert "/admin/topology/" not in home and "/admin/grid_history/" not in home


def test_report_page_needs_sign_in(anonymous):
    assert "/admin/auth/" in anonymous.get("/admin/topology/").headers["Location"]
