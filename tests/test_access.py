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


# --- who acts on a court's matters (models.access: matters / matters_to_act_on) ---------
# The intermediate court reads the matters of every court under it (supervision) and acts
# only on its own; a base court acts on its own and its tribunals' matters.

CITY_COURT, YUNCHENG_COURT = "云浮市中级人民法院", "云浮市云城区人民法院"
YAOGU_TRIBUNAL = "云浮市云城区人民法院腰古人民法庭"
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
AMBIGUOUS_ADDRESS = "罗定市三和村"  # two towns of 罗定 have a 三和村: the review queue


def _file(session, court_name: str, case: str, address: str = XINGYAN_ADDRESS):
    from test_matter_pages import file_directly
    return file_directly(session, court_name, case, address)


def _reroute_target(session):
    return session.scalar(Grid.current().where(Grid.code == "445302001001"))


def _english(client):
    client.get("/lang/en")
    return client


@pytest.mark.parametrize("court_name", [YUNCHENG_COURT, YAOGU_TRIBUNAL])
def test_the_intermediate_court_reads_the_matters_of_the_courts_under_it(
        client_as, session, court_name):
    matter = _file(session, court_name, "（2026）粤5302执8801号")
    city = client_as("demo_court_city")
    assert matter.case_number in city.get("/admin/matter/").get_data(as_text=True)
    assert city.get(f"/admin/matter/details/?id={matter.id}").status_code == 200
    listed = city.get("/api/v1/matters").json["matters"]
    assert str(matter.id) in {m["id"] for m in listed}
    assert city.get(f"/api/v1/matters/{matter.id}").status_code == 200


