"""Attacks on scoping: each role tries to read and to change what is out of its scope,
through every route there is — pages, direct URLs, list filters, exports, ajax
lookups, the map layer and the API — and is refused or sees nothing."""

import re

import pytest
from sqlalchemy import select

from models import Court, Grid, RosterEntry

LUODING = "445381"  # a county outside 云城区
YUNCHENG = "445302"
XINGYAN = "445302001003"  # 星岩社区, in 云城街道 (445302001000)
QIANFENG_TOWN = "前锋镇"  # in 云城区 but not in 云城街道
CITY_BBOX = "110.5,21.8,113,23.8"

# role account → prefix of the codes it may see (None: the whole city)
SCOPED = {
    "demo_yuncheng_committee": YUNCHENG,
    "demo_town_centre": "445302001",
    "demo_town_liaison": "445302001",
    "demo_liaison": XINGYAN,
    "demo_worker": XINGYAN,
}
CITY_WIDE = ["demo_city_committee", "demo_court_yuncheng", "demo_court_city"]
NOT_ADMIN = list(SCOPED) + CITY_WIDE
ADMIN_ONLY = ["/admin/account/", "/admin/token/", "/admin/audit/", "/admin/person/",
              "/admin/address/", "/admin/account/new/", "/admin/token/new/"]


def codes_in(page: str) -> set[str]:
    return set(re.findall(r"\b(44\d{10})\b", page))


def listed_codes(page: str) -> set[str]:
    """Codes in the code column of a list (the parent column names the parent too)."""
    return set(re.findall(r'class="col-code">\s*(44\d{10})\s*<', page))


def grid_by_code(session, code):
    return session.scalar(Grid.current().where(Grid.code == code))


def a_luoding_grid(session):
    return session.scalar(Grid.current().where(Grid.code.startswith(LUODING + "1"))
                          .order_by(Grid.code).limit(1))


@pytest.mark.parametrize("url", ["/admin/", "/admin/grid/", "/admin/roster/", "/admin/court/",
                                 "/admin/grid/shapes/?level=town&bbox=" + CITY_BBOX,
                                 "/admin/grid/export/csv/", "/admin/audit/"])
