"""Every admin page answers, in Chinese by default, and its forms keep their rules."""

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    AddressPoint,
    Court,
    CourtKind,
    Generation,
    Grid,
    GridLevel,
    Person,
    RosterEntry,
    RosterRole,
)

NEW_VILLAGE_SQUARE = {"type": "MultiPolygon", "coordinates": [[[
    [111.0, 22.2], [111.01, 22.2], [111.01, 22.21], [111.0, 22.21], [111.0, 22.2]]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[
    [111.0, 22.2], [111.01, 22.21], [111.01, 22.2], [111.0, 22.21], [111.0, 22.2]]]}
EXTERNAL = re.compile(r'(?:src|href)="(?:https?:)?//(?!127\.0\.0\.1|localhost)[^"]+"')


def grid(session, code):
    return session.scalar(Grid.current().where(Grid.code == code))


def a_town(session):
    return session.scalar(Grid.current().where(Grid.name == "云城街道"))


def test_home_shows_counts_in_chinese(client):
    page = client.get("/admin/").get_data(as_text=True)
    assert "首页" in page and "区划与网格" in page and "联络员名单库" in page
    assert 'data-level="village">975<' in page
    assert "罗定市" in page
    assert not EXTERNAL.search(page)


def test_english_on_request_and_kept(client):
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Dashboard" in page and "Divisions and grids" in page
    assert "Dashboard" in client.get("/admin/grid/").get_data(as_text=True)
    client.get("/lang/zh_Hans_CN")
    assert "首页" in client.get("/admin/").get_data(as_text=True)


def test_root_redirects_to_admin(client):
    assert client.get("/").headers["Location"].endswith("/admin/")


@pytest.mark.parametrize("url", [
    "/admin/grid/", "/admin/grid_history/", "/admin/generation/", "/admin/address/",
    "/admin/court/", "/admin/roster/", "/admin/person/",
    "/admin/grid/new/", "/admin/court/new/", "/admin/roster/new/", "/admin/person/new/",
    "/admin/address/new/",
])
def test_pages_answer_without_internet_urls(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert not EXTERNAL.search(response.get_data(as_text=True))


def test_grid_list_filters_by_county_town_and_level(client, session):
    luoding = client.get("/admin/grid/?flt0_0=445381").get_data(as_text=True)
    codes = set(re.findall(r">\s*(44\d{10})\s*<", luoding))
    assert codes and all(c.startswith("445381") for c in codes)
    town = a_town(session)
    in_town = client.get(f"/admin/grid/?flt0_1={town.code}").get_data(as_text=True)
    rows = set(re.findall(r'class="col-code">\s*(44\d{10})\s*<', in_town))
    assert "星岩社区" in in_town and rows and all(c.startswith(town.code[:9]) for c in rows)
    counties = client.get("/admin/grid/?flt0_2=county").get_data(as_text=True)
    assert set(re.findall(r">\s*(44\d{10})\s*<", counties)) == {
        "445302000000", "445303000000", "445321000000", "445322000000", "445381000000"}


def test_grid_search_by_name_and_code(client, session):
    assert "星岩社区" in client.get("/admin/grid/?search=星岩").get_data(as_text=True)
    town = a_town(session)
    by_code = client.get(f"/admin/grid/?search={town.code}").get_data(as_text=True)
    assert "云城街道" in by_code


def post_grid(client, url, **fields):
    return client.post(url, data=fields, follow_redirects=True)


def test_create_a_village(client, session):
    town = a_town(session)
    generations = session.scalar(select(func.count()).select_from(Generation))
    # The square lies outside the town: saved only with the explicit override.
    page = post_grid(client, "/admin/grid/new/", code=town.code[:9] + "299", name="试点村",
                     level="village", parent=str(town.id), geom=json.dumps(NEW_VILLAGE_SQUARE),
                     accept_topology="y")
    assert page.status_code == 200
    created = grid(session, town.code[:9] + "299")
    assert created is not None and created.parent_id == town.id
    assert session.scalar(select(func.count()).select_from(Generation)) == generations + 1
    assert created.generation_low == session.scalar(select(func.max(Generation.id)))


@pytest.mark.parametrize(("fields", "message"), [
    ({"code": "44530200129"}, "该层级代码为 12 位"),
    ({"code": "445303001299"}, "未以上级代码 445302001 开头"),
    ({"level": "town"}, "镇（街道）的上级必须是县（市、区）"),
    ({"geom": json.dumps(BOW_TIE)}, "边界不是有效的多边形：Self-intersection"),
    ({"geom": ""}, "该字段是必填字段"),
])
def test_create_refuses_bad_grids_and_keeps_the_input(client, session, fields, message):
    town = a_town(session)
    data = {"code": town.code[:9] + "299", "name": "试点村", "level": "village",
            "parent": str(town.id), "geom": json.dumps(NEW_VILLAGE_SQUARE)} | fields
    page = post_grid(client, "/admin/grid/new/", **data).get_data(as_text=True)
    assert message in page
    assert 'value="试点村"' in page  # what was typed is still in the form
    assert grid(session, data["code"]) is None


def test_edit_name_keeps_the_boundary_version(client, session):
    village = session.scalar(Grid.current().where(Grid.name == "星岩社区"))
    low = village.generation_low
    page = client.get(f"/admin/grid/edit/?id={village.id}").get_data(as_text=True)
    assert 'data-role="gridlink-map"' in page and "/admin/grid/shapes/" in page
    geojson = re.search(r'data-role="gridlink-map"[^>]*>([^<]*)</textarea>', page)
    assert geojson is not None
    geom_text = geojson.group(1).replace("&#34;", '"').replace("&quot;", '"')
    post_grid(client, f"/admin/grid/edit/?id={village.id}", code=village.code,
              name="星岩社区（改）", level="village", parent=str(village.parent_id),
              geom=geom_text)
    session.expire_all()
    assert village.name == "星岩社区（改）" and village.generation_low == low
    assert session.scalar(select(func.count()).select_from(Grid).where(
        Grid.code == village.code)) == 1


def test_redraw_in_the_admin_makes_a_version_and_keeps_history(client, session):
    village = session.scalar(Grid.current().where(Grid.name == "星岩社区"))
    old_area = session.scalar(select(func.ST_Area(Grid.geom)).where(Grid.id == village.id))
    post_grid(client, f"/admin/grid/edit/?id={village.id}", code=village.code,
              name=village.name, level="village", parent=str(village.parent_id),
              geom=json.dumps(NEW_VILLAGE_SQUARE), accept_topology="y")
    versions = session.execute(
        select(Grid.generation_high, func.ST_Area(Grid.geom)).where(Grid.code == village.code)
        .order_by(Grid.generation_high.nulls_last())).all()
    assert [v[0] is None for v in versions] == [False, True]
    assert versions[0][1] == pytest.approx(old_area)
    assert versions[1][1] == pytest.approx(0.0001)
    history = client.get(f"/admin/grid_history/?search={village.code}").get_data(as_text=True)
    assert village.code in history


def test_shapes_endpoint_returns_neighbours_as_geojson(client, session):
    town = a_town(session)
    bbox = session.execute(select(func.ST_XMin(Grid.geom), func.ST_YMin(Grid.geom),
                                  func.ST_XMax(Grid.geom), func.ST_YMax(Grid.geom))
                           .where(Grid.id == town.id)).one()
    fc = client.get("/admin/grid/shapes/?level=village&bbox=" + ",".join(map(str, bbox))).json
    names = {f["properties"]["name"] for f in fc["features"]}
    assert "星岩社区" in names and len(names) > 20
    assert fc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize("query", ["level=village", "level=village&bbox=1,2,3",
                                   "level=planet&bbox=1,2,3,4"])
def test_shapes_endpoint_refuses_bad_parameters(client, query):
    response = client.get("/admin/grid/shapes/?" + query)
    assert response.status_code == 400
    assert "bbox" in response.get_data(as_text=True)


def test_court_create_and_tribunal_needs_a_base_court(client, session):
    county = grid(session, "445302000000")
    page = client.post("/admin/court/new/", data={
        "name": "测试人民法庭", "kind": "tribunal", "county_code": "445302",
        "phone": "0766-1234567", "grids": [str(county.id)]}, follow_redirects=True)
    assert "人民法庭隶属于基层法院" in page.get_data(as_text=True)
    base = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    client.post("/admin/court/new/", data={
        "name": "测试人民法庭", "kind": "tribunal", "county_code": "445302",
        "parent": str(base.id), "grids": [str(county.id)]}, follow_redirects=True)
    created = session.scalar(select(Court).where(Court.name == "测试人民法庭"))
    assert created.kind is CourtKind.tribunal and created.grids == [county]
    edit = client.get(f"/admin/court/edit/?id={created.id}")
    assert edit.status_code == 200 and "测试人民法庭" in edit.get_data(as_text=True)


def test_roster_refuses_a_second_current_liaison(client, session):
    village = session.scalar(Grid.current().where(Grid.name == "星岩社区"))
    current = session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == village.id, RosterEntry.role == RosterRole.liaison))
    newcomer = Person(name="新来的", phone="10007669999")
    session.add(newcomer)
    session.flush()
    form = {"grid": str(village.id), "role": "liaison", "title": "社区网格长",
            "person": str(newcomer.id), "valid_from": "2026-11-01"}
    page = client.post("/admin/roster/new/", data=form, follow_redirects=True)
    assert f"已有现任联络员{current.person.name}" in page.get_data(as_text=True)
    # Close the old entry, then the newcomer takes over.
    client.post(f"/admin/roster/edit/?id={current.id}", data={
        "grid": str(village.id), "role": "liaison", "title": current.title,
        "person": str(current.person_id), "valid_from": "2026-01-01",
        "valid_to": "2026-11-01"}, follow_redirects=True)
    client.post("/admin/roster/new/", data=form, follow_redirects=True)
    now = session.scalars(RosterEntry.current(date(2026, 11, 2)).where(
        RosterEntry.grid_id == village.id, RosterEntry.role == RosterRole.liaison)).all()
    assert [e.person.name for e in now] == ["新来的"]


