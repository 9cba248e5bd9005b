"""The committee maps: precomputed shapes that still meet exactly, counts scoped in
SQL (a county committee sees its county only), matters masked for committees, and
overdue decided in one place."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from geo.map_matters import is_overdue
from geo.map_shapes import refresh_map_shapes
from models import Assignment, Matter, clock
from models.map_shapes import BANDS
from models.matters import OPEN_STATES

YUNCHENG = "445302"
WHOLE_CITY = "110.5,21.8,113,23.8"
OPEN = "/admin/maps/open/open/"
SHAPES = "/admin/maps/open/shapes/"
COMPLETION = "/admin/maps/density/completion/"


def _open_in(session, county: str | None) -> int:
    """Open matters placed (current primary assignment) in a county: counted directly."""
    where = f"AND a.county_code = '{county}'" if county else ""
    return session.execute(text(f"""
        SELECT count(*) FROM matters m JOIN assignments a ON a.matter_id = m.id
         AND a.role = 'primary' AND a.ended_at IS NULL
        WHERE m.state IN ({", ".join(f"'{s.value}'" for s in OPEN_STATES)}) {where}""")
    ).scalar_one()


# --- shapes -------------------------------------------------------------------------

@pytest.mark.parametrize("band", range(len(BANDS)))
def test_neighbouring_villages_still_meet_exactly_when_simplified(session, band):
    """No overlaps (the areas add up to their union's) and no gaps (the union has no
    hole the villages did not have) at every zoom band."""
    simplified, holes, original_holes = session.execute(text("""
        SELECT sum(ST_Area(s.geom)) - ST_Area(ST_Union(s.geom)),
               ST_NumInteriorRings(ST_GeometryN(ST_Union(s.geom), 1)),
               (SELECT ST_NumInteriorRings(ST_GeometryN(ST_Union(geom), 1)) FROM grids
                WHERE level = 'village' AND generation_high IS NULL AND code LIKE :county)
        FROM map_shapes s WHERE s.level = 'village' AND s.band = :band AND s.code LIKE :county
    """), {"band": band, "county": YUNCHENG + "%"}).one()
    assert abs(simplified) < 1e-9
    assert holes == original_holes


def test_simplifying_each_village_alone_would_open_gaps_and_overlaps(session):
    """Why coverage simplification: the same tolerance, polygon by polygon, does not
    keep neighbours together (so the test above can fail)."""
    overlap = session.execute(text("""
        SELECT sum(ST_Area(g)) - ST_Area(ST_Union(g)) FROM (
          SELECT ST_SimplifyPreserveTopology(geom, :tol) AS g FROM grids
          WHERE level = 'village' AND generation_high IS NULL AND code LIKE :county) AS s
    """), {"tol": BANDS[0][1], "county": YUNCHENG + "%"}).scalar_one()
    assert abs(overlap) > 1e-7


def test_towns_and_counties_are_the_union_of_their_villages(session):
    town_area, villages_area = session.execute(text("""
        SELECT (SELECT sum(ST_Area(geom)) FROM map_shapes WHERE level = 'town' AND band = 3
                AND county_code = :c),
               (SELECT sum(ST_Area(geom)) FROM grids WHERE level = 'village'
                AND generation_high IS NULL AND county_code = :c)"""),
        {"c": YUNCHENG}).one()
    assert town_area == pytest.approx(villages_area, rel=1e-3)


def test_refresh_follows_a_redrawn_boundary(session):
    """The shapes are rebuilt from the current villages (a job does it when a
    boundary changes): a village moved by a redraw moves on the map."""
    code = session.execute(text("SELECT code FROM map_shapes WHERE level = 'village' "
                                "AND county_code = :c ORDER BY code LIMIT 1"),
                           {"c": YUNCHENG}).scalar_one()
    session.execute(text("UPDATE grids SET geom = ST_Translate(geom, 1, 0) "
                         "WHERE code = :code AND generation_high IS NULL"), {"code": code})
    refresh_map_shapes(session)
    moved = session.execute(text("SELECT ST_XMin(geom) > 112.5 FROM map_shapes "
                                 "WHERE level = 'village' AND band = 3 AND code = :code"),
                            {"code": code}).scalar_one()
    assert moved


def test_the_command_rebuilds_the_shapes(runner, session):
    session.execute(text("DELETE FROM map_shapes"))
    result = runner.invoke(args=["maps", "refresh"])
    assert result.exit_code == 0, result.output
    assert "5 counties" in result.output
    levels = dict(session.execute(text(
        "SELECT level, count(DISTINCT code) FROM map_shapes GROUP BY level")).all())
    assert levels["county"] == 5 and levels["village"] > levels["town"] > 5


def test_saving_a_grid_queues_a_refresh_not_a_rebuild(client, session):
    from models import Grid, JobRun

    grid = session.scalars(select(Grid).where(Grid.code.like(YUNCHENG + "%"),
                                              Grid.level == "village",
                                              Grid.generation_high.is_(None))).first()
    response = client.post(f"/admin/grid/edit/?id={grid.id}",
                           data={"name": grid.name + "（改）", "code": grid.code,
                                 "level": "village", "parent": str(grid.parent_id),
                                 "geom": session.scalar(select(func.ST_AsGeoJSON(grid.geom)))})
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(JobRun)
                          .where(JobRun.kind == "map_shapes")) == 1


def test_a_map_page_embeds_no_polygon(client_as):
    page = client_as("demo_yuncheng_committee").get("/admin/maps/open/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "coordinates" not in body and "MultiPolygon" not in body


def test_shapes_come_from_the_band_of_the_zoom_and_are_cached(client):
    coarse = client.get(SHAPES, query_string={"zoom": 7, "level": "village",
                                              "bbox": WHOLE_CITY})
    fine = client.get(SHAPES, query_string={"zoom": 13, "level": "village",
                                            "bbox": WHOLE_CITY})
    assert len(coarse.get_data()) < len(fine.get_data())
    again = client.get(SHAPES, query_string={"zoom": 7, "level": "village", "bbox": WHOLE_CITY},
                       headers={"If-None-Match": coarse.headers["ETag"]})
    assert again.status_code == 304


# --- who sees what ---------------------------------------------------------------------

@pytest.mark.parametrize("level", ["county", "town", "village"])
def test_county_committee_sees_its_county_only(client_as, session, level):
    committee = client_as("demo_yuncheng_committee")
    areas = committee.get(OPEN, query_string={"zoom": 8, "level": level,
                                              "bbox": WHOLE_CITY}).json["areas"]
    assert areas and all(a["code"].startswith(YUNCHENG) for a in areas)
    assert sum(a["total"] for a in areas) == _open_in(session, YUNCHENG)
    shapes = committee.get(SHAPES, query_string={"zoom": 8, "level": level,
                                                 "bbox": WHOLE_CITY}).json["features"]
    assert shapes and all(f["id"].startswith(YUNCHENG) for f in shapes)
    density = committee.get(COMPLETION, query_string={"zoom": 8, "level": level,
                                                      "bbox": WHOLE_CITY}).json["areas"]
    assert density and all(a["code"].startswith(YUNCHENG) for a in density)


def test_a_county_filter_cannot_widen_a_committees_scope(client_as):
    """Attack: the Yuncheng committee asks for another county by the filter."""
    committee = client_as("demo_yuncheng_committee")
    areas = committee.get(OPEN, query_string={"zoom": 8, "level": "county", "county": "445381",
                                              "bbox": WHOLE_CITY}).json["areas"]
    assert areas == []


def test_city_committee_and_admin_see_every_county(client_as, session):
    for username in ("demo_city_committee", "demo_admin"):
        areas = client_as(username).get(OPEN, query_string={
            "zoom": 8, "level": "county", "bbox": WHOLE_CITY}).json["areas"]
        assert len(areas) == 5
        assert sum(a["total"] for a in areas) == _open_in(session, None)


def test_court_staff_see_their_courts_matters_only(client_as, session):
    """A base court's staff: the matters of the court and its tribunals, wherever placed."""
    areas = client_as("demo_court_yuncheng").get(OPEN, query_string={
        "zoom": 8, "level": "county", "bbox": WHOLE_CITY}).json["areas"]
    court_ids = session.execute(text(
        "SELECT id FROM courts WHERE name = '云浮市云城区人民法院' OR parent_id IN "
        "(SELECT id FROM courts WHERE name = '云浮市云城区人民法院')")).scalars().all()
    mine = session.scalar(select(func.count()).select_from(Matter).join(
        Assignment, (Assignment.matter_id == Matter.id) & (Assignment.role == "primary")
        & Assignment.ended_at.is_(None)).where(Matter.state.in_(OPEN_STATES),
                                                Matter.court_id.in_(court_ids)))
    assert sum(a["total"] for a in areas) == mine < _open_in(session, None)


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker", "demo_town_centre"])
def test_maps_refused_to_grid_people(client_as, username):
    user = client_as(username)
    assert user.get("/admin/maps/open/").status_code == 403
    assert user.get(OPEN, query_string={"zoom": 8, "bbox": WHOLE_CITY}).status_code == 403


