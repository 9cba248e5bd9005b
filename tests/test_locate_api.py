"""/api/v1/locate: the contract object for an address or a point, narrowed to the
caller's scope, phones masked, the full number only through the audited call."""

import json
import re

import pytest
from conftest import DEMO_PASSWORD
from sqlalchemy import func, select, text

from geo.gcj02 import wgs84_to_gcj02
from models import AddressPoint, Grid, GridLevel, Role, RosterEntry, RosterRole, User

XINGYAN = "445302001003"  # 星岩社区, 云城区 › 云城街道
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
GAOCUN = "云安区高村镇高村"  # the town really has a village and a community named 高村
GUTIAN = "古田村"  # a village of 云城区 and one of 郁南县
MASKED = re.compile(r"\d{3}\*{4}\d{4}")
FULL = re.compile(r"(?<!\d)\d{11}(?!\d)")  # not a piece of a 12-digit division code
CONTRACT_KEYS = {"input", "status", "grid", "liaison", "method", "confidence", "candidates",
                 "reason", "reason_template", "reason_params", "flags"}


def point_in(session, code: str) -> tuple[float, float]:
    """A point well inside the grid (never on its boundary)."""
    point = func.ST_PointOnSurface(Grid.geom)
    return session.execute(select(func.ST_X(point), func.ST_Y(point))
                           .where(Grid.code == code, Grid.generation_high.is_(None))).one()


def an_address_point(session, code: str) -> AddressPoint:
    """A standard address (road + number) inside the grid."""
    grid = select(Grid.geom).where(Grid.code == code, Grid.generation_high.is_(None))
    return session.scalars(select(AddressPoint).where(
        func.ST_Covers(grid.scalar_subquery(), AddressPoint.geom))
        .order_by(AddressPoint.road, AddressPoint.number)).first()


def a_luoding_address(session) -> str:
    """罗定市 › town › village, for a village name found nowhere else."""
    unique = select(Grid.name).where(Grid.level == GridLevel.village,
                                     Grid.generation_high.is_(None)) \
        .group_by(Grid.name).having(func.count() == 1)
    village = session.scalars(Grid.current().where(
        Grid.code.startswith("445381"), Grid.level == GridLevel.village,
        Grid.name.in_(unique)).order_by(Grid.code)).first()
    return "".join(g.name for g in village.path())


def liaison_phone(session, code: str) -> str:
    return session.scalar(select(RosterEntry).join(Grid, Grid.id == RosterEntry.grid_id).where(
        Grid.code == code, RosterEntry.role == RosterRole.liaison,
        RosterEntry.valid_to.is_(None))).person.phone


# --- who may ask ------------------------------------------------------------------------

def test_anonymous_gets_401(anonymous):
    assert anonymous.get(f"/api/v1/locate?address={XINGYAN_ADDRESS}").status_code == 401
    assert anonymous.post("/api/v1/locate", json={"addresses": ["x"]}).status_code == 401
    assert anonymous.get("/api/v1/locate?lon=112.04&lat=22.93").status_code == 401


def test_a_court_system_token_may_locate(runner, anonymous):
    secret = runner.invoke(args=["tokens", "issue", "云浮市云城区人民法院",
                                 "--label", "执行案件管理系统"]).output.strip()
    answer = anonymous.get("/api/v1/locate", query_string={"address": XINGYAN_ADDRESS},
                           headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and answer.json["grid"]["code"] == XINGYAN


# --- the contract -----------------------------------------------------------------------

def test_an_address_finds_its_grid_liaison_masked(client_as, session):
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": XINGYAN_ADDRESS}).json
    assert set(answer) == CONTRACT_KEYS
    assert answer["input"] == XINGYAN_ADDRESS
    assert answer["status"] == "matched"
    assert answer["grid"] == {"code": XINGYAN, "name": "星岩社区", "level": "village",
                              "path": ["云城区", "云城街道", "星岩社区"]}
    assert answer["method"] == "division"
    assert 0 < answer["confidence"] <= 1
    assert answer["candidates"] == []
    liaison = answer["liaison"]
    assert liaison["name"] and liaison["title"] == "社区网格长"
    full = liaison_phone(session, XINGYAN)
    assert MASKED.fullmatch(liaison["phone"]) and liaison["phone"] != full
    assert liaison["phone"][:3] == full[:3] and liaison["phone"][-4:] == full[-4:]


def test_the_full_phone_is_one_audited_call_away(client_as, session):
    court = client_as("demo_court_yuncheng")
    answer = court.get("/api/v1/locate", query_string={"address": XINGYAN_ADDRESS}).json
    shown = court.get(f"/api/v1/grids/{answer['grid']['code']}/liaison/phone").json
    assert shown["phone"] == liaison_phone(session, XINGYAN) and FULL.fullmatch(shown["phone"])
    trail = client_as("demo_admin").get("/admin/audit/?search=demo_court_yuncheng").get_data(
        as_text=True)
    assert "查看电话" in trail


def test_a_road_and_house_number_is_found_by_its_standard_address(client_as, session):
    point = an_address_point(session, XINGYAN)
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": f"云城区{point.road}{point.number}"}).json
    assert answer["status"] == "matched" and answer["grid"]["code"] == XINGYAN
    assert answer["method"] == "address_point"


def test_a_point_finds_the_grid_covering_it(client_as, session):
    lon, lat = point_in(session, XINGYAN)
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"lon": lon, "lat": lat}).json
    assert set(answer) == CONTRACT_KEYS
    assert answer["status"] == "matched" and answer["grid"]["code"] == XINGYAN
    assert answer["method"] == "point"
    assert MASKED.fullmatch(answer["liaison"]["phone"])