def _xingyan_liaison(session):
    village = session.scalar(Grid.current().where(Grid.name == "星岩社区"))
    return village, session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == village.id, RosterEntry.role == RosterRole.liaison))


def test_changing_the_person_of_an_entry_ends_it_and_starts_a_new_one(client, session):
    """Picking another person on the edit form is a hand-over on the start date given,
    never an edit in place: the previous liaison keeps the days they served."""
    village, current = _xingyan_liaison(session)
    before = (current.person_id, current.valid_from)
    newcomer = Person(name="接任者", phone="10007668888")
    session.add(newcomer)
    session.flush()
    page = client.post(f"/admin/roster/edit/?id={current.id}", data={
        "grid": str(village.id), "role": "liaison", "title": current.title,
        "person": str(newcomer.id), "valid_from": "2026-11-15"}, follow_redirects=True)
    assert "两条记录均保留" in page.get_data(as_text=True)
    session.expire_all()
    old = session.get(RosterEntry, current.id)
    assert (old.person_id, old.valid_from, old.valid_to) == (*before, date(2026, 11, 15))
    new = session.scalar(select(RosterEntry).where(RosterEntry.person_id == newcomer.id))
    assert (new.grid_id, new.role, new.valid_from, new.valid_to) == (
        village.id, RosterRole.liaison, date(2026, 11, 15), None)
    on = {d: session.scalar(RosterEntry.current(d).where(
        RosterEntry.grid_id == village.id, RosterEntry.role == RosterRole.liaison)).person_id
        for d in (date(2026, 11, 14), date(2026, 11, 15))}
    assert on == {date(2026, 11, 14): before[0], date(2026, 11, 15): newcomer.id}