def test_anonymous_is_sent_to_sign_in(anonymous):
    assert anonymous.get("/admin/maps/density/").status_code == 302
    assert anonymous.get(SHAPES, query_string={"zoom": 8, "bbox": WHOLE_CITY}).status_code == 302


def _a_matter(session, county: str, inside: bool = True):
    return session.execute(text(f"""
        SELECT m.id FROM matters m JOIN assignments a ON a.matter_id = m.id
         AND a.role = 'primary' AND a.ended_at IS NULL
        WHERE a.county_code {'=' if inside else '<>'} :c AND m.state = 'assigned'
        ORDER BY m.case_number LIMIT 1"""), {"c": county}).scalar_one()


def test_committee_summary_has_no_debtor_and_outlines_the_grid(client_as, session):
    matter = _a_matter(session, YUNCHENG)
    summary = client_as("demo_yuncheng_committee").get(f"/admin/maps/open/matter/{matter}").json
    assert "debtor" not in summary
    debtor = session.get(Matter, matter).debtor
    assert debtor.name not in str(summary) and (debtor.id_number or "-") not in str(summary)
    assert summary["outline"]["type"] in ("Polygon", "MultiPolygon") and summary["grid"]
    assert "debtor" in client_as("demo_admin").get(f"/admin/maps/open/matter/{matter}").json