def test_gcj02_coordinates_are_converted_before_the_lookup(client_as, session):
    lon, lat = point_in(session, XINGYAN)
    g_lon, g_lat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"lon": g_lon, "lat": g_lat, "crs": "gcj02"}).json
    assert answer["grid"]["code"] == XINGYAN


def test_a_village_name_of_two_divisions_is_ambiguous_never_a_guess(client_as):
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": GAOCUN}).json
    assert answer["status"] == "ambiguous"
    assert answer["grid"] is None and answer["liaison"] is None
    assert answer["confidence"] == 0.0  # no grid answered, so no confidence in one
    codes = [c["code"] for c in answer["candidates"]]
    assert len(codes) == 2 and len(set(codes)) == 2
    for candidate in answer["candidates"]:
        assert candidate["name"] == "高村" and candidate["path"] == ["云安区", "高村镇", "高村"]
        assert candidate["code"].startswith("445303")


def test_an_unknown_address_is_unmatched_with_a_reason(client_as):
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": "北京市海淀区中关村大街1号"}).json
    assert answer["status"] == "unmatched"
    assert answer["grid"] is None and answer["candidates"] == []
    assert answer["reason"]


# --- scope --------------------------------------------------------------------------------

def test_a_grid_outside_the_callers_area_is_not_shown(client_as, session):
    address = a_luoding_address(session)
    assert client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": address}).json["status"] == "matched"
    answer = client_as("demo_liaison").get("/api/v1/locate",
                                           query_string={"address": address}).json
    assert set(answer) == CONTRACT_KEYS
    assert answer["status"] == "unmatched"
    assert answer["grid"] is None and answer["liaison"] is None and answer["candidates"] == []
    assert "outside_scope" in answer["flags"]
    assert "445381" not in str(answer)


def test_candidates_outside_the_callers_area_are_dropped(client_as):
    everyone = client_as("demo_city_committee").get(
        "/api/v1/locate", query_string={"address": GUTIAN}).json
    counties = {c["code"][:6] for c in everyone["candidates"]}
    assert everyone["status"] == "ambiguous" and {"445302", "445322"} <= counties
    answer = client_as("demo_yuncheng_committee").get(
        "/api/v1/locate", query_string={"address": GUTIAN}).json
    assert answer["candidates"]
    assert all(c["code"].startswith("445302") for c in answer["candidates"])


def test_a_point_outside_the_callers_area_is_not_shown(client_as, session):
    luoding = session.scalar(Grid.current().where(Grid.code.startswith("445381"),
                                                  Grid.level == GridLevel.village))
    lon, lat = point_in(session, luoding.code)
    answer = client_as("demo_worker").get("/api/v1/locate",
                                          query_string={"lon": lon, "lat": lat}).json
    assert answer["status"] == "unmatched" and answer["grid"] is None
    assert luoding.code not in str(answer)


# --- bad requests ------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "says"), [
    ("", "address"),
    ("address=", "empty"),
    ("address=%20%20", "empty"),
    ("lon=112.0", "lat"),
    ("lat=22.9", "lon"),
    ("lon=east&lat=22.9", "number"),
    ("lon=112&lat=north", "number"),
    ("lon=181&lat=22.9", "between"),
    ("lon=112&lat=-91", "between"),
    ("lon=nan&lat=22.9", "between"),
    ("lon=inf&lat=22.9", "between"),
    ("lon=112&lat=22.9&crs=bd09", "crs"),
    ("lon=112&lat=22.9&address=x", "not both"),
])
def test_bad_questions_get_a_clear_400(client_as, query, says):
    response = client_as("demo_court_yuncheng").get(f"/api/v1/locate?{query}")
    assert response.status_code == 400
    assert says in response.json["error"]