def test_a_hand_over_before_the_old_start_is_refused_and_changes_nothing(client, session):
    village, current = _xingyan_liaison(session)
    newcomer = Person(name="接任者", phone="10007668888")
    session.add(newcomer)
    session.flush()
    page = client.post(f"/admin/roster/edit/?id={current.id}", data={
        "grid": str(village.id), "role": "liaison", "title": current.title,
        "person": str(newcomer.id),
        "valid_from": current.valid_from.isoformat()}, follow_redirects=True)
    # The start date left as it was: the hand-over is today, after the old start.
    assert "两条记录均保留" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(RosterEntry, current.id).valid_to == date.today()
    again = session.scalar(select(RosterEntry).where(RosterEntry.person_id == newcomer.id))
    page = client.post(f"/admin/roster/edit/?id={again.id}", data={
        "grid": str(village.id), "role": "liaison", "title": again.title,
        "person": str(current.person_id), "valid_from": "2020-01-01"}, follow_redirects=True)
    assert "变更须晚于该日" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(RosterEntry, again.id).valid_to is None


def test_the_person_picker_tells_namesakes_apart(client, session):
    _, current = _xingyan_liaison(session)
    twin = Person(name=current.person.name, phone="10007660042")
    session.add(twin)
    session.flush()
    found = client.get("/admin/roster/ajax/lookup/?name=person&query="
                       + current.person.name).json
    labels = {label for _, label in found}
    assert f"{current.person.name}（星岩社区 联络员，尾号{current.person.phone[-4:]}）" in labels
    assert f"{current.person.name}（尾号0042）" in labels