def test_committee_cannot_read_another_countys_matter(client_as, session):
    """Attack: a matter id from outside the county, asked directly."""
    matter = _a_matter(session, YUNCHENG, inside=False)
    response = client_as("demo_yuncheng_committee").get(f"/admin/maps/open/matter/{matter}")
    assert response.status_code == 404


def test_zoomed_in_the_map_draws_matters_one_by_one(client_as):
    committee = client_as("demo_yuncheng_committee")
    matters = committee.get(OPEN, query_string={"zoom": 14, "bbox": WHOLE_CITY}).json["matters"]
    assert matters and all(m["village"].startswith(YUNCHENG) for m in matters)
    assert set(matters[0]) == {"id", "state", "overdue", "village", "lon", "lat"}


def test_bad_parameters_are_refused(client):
    assert client.get(OPEN, query_string={"zoom": 8}).status_code == 400
    assert client.get(OPEN, query_string={"zoom": 8, "bbox": WHOLE_CITY,
                                          "type": "x"}).status_code == 400
    assert client.get(OPEN, query_string={"zoom": 8, "bbox": WHOLE_CITY,
                                          "since": "soon"}).status_code == 400
    assert client.get(SHAPES, query_string={"zoom": 8, "bbox": WHOLE_CITY,
                                            "level": "microgrid"}).status_code == 400


# --- overdue: the rules' deadline that counts now, else the court's date --------------

def test_overdue_uses_the_rules_deadline_and_falls_back_to_the_courts(session):
    today = clock.today()
    matter = session.get(Matter, _a_matter(session, YUNCHENG))

    def overdue(deadline: date, due_at: datetime | None) -> bool:
        # Waiting to be accepted, the accept deadline counts (models.deadlines).
        session.execute(update(Matter).where(Matter.id == matter.id).values(
            deadline=deadline, accept_due_at=due_at))
        return session.scalar(select(is_overdue(today)).where(Matter.id == matter.id))

    past, future = today - timedelta(days=3), today + timedelta(days=3)
    assert overdue(past, None) is True  # no rule deadline: the court's date
    assert overdue(future, None) is False
    ahead = datetime.combine(future, datetime.min.time(), tzinfo=clock.SITE_ZONE)
    behind = datetime.combine(past, datetime.min.time(), tzinfo=clock.SITE_ZONE)
    assert overdue(past, ahead) is False  # the rules' deadline wins where it is set
    assert overdue(future, behind) is True


def test_completion_counts_agree_with_a_direct_count(client, session):
    areas = client.get(COMPLETION, query_string={"zoom": 8, "level": "county",
                                                 "bbox": WHOLE_CITY}).json["areas"]
    yuncheng = next(a for a in areas if a["code"].startswith(YUNCHENG))
    received, completed = session.execute(text("""
        SELECT count(*), count(*) FILTER (WHERE m.state IN ('done', 'confirmed', 'paid'))
        FROM matters m JOIN assignments a ON a.matter_id = m.id AND a.role = 'primary'
         AND a.ended_at IS NULL
        WHERE a.county_code = :c AND m.state <> 'cancelled'"""), {"c": YUNCHENG}).one()
    assert (yuncheng["received"], yuncheng["completed"]) == (received, completed)
    assert yuncheng["rate"] == pytest.approx(completed / received, abs=1e-4)
    if completed:
        assert yuncheng["median_days"] is not None


def test_the_maps_and_the_overdue_list_count_the_same_overdue(client_as, session):
    """The county committee's open map and its overdue list (models.statistics) count
    the same matters overdue, one escalated for want of an answer among them."""
    from models.access import Scope
    from models.accounts import Role
    from models.statistics import overdue

    escalated = _a_matter(session, YUNCHENG)
    session.execute(update(Matter).where(Matter.id == escalated).values(
        state="escalated", escalation_level=1,
        accept_due_at=clock.now() - timedelta(days=2),
        finish_due_at=clock.now() + timedelta(days=5),
        deadline=clock.today() + timedelta(days=30)))
    areas = client_as("demo_yuncheng_committee").get(OPEN, query_string={
        "zoom": 8, "level": "county", "bbox": WHOLE_CITY}).json["areas"]
    on_the_map = sum(a["overdue"] for a in areas)
    count, rows = overdue(session, Scope(Role.committee, YUNCHENG), limit=None)
    assert escalated in {r.id for r in rows}
    # The list holds the matters with a grid to work on them; the map every open one.
    with_no_grid = session.scalar(select(func.count()).select_from(Matter).join(
        Assignment, (Assignment.matter_id == Matter.id) & (Assignment.role == "primary")
        & Assignment.ended_at.is_(None)).where(
        Assignment.county_code == YUNCHENG, is_overdue(clock.today()),
        Matter.state.not_in(["assigned", "accepted", "dispatched", "escalated"])))
    assert on_the_map == count + with_no_grid and count > 0