def test_the_intermediate_court_cannot_act_on_a_base_courts_matter(client_as, session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8802号")
    grid_before = matter.primary_assignment.grid.code
    city = _english(client_as("demo_court_city"))
    page = city.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="gridlink-reroute"' not in page  # no form offered…
    target = _reroute_target(session)
    refused = city.post(f"/admin/matter/{matter.id}/reroute/",
                        data={"code": target.code, "reason": "改派"})
    assert refused.status_code == 403  # …and the step refused on the server
    session.expire_all()
    assert session.get(type(matter), matter.id).primary_assignment.grid.code == grid_before


def test_the_intermediate_court_does_not_work_a_base_courts_queue(client_as, session):
    waiting = _file(session, YUNCHENG_COURT, "（2026）粤5302执8803号", AMBIGUOUS_ADDRESS)
    assert waiting.state.value == "review"
    city = _english(client_as("demo_court_city"))
    assert waiting.case_number not in city.get("/admin/review_queue/").get_data(as_text=True)
    code = waiting.addresses[0].candidates[0]["code"]
    assert city.post(f"/admin/review_queue/{waiting.id}/pick/",
                     data={"code": code, "method": "candidate"}).status_code == 404
    page = city.get(f"/admin/matter/details/?id={waiting.id}").get_data(as_text=True)
    assert "Place it from the queue" not in page
    session.expire_all()
    assert session.get(type(waiting), waiting.id).state.value == "review"
    # The filing court works it.
    court = _english(client_as("demo_court_yuncheng"))
    assert waiting.case_number in court.get("/admin/review_queue/").get_data(as_text=True)
    court.post(f"/admin/review_queue/{waiting.id}/pick/",
               data={"code": code, "method": "candidate"})
    session.expire_all()
    assert session.get(type(waiting), waiting.id).state.value == "assigned"


def test_the_intermediate_court_acts_on_its_own_matters(client_as, session):
    own = _file(session, CITY_COURT, "（2026）粤53执8804号")
    city = _english(client_as("demo_court_city"))
    page = city.get(f"/admin/matter/details/?id={own.id}").get_data(as_text=True)
    assert 'id="gridlink-reroute"' in page
    target = _reroute_target(session)
    city.post(f"/admin/matter/{own.id}/reroute/", data={"code": target.code, "reason": "改派"})
    session.expire_all()
    assert session.get(type(own), own.id).primary_assignment.grid.code == target.code


def test_a_base_court_acts_on_its_tribunals_matters_but_not_the_intermediate_courts(
        client_as, session):
    tribunal = _file(session, YAOGU_TRIBUNAL, "（2026）粤5302执8805号")
    above = _file(session, CITY_COURT, "（2026）粤53执8806号")
    court = _english(client_as("demo_court_yuncheng"))
    target = _reroute_target(session)
    court.post(f"/admin/matter/{tribunal.id}/reroute/",
               data={"code": target.code, "reason": "改派"})
    session.expire_all()
    assert session.get(type(tribunal), tribunal.id).primary_assignment.grid.code == target.code
    # The court above is not under it: not even read.
    assert court.get(f"/admin/matter/details/?id={above.id}").status_code == 404
    assert court.post(f"/admin/matter/{above.id}/reroute/",
                      data={"code": target.code, "reason": "x"}).status_code == 404


def test_the_intermediate_courts_token_reads_but_files_only_for_itself(
        runner, anonymous, session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8807号")
    secret = runner.invoke(args=["tokens", "issue", CITY_COURT, "--label", "x"]).output.strip()
    auth = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get(f"/api/v1/matters/{matter.id}", headers=auth).status_code == 200
    filed = anonymous.post("/api/v1/matters", headers=auth, json={
        "case_number": "（2026）粤53执8808号", "matter_type": "service",
        "officer_name": "李明", "court": YUNCHENG_COURT,
        "debtor": {"kind": "person", "name": "王某"},
        "addresses": [{"kind": "habitual", "text": XINGYAN_ADDRESS}],
        "request": {"document_kinds": ["judgment"], "method": "direct"}})
    assert filed.status_code == 201, filed.json
    assert filed.json["court"] == CITY_COURT  # a "court" field is not obeyed


def test_the_intermediate_courts_spreadsheet_may_not_file_for_a_base_court(session):
    from admin.matter_intake import Courts
    from models.access import Scope
    from models.accounts import Role
    city = session.scalar(select(Court).where(Court.name == CITY_COURT))
    courts = Courts(session, Scope(Role.court_staff, None, city.id))
    assert courts.find(CITY_COURT)[1] is None
    court, problem = courts.find(YUNCHENG_COURT)
    assert court is None and problem is not None
    base = session.scalar(select(Court).where(Court.name == YUNCHENG_COURT))
    mine = Courts(session, Scope(Role.court_staff, None, base.id))
    assert mine.find(YAOGU_TRIBUNAL)[1] is None


def test_a_tribunal_reads_and_acts_on_its_own_matters_only(session):
    from models import Matter
    from models.access import Scope
    from models.accounts import Role
    own = _file(session, YAOGU_TRIBUNAL, "（2026）粤5302执8809号")
    base = _file(session, YUNCHENG_COURT, "（2026）粤5302执8810号")
    tribunal = session.scalar(select(Court).where(Court.name == YAOGU_TRIBUNAL))
    scope = Scope(Role.court_staff, None, tribunal.id)
    for rule in (scope.matters(), scope.matters_to_act_on()):
        seen = set(session.scalars(select(Matter.id).where(rule, Matter.id.in_([own.id,
                                                                               base.id]))))
        assert seen == {own.id}


# --- the steps of a matter's life (models.workflow) --------------------------------------
# Each step is its taker's alone: the roster's liaison of the matter's grid, the grid
# worker it was dispatched to, the court that filed it, the town centre of its town.

def _steps_of(session, matter):
    from models import MatterStep
    return session.scalars(select(MatterStep).where(MatterStep.matter_id == matter.id)).all()


@pytest.mark.parametrize(("username", "step", "data"), [
    ("demo_court_city", "cancel", {"reason": "settled"}),  # reads the base court's, no more
    ("demo_court_city", "chase", {}),
    ("demo_court_city", "escalate", {}),
    ("demo_town_liaison", "accept", {}),  # the town's liaison, not the village's
    ("demo_worker", "accept", {}),
    ("demo_court_yuncheng", "accept", {}),
    ("demo_town_centre", "cancel", {"reason": "settled"}),
    ("demo_worker", "dispatch", {"worker": "self"}),
    ("demo_liaison", "cancel", {"reason": "settled"}),
    ("demo_city_committee", "accept", {}),
])
def test_a_step_is_refused_to_anyone_whose_step_it_is_not(client_as, session, username, step,
                                                          data):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8901号")
    answer = client_as(username).post(f"/admin/matter/{matter.id}/step/{step}/",
                                      data={**data, "version": "0", "note": "越权"})
    assert answer.status_code == 403
    session.expire_all()
    assert session.get(type(matter), matter.id).state.value == "assigned"
    assert _steps_of(session, matter) == []


def test_the_intermediate_court_is_offered_no_step_on_a_base_courts_matter(client_as,
                                                                          session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8902号")
    page = client_as("demo_court_city").get(f"/admin/matter/details/?id={matter.id}")
    assert page.status_code == 200 and 'id="gridlink-actions"' not in page.get_data(
        as_text=True)


def test_a_liaison_of_another_grid_does_not_find_the_matter_to_step_on(client_as, session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8903号",
                   "云浮市云城区云城街道丰收村")
    for step in ("accept", "return"):
        answer = client_as("demo_liaison").post(f"/admin/matter/{matter.id}/step/{step}/",
                                                data={"note": "不是我们的"})
        assert answer.status_code == 404
    assert _steps_of(session, matter) == []


def test_a_grid_worker_it_was_not_dispatched_to_cannot_fail_it(client_as, session):
    from models import RosterRole, User
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8904号")
    me = session.scalar(select(User.person_id).where(User.username == "demo_worker"))
    other = session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == matter.primary_assignment.grid_id,
        RosterEntry.role == RosterRole.grid_worker, RosterEntry.person_id != me).limit(1))
    liaison = client_as("demo_liaison")
    liaison.post(f"/admin/matter/{matter.id}/step/accept/", data={})
    liaison.post(f"/admin/matter/{matter.id}/step/dispatch/",
                 data={"worker": str(other.person_id)})
    worker = client_as("demo_worker")
    assert 'id="gridlink-step-fail"' not in worker.get(
        f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert worker.post(f"/admin/matter/{matter.id}/step/fail/",
                       data={"reason": "refused"}).status_code == 403
    session.expire_all()
    assert session.get(type(matter), matter.id).state.value == "dispatched"


def test_the_town_centre_outside_its_town_finds_nothing_to_take(client_as, session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8905号", "云浮市云城区前锋镇")
    client_as("demo_court_yuncheng").post(f"/admin/matter/{matter.id}/step/escalate/",
                                          data={})
    session.expire_all()
    assert session.get(type(matter), matter.id).state.value == "escalated"
    centre = client_as("demo_town_centre")
    assert centre.get(f"/admin/matter/details/?id={matter.id}").status_code == 404
    assert centre.post(f"/admin/matter/{matter.id}/step/take/", data={}).status_code == 404
    assert centre.post(f"/admin/matter/{matter.id}/step/redispatch/",
                       data={"grid": "445302001001", "note": "抢过来"}).status_code == 404
    session.expire_all()
    assert session.get(type(matter), matter.id).state.value == "escalated"


def test_api_steps_are_refused_to_a_court_that_only_reads_or_does_not_see(
        runner, anonymous, session):
    matter = _file(session, YUNCHENG_COURT, "（2026）粤5302执8906号")
    url = f"/api/v1/matters/{matter.id}/steps"
    for court, status in ((CITY_COURT, 403), ("罗定市人民法院", 404)):
        secret = runner.invoke(args=["tokens", "issue", court, "--label", "x"]).output.strip()
        answer = anonymous.post(url, headers={"Authorization": f"Bearer {secret}"},
                                json={"step": "cancel", "reason": "settled"})
        assert answer.status_code == status and "error" in answer.json
    session.expire_all()
    assert session.get(type(matter), matter.id).state.value == "assigned"


@pytest.mark.parametrize(("length", "index"), [
    (12, "ix_matter_areas_village"), (9, "ix_matter_areas_town"),
    (6, "ix_matter_areas_county")])
def test_an_areas_matters_are_read_from_its_levels_index(session, length, index):
    """A liaison's matters are those with a current assignment to a grid whose code
    starts with their area's. They come from models.areas' index for the area's level,
    read alone (at province scale a town's were found through its 634 grids'
    assignments and each looked up: 17 ms before a single matter, on every list and home
    page of the town: bench/RESULTS.md, parts (i) and (k))."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from models import Matter
    from models.access import Scope
    from models.accounts import Role

    query = select(Matter.id).where(Scope(Role.liaison, XINGYAN[:length]).matters())
    sql = str(query.compile(dialect=postgresql.dialect(),
                            compile_kwargs={"literal_binds": True}))
    session.execute(text("SET LOCAL enable_seqscan = off"))  # the demo is small
    session.execute(text("SET LOCAL enable_bitmapscan = off"))
    plan = "\n".join(session.scalars(text("EXPLAIN " + sql)))
    assert f"Index Only Scan using {index}" in plan, plan