def test_one_person_in_both_roles_of_a_grid_is_warned(client, session):
    village, current = _xingyan_liaison(session)
    page = client.post("/admin/roster/new/", data={
        "grid": str(village.id), "role": "grid_worker", "title": "网格员",
        "person": str(current.person_id), "valid_from": "2026-11-01"}, follow_redirects=True)
    assert "同时是星岩社区的联络员" in page.get_data(as_text=True)
    assert session.scalar(select(RosterEntry).where(
        RosterEntry.person_id == current.person_id, RosterEntry.role == RosterRole.grid_worker))


def test_roster_refuses_an_end_before_the_start(client, session):
    entry = session.scalar(select(RosterEntry).limit(1))
    page = client.post(f"/admin/roster/edit/?id={entry.id}", data={
        "grid": str(entry.grid_id), "role": entry.role.value, "person": str(entry.person_id),
        "valid_from": "2026-05-01", "valid_to": "2026-04-01"}, follow_redirects=True)
    assert "截止日期必须晚于生效日期" in page.get_data(as_text=True)


def test_person_create_and_edit(client, session):
    client.post("/admin/person/new/", data={"name": "王五", "phone": "10007661111"})
    person = session.scalar(select(Person).where(Person.name == "王五"))
    client.post(f"/admin/person/edit/?id={person.id}", data={"name": "王五",
                                                             "phone": "10007662222"})
    session.refresh(person)
    assert person.phone == "10007662222"


def test_address_point_create_and_edit(client, session):
    client.post("/admin/address/new/", data={
        "county_code": "445302", "road": "测试路", "number": "1号",
        "geom": json.dumps({"type": "Point", "coordinates": [112.03, 22.93]})})
    point = session.scalar(select(AddressPoint).where(AddressPoint.road == "测试路"))
    assert point is not None
    page = client.get(f"/admin/address/edit/?id={point.id}").get_data(as_text=True)
    assert 'data-geometry-type="POINT"' in page


def test_grid_level_filter_ignores_nonsense(client):
    assert client.get("/admin/grid/?flt0_2=planet").status_code == 200


def test_level_labels_are_translated_in_the_list(client, session):
    page = client.get("/admin/grid/?flt0_2=county").get_data(as_text=True)
    assert "县（市、区）" in page
    assert GridLevel.county.value not in re.findall(r"<td[^>]*>\s*(\w+)\s*</td>", page)


def test_filter_operations_are_in_chinese(client):
    page = client.get("/admin/grid/?flt0_0=445381").get_data(as_text=True)
    assert "等于" in page  # in the JSON the filter bar is drawn from
    assert "equals" not in page


RAW_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?")


@pytest.mark.parametrize("url", ["/admin/account/", "/admin/generation/", "/admin/token/",
                                 "/admin/alias/", "/admin/precedence/", "/admin/audit/"])
def test_moments_show_in_beijing_time_to_the_minute(client, runner, url):
    """One formatter (admin.views.formatters.local_time) for every list, detail and
    export: no raw UTC with seconds and microseconds."""
    runner.invoke(args=["tokens", "issue", "罗定市人民法院", "--label", "x"])
    page = client.get(url).get_data(as_text=True)
    assert not RAW_TIME.search(page), RAW_TIME.search(page).group()
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d", page)


def test_the_local_time_is_beijing_time(app):
    from datetime import UTC, datetime

    from admin.views.formatters import local_time
    with app.test_request_context():
        assert local_time(datetime(2026, 12, 4, 14, 32, 6, 617800, tzinfo=UTC)) == \
            "2026-12-04 22:32"
        assert local_time(None) == ""


def test_the_favicon_is_there_and_cached(anonymous):
    with anonymous.get("/favicon.ico") as response:
        assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
        assert "max-age=604800" in response.headers["Cache-Control"]


def test_the_audit_trail_shows_what_changed_readably(client, session):
    person = session.scalar(select(Person).where(Person.name == "王五")) or Person(
        name="王五", phone="10007661111")
    session.add(person)
    session.flush()
    client.post(f"/admin/person/edit/?id={person.id}",
                data={"name": "王五", "phone": "10007662222"})
    page = client.get("/admin/audit/?search=" + str(person.id)).get_data(as_text=True)
    row = page[page.index('class="list-unstyled mb-0 gridlink-changes"'):]
    row = row[:row.index("</ul>")]
    assert "电话</span> 10007661111 → 10007662222" in row
    assert "{&#34;" not in page and '{"' not in row  # no raw JSON
    assert 'class="gridlink-audit"' in page  # the table kept inside the page