@pytest.mark.parametrize(("body", "says"), [
    (None, "addresses"),
    ({}, "addresses"),
    ({"addresses": ["a"], "points": [[112, 22.9]]}, "addresses"),
    ({"addresses": "云城区"}, "list"),
    ({"addresses": ["a"] * 1001}, "1000"),
    ({"addresses": ["a", 3]}, "addresses[1]"),
    ({"points": [[112, 22.9], [112]]}, "points[1]"),
    ({"points": [[112, 95]]}, "points[0]"),
    ({"points": [["x", 22.9]]}, "number"),
    ({"points": [[112, 22.9]], "crs": "mars"}, "crs"),
])
def test_bad_batches_get_a_clear_400(client_as, body, says):
    response = client_as("demo_court_yuncheng").post("/api/v1/locate", json=body)
    assert response.status_code == 400
    assert says in response.json["error"]


# --- many at once -------------------------------------------------------------------------

def test_a_batch_of_addresses_is_answered_in_order(client_as, session):
    addresses = [GAOCUN, XINGYAN_ADDRESS, "", a_luoding_address(session), "  ",
                 XINGYAN_ADDRESS]
    results = client_as("demo_town_centre").post(
        "/api/v1/locate", json={"addresses": addresses}).json["results"]
    assert len(results) == len(addresses)
    assert [r["input"] for r in results] == addresses
    assert all(set(r) == CONTRACT_KEYS for r in results)
    assert [r["status"] for r in results] == [
        "unmatched", "matched", "unmatched", "unmatched", "unmatched", "matched"]
    assert results[1]["grid"]["code"] == results[5]["grid"]["code"] == XINGYAN
    assert MASKED.fullmatch(results[1]["liaison"]["phone"])
    assert results[2]["reason"] and "outside_scope" not in results[2]["flags"]
    assert "outside_scope" in results[0]["flags"] and "outside_scope" in results[3]["flags"]


def test_a_batch_of_points_is_answered_in_order(client_as, session):
    first_village = select(Grid.code).where(Grid.level == GridLevel.village).order_by(Grid.code)
    villages = [XINGYAN, session.scalar(first_village.where(Grid.code.startswith("445303"))),
                session.scalar(first_village.where(Grid.code.startswith("445381")))]
    points = [list(point_in(session, code)) for code in villages]
    results = client_as("demo_court_city").post(
        "/api/v1/locate", json={"points": points}).json["results"]
    assert [r["grid"]["code"] for r in results] == villages
    assert all(r["method"] == "point" for r in results)


def test_a_batch_of_gcj02_points(client_as, session):
    lon, lat = point_in(session, XINGYAN)
    g = [float(v) for v in wgs84_to_gcj02(lon, lat)]
    results = client_as("demo_court_city").post(
        "/api/v1/locate", json={"points": [g], "crs": "gcj02"}).json["results"]
    assert results[0]["grid"]["code"] == XINGYAN


def test_a_full_batch_of_1000_is_accepted(client_as):
    results = client_as("demo_court_city").post(
        "/api/v1/locate", json={"addresses": [XINGYAN_ADDRESS] * 1000}).json["results"]
    assert len(results) == 1000 and results[-1]["grid"]["code"] == XINGYAN


# --- what the locate page draws -------------------------------------------------------------

def test_details_give_outline_workers_and_serving_courts(client_as, session):
    lon, lat = point_in(session, XINGYAN)
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": XINGYAN_ADDRESS, "details": 1}).json
    assert set(answer) == CONTRACT_KEYS | {"details"}
    grid = answer["details"]["grid"]
    assert grid["code"] == XINGYAN
    assert grid["outline"]["type"] in ("Polygon", "MultiPolygon")
    assert session.scalar(select(func.ST_Covers(
        func.ST_SetSRID(func.ST_GeomFromGeoJSON(json.dumps(grid["outline"])), 4326),
        func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))))
    workers = session.scalar(select(func.count()).select_from(RosterEntry).join(
        Grid, Grid.id == RosterEntry.grid_id).where(
        Grid.code == XINGYAN, RosterEntry.role == RosterRole.grid_worker,
        RosterEntry.valid_to.is_(None)))
    assert len(grid["workers"]) == workers >= 2
    assert all(MASKED.fullmatch(w["phone"]) for w in grid["workers"])
    courts = [c["name"] for c in grid["courts"]]
    # A street is served by its county's base court; the city's court serves every county.
    assert courts == ["云浮市云城区人民法院", "云浮市中级人民法院"]
    assert not FULL.search(json.dumps(answer))


def test_a_village_of_a_town_with_a_tribunal_names_the_tribunal_first(client_as, session):
    yaogu = session.scalar(Grid.current().where(Grid.name == "腰古镇"))
    village = session.scalar(Grid.current().where(Grid.parent_id == yaogu.id)
                             .order_by(Grid.code))
    answer = client_as("demo_court_yuncheng").get(
        f"/api/v1/grids/{village.code}", query_string={"details": 1}).json
    kinds = [c["kind"] for c in answer["details"]["courts"]]
    assert kinds == ["tribunal", "base", "intermediate"]
    assert answer["details"]["courts"][0]["name"] == "云浮市云城区人民法院腰古人民法庭"