def test_anonymous_is_sent_to_sign_in(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 302
    assert "/admin/auth/" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/api/v1/me", "/api/v1/grids", f"/api/v1/grids/{XINGYAN}"])
def test_anonymous_api_gets_401(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 401 and "error" in response.json


@pytest.mark.parametrize("username", NOT_ADMIN)
@pytest.mark.parametrize("url", ADMIN_ONLY)
def test_admin_pages_refused_to_others(client_as, username, url):
    assert client_as(username).get(url).status_code == 403


@pytest.mark.parametrize(("username", "prefix"), SCOPED.items())
def test_grid_list_shows_only_the_scope(client_as, username, prefix):
    client = client_as(username)
    page = client.get("/admin/grid/?page_size=100").get_data(as_text=True)
    codes = listed_codes(page)
    assert codes and all(c.startswith(prefix) for c in codes)
    # A list filter or a search for another county finds nothing.
    other = client.get(f"/admin/grid/?flt0_0={LUODING}").get_data(as_text=True)
    assert listed_codes(other) == set() and "罗定市" not in other
    assert not any(c.startswith(LUODING) for c in codes_in(
        client.get("/admin/grid/?search=罗").get_data(as_text=True)))


@pytest.mark.parametrize("username", CITY_WIDE)
def test_city_wide_roles_see_other_counties(client_as, username):
    page = client_as(username).get(f"/admin/grid/?flt0_0={LUODING}").get_data(as_text=True)
    assert any(c.startswith(LUODING) for c in codes_in(page))


@pytest.mark.parametrize("username", list(SCOPED))
@pytest.mark.parametrize("view", ["details", "edit"])
def test_direct_url_to_an_out_of_scope_grid_shows_nothing(client_as, session, username, view):
    target = a_luoding_grid(session)
    response = client_as(username).get(f"/admin/grid/{view}/?id={target.id}",
                                       follow_redirects=True)
    page = response.get_data(as_text=True)
    assert target.code not in page and target.name not in page


@pytest.mark.parametrize("username", list(SCOPED))
def test_map_layer_omits_what_is_out_of_scope(client_as, username):
    prefix = SCOPED[username]
    for level in ("county", "town", "village"):
        fc = client_as(username).get(f"/admin/grid/shapes/?level={level}&bbox={CITY_BBOX}").json
        assert all(f["properties"]["code"].startswith(prefix) for f in fc["features"])
    villages = client_as(username).get(f"/admin/grid/shapes/?level=village&bbox={CITY_BBOX}")
    assert villages.json["features"]  # its own grids are drawn


@pytest.mark.parametrize(("username", "prefix"), SCOPED.items())
def test_export_holds_only_the_scope(client_as, username, prefix):
    csv = client_as(username).get("/admin/grid/export/csv/").get_data(as_text=True)
    codes = {line.split(",")[0] for line in csv.splitlines()[1:]}
    assert codes and all(c.startswith(prefix) for c in codes)


@pytest.mark.parametrize("username", NOT_ADMIN)
def test_ajax_lookups_refused_to_readers(client_as, username):
    for url in ("/admin/grid/ajax/lookup/?name=parent&query=罗",
                "/admin/roster/ajax/lookup/?name=person&query=陈",
                "/admin/court/ajax/lookup/?name=grids&query=镇"):
        assert client_as(username).get(url).status_code == 403, url


def test_admin_ajax_lookup_works(client):
    found = client.get("/admin/grid/ajax/lookup/?name=parent&query=罗定").json
    assert any("罗定市" in text for _, text in found)


@pytest.mark.parametrize(("username", "prefix"), SCOPED.items())
def test_roster_shows_only_the_scope(client_as, username, prefix):
    page = client_as(username).get("/admin/roster/?page_size=100").get_data(as_text=True)
    assert codes_in(page) and all(c.startswith(prefix) for c in codes_in(page))


@pytest.mark.parametrize("username", NOT_ADMIN)
def test_readers_cannot_change_a_grid(client_as, session, username):
    village = grid_by_code(session, XINGYAN)
    client = client_as(username)
    client.post(f"/admin/grid/edit/?id={village.id}", data={
        "code": village.code, "name": "被改名", "level": "village",
        "parent": str(village.parent_id)})
    client.post("/admin/grid/new/", data={"code": "445302001299", "name": "冒充村",
                                          "level": "village", "parent": str(village.parent_id)})
    session.expire_all()
    assert grid_by_code(session, XINGYAN).name == "星岩社区"
    assert grid_by_code(session, "445302001299") is None


@pytest.mark.parametrize("username", NOT_ADMIN)
def test_readers_cannot_change_roster_or_courts(client_as, session, username):
    entry = session.scalar(select(RosterEntry).join(Grid).where(Grid.code == XINGYAN).limit(1))
    court = session.scalar(select(Court).where(Court.name == "罗定市人民法院"))
    client = client_as(username)
    client.post(f"/admin/roster/edit/?id={entry.id}", data={
        "grid": str(entry.grid_id), "role": entry.role.value, "person": str(entry.person_id),
        "valid_from": "2020-01-01", "valid_to": "2020-02-01"})
    client.post("/admin/court/delete/", data={"id": str(court.id)})
    client.post(f"/admin/court/edit/?id={court.id}", data={"name": "改名法院",
                                                            "kind": "base"})
    session.expire_all()
    assert session.get(RosterEntry, entry.id).valid_to is None
    assert session.get(Court, court.id).name == "罗定市人民法院"


def test_admin_can_change_what_readers_cannot(client, session):
    village = grid_by_code(session, XINGYAN)
    geom = client.get(f"/admin/grid/edit/?id={village.id}").get_data(as_text=True)
    text = re.search(r'data-role="gridlink-map"[^>]*>([^<]*)</textarea>', geom).group(1)
    client.post(f"/admin/grid/edit/?id={village.id}", data={
        "code": village.code, "name": "星岩社区", "level": "village",
        "parent": str(village.parent_id), "geom": text.replace("&#34;", '"')})
    court = session.scalar(select(Court).where(Court.name == "罗定市人民法院"))
    client.post(f"/admin/court/edit/?id={court.id}", data={
        "name": "罗定市人民法院（改）", "kind": "base", "county_code": LUODING})
    session.expire_all()
    assert session.get(Court, court.id).name == "罗定市人民法院（改）"


# --- personal data ---------------------------------------------------------------------

MASKED = re.compile(r"\b100\*{4}\d{4}\b")
FULL = re.compile(r"\b1000766\d{4}\b")


@pytest.mark.parametrize("username", ["demo_admin", *NOT_ADMIN])
def test_phones_are_masked_in_roster_lists_and_exports(client_as, username):
    client = client_as(username)
    page = client.get(f"/admin/roster/?search={XINGYAN}").get_data(as_text=True)
    export = client.get("/admin/roster/export/csv/").get_data(as_text=True)
    assert MASKED.search(page) and not FULL.search(page)
    assert MASKED.search(export) and not FULL.search(export)


@pytest.mark.parametrize(("username", "allowed"), [
    ("demo_court_yuncheng", True), ("demo_liaison", True), ("demo_town_centre", True),
    ("demo_admin", True), ("demo_worker", False), ("demo_city_committee", False),
])
def test_revealing_a_phone_is_for_those_who_need_it_and_audited(client_as, session,
                                                               username, allowed):
    entry = session.scalar(select(RosterEntry).join(Grid).where(Grid.code == XINGYAN).limit(1))
    response = client_as(username).get(f"/admin/roster/reveal/?id={entry.id}")
    if not allowed:
        assert response.status_code == 403
        return
    assert response.json["phone"] == entry.person.phone
    audit = client_as("demo_admin").get("/admin/audit/?search=" + username).get_data(
        as_text=True)
    assert "查看电话" in audit  # reveal_phone, as the trail page names it


def test_a_liaison_cannot_reveal_a_phone_outside_its_grid(client_as, session):
    entry = session.scalar(select(RosterEntry).join(Grid).where(
        Grid.code.startswith(LUODING)).limit(1))
    assert client_as("demo_liaison").get(f"/admin/roster/reveal/?id={entry.id}").status_code \
        == 404


# --- the API ---------------------------------------------------------------------------

@pytest.mark.parametrize("username", list(SCOPED))
def test_api_answers_out_of_scope_as_not_found(client_as, session, username):
    client = client_as(username)
    target = a_luoding_grid(session)
    assert client.get(f"/api/v1/grids/{target.code}").status_code == 404
    listed = client.get("/api/v1/grids?limit=1000").json["grids"]
    assert listed and all(g["code"].startswith(SCOPED[username]) for g in listed)


def test_api_grid_names_its_liaison_with_a_masked_phone(client_as):
    data = client_as("demo_court_yuncheng").get(f"/api/v1/grids/{XINGYAN}").json
    assert data["name"] == "星岩社区" and data["parent_code"] == "445302001000"
    assert MASKED.fullmatch(data["liaison"]["phone"])


def test_api_phone_reveal_is_refused_to_workers(client_as):
    assert client_as("demo_worker").get(
        f"/api/v1/grids/{XINGYAN}/liaison/phone").status_code == 403
    full = client_as("demo_court_yuncheng").get(f"/api/v1/grids/{XINGYAN}/liaison/phone").json
    assert FULL.fullmatch(full["phone"])


def test_api_has_no_writes(client_as):
    client = client_as("demo_admin")
    for method in (client.post, client.put, client.delete):
        assert method(f"/api/v1/grids/{XINGYAN}", json={"name": "x"}).status_code == 405