def test_details_of_an_ambiguous_answer_outline_every_candidate(client_as):
    answer = client_as("demo_court_yuncheng").get(
        "/api/v1/locate", query_string={"address": GAOCUN, "details": 1}).json
    details = answer["details"]
    assert details["grid"] is None
    assert [c["code"] for c in details["candidates"]] == [c["code"] for c in answer["candidates"]]
    assert all(c["outline"]["type"] in ("Polygon", "MultiPolygon")
               for c in details["candidates"])


def test_the_reason_is_given_in_the_readers_language(client_as, session):
    liaison = client_as("demo_liaison")
    address = a_luoding_address(session)
    answer = liaison.get("/api/v1/locate", query_string={"address": address, "details": 1}).json
    assert answer["reason"] == "This place lies outside the area your account answers for."
    assert answer["details"]["reason_text"] == "该地点不在您账号负责的范围内。"
    liaison.get("/lang/en")
    answer = liaison.get("/api/v1/locate", query_string={"address": address, "details": 1}).json
    assert answer["details"]["reason_text"] == answer["reason"]


# --- the page -----------------------------------------------------------------------------

def test_the_locate_page_is_first_under_grids_for_court_staff(client_as):
    page = client_as("demo_court_yuncheng").get("/admin/locate/").get_data(as_text=True)
    assert 'id="gridlink-locate-map"' in page and "locate.js" in page
    assert "<title>网格 - 查找网格" in page
    menu = re.findall(r'class="dropdown-item[^"]*" href="([^"]+)"', page)
    assert menu[0] == "/admin/locate/" and menu[1] == "/admin/grid/"


def test_the_locate_page_asks_anonymous_to_sign_in(anonymous):
    response = anonymous.get("/admin/locate/")
    assert response.status_code == 302 and "/admin/auth/" in response.location


def points_on_shared_edges(session, code: str) -> dict[str, tuple[float, float]]:
    """For each neighbouring village: a vertex of the edge it shares with `code` that no
    third village touches."""
    rows = session.execute(text("""
        WITH x AS (SELECT geom FROM grids WHERE code = :code AND generation_high IS NULL),
        edge AS (
            SELECT g.code, (ST_DumpPoints(ST_Intersection(ST_Boundary(g.geom),
                                                          ST_Boundary(x.geom)))).geom AS pt
            FROM grids g, x
            WHERE g.level = 'village' AND g.generation_high IS NULL AND g.code <> :code
              AND ST_Intersects(g.geom, x.geom))
        SELECT edge.code, ST_X(pt), ST_Y(pt) FROM edge
        WHERE (SELECT count(*) FROM grids v WHERE v.level = 'village'
               AND v.generation_high IS NULL AND ST_Covers(v.geom, edge.pt)) = 2
        ORDER BY edge.code, ST_X(pt), ST_Y(pt)"""), {"code": code}).all()
    return {neighbour: (lon, lat) for neighbour, lon, lat in reversed(rows)}


def test_a_point_on_the_edge_with_a_neighbour_outside_the_area(client_as, session):
    """On a shared edge the grid with the lowest code answers, by rule. When that grid is
    the caller's own, the neighbour stays hidden; when it is the neighbour, the place is
    not the caller's."""
    neighbour, (lon, lat) = next(iter(sorted(points_on_shared_edges(session, XINGYAN).items())))
    assert neighbour > XINGYAN
    user = User(username="test_neighbour_liaison", display_name="邻居网格长", role=Role.liaison,
                active=True, grid=session.scalar(Grid.current().where(Grid.code == neighbour)))
    user.set_password(DEMO_PASSWORD, demo_account=True)
    session.add(user)
    session.commit()
    point = {"lon": lon, "lat": lat}

    both = client_as("demo_court_yuncheng").get("/api/v1/locate", query_string=point).json
    assert both["grid"]["code"] == XINGYAN and "shared_edge" in both["flags"]
    assert {c["code"] for c in both["candidates"]} == {XINGYAN, neighbour}

    mine = client_as("demo_liaison").get("/api/v1/locate", query_string=point).json
    assert mine["status"] == "matched" and mine["grid"]["code"] == XINGYAN
    assert mine["candidates"] == [] and neighbour not in str(mine)

    theirs = client_as("test_neighbour_liaison").get("/api/v1/locate", query_string=point).json
    assert theirs["status"] == "unmatched" and theirs["grid"] is None
    assert theirs["candidates"] == [] and "outside_scope" in theirs["flags"]
    assert XINGYAN not in str(theirs)
