"""Journeys in real headless Chromium, one account per role: signing in and out,
seeing only what the account's scope holds, being refused out-of-scope pages, and
phone numbers that stay masked until someone allowed asks (and is audited)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_PASSWORD, browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from models import Grid, GridLevel, RosterEntry

pytestmark = pytest.mark.browser

DIVISIONS = Path(__file__).resolve().parent.parent / "seeds" / "yunfu-divisions.tsv"
MASKED = re.compile(r"\d{3}\*{4}\d{4}")
FULL_PHONE = re.compile(r"(?<!\d)\d{11}(?!\d)")  # not a piece of a 12-digit division code
SYSTEM_PAGES = ("/admin/account/", "/admin/token/", "/admin/audit/")


def _divisions() -> list[dict]:
    with DIVISIONS.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _counts(county: str | None = None, town: str | None = None) -> tuple[int, int, int]:
    """(counties, towns, villages) in the published division list, narrowed to a
    county and a town: what an account bound to that area answers for."""
    rows = [r for r in _divisions()
            if (county is None or r["county"] == county) and (town is None or r["town"] == town)]
    return (len({r["county"] for r in rows}), len({(r["county"], r["town"]) for r in rows}),
            len(rows))


def only_local(page):
    outside = [u for u in page.requests if not u.startswith(page.base + "/")]
    assert page.requests and outside == []


def fetch_status(page, path: str) -> int:
    """What the server answers this browser (its cookies) for a same-site GET."""
    return page.evaluate("url => fetch(url).then(r => r.status)", page.base + path)


def fetch_json(page, path: str):
    return page.evaluate("url => fetch(url).then(r => r.json())", page.base + path)


def system_menu(page):
    return page.locator("nav a.dropdown-toggle", has_text=re.compile(r"^\s*系统\s*$"))


# --- 1. signing in ----------------------------------------------------------------------

def test_sign_in_page_speaks_chinese_and_keeps_the_username(anonymous_page, artifacts):
    page = anonymous_page
    page.goto(page.base + "/admin/")
    # Nobody is signed in: the dashboard sends them to the form, remembering where to go.
    url = urlsplit(page.url)
    assert url.path == "/admin/auth/"
    assert parse_qs(url.query)["next"][0].startswith("/admin/")
    expect(page.locator("h3")).to_have_text("登录")
    expect(page.locator("label[for=username]")).to_have_text("用户名")
    expect(page.locator("label[for=password]")).to_have_text("密码")
    assert page.locator("#gridlink-account").count() == 0
    assert system_menu(page).count() == 0

    page.fill("#username", "demo_admin")
    page.fill("#password", "not-the-password")
    page.click("#gridlink-login button[type=submit]")
    expect(page.locator(".alert-danger")).to_contain_text("用户名或密码错误")
    expect(page.locator("#username")).to_have_value("demo_admin")  # no need to type it again
    expect(page.locator("#password")).to_have_value("")  # the wrong password is not echoed
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / "login.png", full_page=True)

    # The right password, from the same form, lands on the page first asked for.
    page.fill("#password", DEMO_PASSWORD)
    page.click("#gridlink-login button[type=submit]")
    page.wait_for_url(page.base + "/admin/")
    expect(page.locator("#gridlink-account")).to_contain_text("系统管理员（演示）")
    only_local(page)


# --- 2. each role's dashboard -----------------------------------------------------------

CITY = _counts()
YUNCHENG = _counts("云城区")
YUNCHENG_STREET = _counts("云城区", "云城街道")
ALL_COUNTIES = ["云城区", "云安区", "新兴县", "郁南县", "罗定市"]

# username: (counties in the table, county, town and village totals, shapes on the map)
# A county grid's code ends in 000000 and a town's in 000, so the county is in the
# scope of a county committee only, and the town in that of town-level accounts. The
# overview map draws towns for city- and county-wide accounts, and villages for those
# who answer for a town or a village: their own grids, nothing out of scope.
DASHBOARDS = {
    "demo_admin": (ALL_COUNTIES, CITY[0], CITY[1], CITY[2], CITY[1]),
    "demo_city_committee": (ALL_COUNTIES, CITY[0], CITY[1], CITY[2], CITY[1]),
    "demo_yuncheng_committee": (["云城区"], 1, YUNCHENG[1], YUNCHENG[2], YUNCHENG[1]),
    "demo_town_centre": (["云城区"], 0, 1, YUNCHENG_STREET[2], YUNCHENG_STREET[2]),
}
# A grid's people see their grid first: its name, its matters, its villages on the map.
GRID_HOMES = {"demo_town_liaison": ("云城街道", YUNCHENG_STREET[2]),
              "demo_liaison": ("星岩社区", 1), "demo_worker": ("星岩社区", 1)}


@pytest.mark.parametrize("username", list(DASHBOARDS))
def test_dashboard_counts_and_maps_only_what_the_account_answers_for(
        anonymous_page, artifacts, username):
    counties, n_counties, n_towns, n_villages, n_shapes = DASHBOARDS[username]
    page = anonymous_page
    browser_sign_in(page, username)
    page.wait_for_url(page.base + "/admin/")
    overview = page.locator("[data-role=gridlink-overview][data-loaded]")
    overview.wait_for()

    assert page.locator(".gridlink-stat[data-level=county]").inner_text() == str(n_counties)
    assert page.locator(".gridlink-stat[data-level=town]").inner_text() == str(n_towns)
    assert page.locator(".gridlink-stat[data-level=village]").inner_text() == str(n_villages)
    rows = page.locator("#gridlink-counties tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] \
        == sorted(counties, key=ALL_COUNTIES.index)
    if len(counties) == 1:  # the one county's row counts only what is in scope
        cells = rows.first.locator("td").all_inner_texts()
        assert cells[1:3] == [str(n_towns), str(n_villages)]
    assert int(overview.get_attribute("data-loaded")) == n_shapes

    if n_villages < CITY[2]:  # the map's village layer, asked for the whole city, is cut too
        villages = fetch_json(page, "/admin/grid/shapes/?level=village&bbox=110.5,21.8,113,23.8")
        assert len(villages["features"]) == n_villages
        if n_villages == 1:
            assert villages["features"][0]["properties"]["name"] == "星岩社区"

    # Only the administrator has the System menu: accounts, API tokens, audit trail.
    if username == "demo_admin":
        system_menu(page).click()
        items = page.locator("nav .dropdown-menu.show a.dropdown-item")
        expect(items).to_have_text(["账号", "接口令牌", "审计日志"])
        assert page.locator(".gridlink-stat[data-total=addresses]").count() == 1
    else:
        assert system_menu(page).count() == 0
        for path in SYSTEM_PAGES:
            assert page.locator(f'nav a[href="{path}"]').count() == 0
        assert page.locator(".gridlink-stat[data-total=addresses]").count() == 0
    only_local(page)


@pytest.mark.parametrize("username", list(GRID_HOMES))
def test_a_grid_home_names_the_grid_and_maps_it_on_a_phone(new_page, artifacts, username):
    name, n_shapes = GRID_HOMES[username]
    page = new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    browser_sign_in(page, username)
    assert not [u for u in page.requests if "leaflet" in u]  # the map when asked for
    page.click("#gridlink-show-map")
    overview = page.locator("[data-role=gridlink-overview][data-loaded]")
    overview.wait_for()
    assert page.locator("#gridlink-home-title").inner_text() == f"我的网格：{name}"
    assert int(overview.get_attribute("data-loaded")) == n_shapes
    assert page.locator("#gridlink-open").count() == 1
    labels = page.locator(".gridlink-home-map .gridlink-label").all_inner_texts()
    assert len(labels) == n_shapes and (n_shapes > 1 or labels == [name])  # named, not blank
    assert system_menu(page).count() == 0
    if username == "demo_liaison":
        page.wait_for_load_state("networkidle")
        page.screenshot(path=artifacts / "home-liaison.png", full_page=True)
    only_local(page)


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
def test_the_matter_list_reads_row_by_row_on_a_phone(new_page, artifacts, username):
    """At 360 px each row of the list is one line high and the table scrolls sideways
    inside the page: squeezed to the screen's width, every cell wrapped a word a line
    and one matter filled the screen."""
    page = new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    browser_sign_in(page, username)
    page.goto(page.base + "/admin/matter/")
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() >= 3
    heights = [rows.nth(i).bounding_box()["height"] for i in range(3)]
    assert max(heights) < 60, heights
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    table = page.locator(".table-responsive")
    assert table.evaluate("e => e.scrollWidth > e.clientWidth")  # the rest, sideways
    if username == "demo_worker":
        page.screenshot(path=artifacts / "matter-list-phone.png")
    only_local(page)


@pytest.mark.parametrize("username", ["demo_court_yuncheng", "demo_court_city"])
def test_a_court_home_lists_what_waits_and_what_is_overdue(new_page, artifacts, username):
    page = new_page()
    browser_sign_in(page, username)
    assert page.locator("#gridlink-waiting").count() == 1
    assert page.locator("#gridlink-overdue").count() == 1
    assert page.locator("[data-role=gridlink-overview]").count() == 0
    assert not [u for u in page.requests if "leaflet" in u]  # no map, no map library
    if username == "demo_court_yuncheng":
        page.screenshot(path=artifacts / "home-court.png", full_page=True)


# --- 3. direct URLs -----------------------------------------------------------------------

def test_grid_worker_typing_urls_is_refused(anonymous_page, demo):
    page = anonymous_page
    browser_sign_in(page, "demo_worker")
    outside = demo.scalar(Grid.current().where(Grid.name == "前锋镇",
                                               Grid.level == GridLevel.town))
    own = demo.scalar(Grid.current().where(Grid.name == "星岩社区",
                                           Grid.code.startswith("445302001")))

    # System pages: 403, said in Chinese, nothing of the accounts or the trail in it.
    for path in SYSTEM_PAGES:
        response = page.goto(page.base + path)
        assert response.status == 403, path
        expect(page.locator("#gridlink-error h3")).to_have_text("无权访问")
        assert "demo_admin" not in page.content()

    # Grids are readable, not writable: the new-grid form sends back to the list,
    # which holds the worker's own village only.
    response = page.goto(page.base + "/admin/grid/new/")
    assert response.request.redirected_from is not None
    assert page.url == page.base + "/admin/grid/"
    assert page.locator("form.admin-form").count() == 0
    expect(page.locator("table.model-list tbody tr")).to_have_count(1)
    expect(page.locator("table.model-list tbody")).to_contain_text(own.code)

    # Editing any grid is refused the same way (a worker edits none): no form, and
    # nothing of the other town shown.
    page.goto(f"{page.base}/admin/grid/edit/?id={outside.id}")
    assert page.url == page.base + "/admin/grid/"
    assert page.locator("form.admin-form").count() == 0
    assert "前锋镇" not in page.content() and outside.code not in page.content()

    # Reading it: as if it did not exist.
    page.goto(f"{page.base}/admin/grid/details/?id={outside.id}")
    assert page.url == page.base + "/admin/grid/"
    expect(page.locator(".alert-danger")).to_contain_text("记录不存在")
    assert "前锋镇" not in page.content() and outside.code not in page.content()
    # ...while the worker's own village opens.
    page.goto(f"{page.base}/admin/grid/details/?id={own.id}")
    expect(page.locator("table")).to_contain_text(own.code)
    only_local(page)


# --- 4. masked phone numbers -----------------------------------------------------------

def phone_cells(page):
    return page.locator('table.model-list td[class="col-person.phone"]')


def test_court_staff_reveal_a_phone_and_the_admin_sees_it_audited(new_page, artifacts):
    court = new_page()
    browser_sign_in(court, "demo_court_yuncheng")
    court.goto(court.base + "/admin/roster/")
    cells = phone_cells(court)
    cells.first.wait_for()
    texts = cells.all_inner_texts()
    assert texts and all(re.fullmatch(MASKED.pattern + r" 显示", t.strip()) for t in texts)
    assert not FULL_PHONE.search(court.locator("table.model-list").inner_text())

    first = cells.first
    masked = MASKED.search(first.inner_text()).group()
    button = first.locator("button.gridlink-reveal")
    entry_id = parse_qs(urlsplit(button.get_attribute("data-url")).query)["id"][0]
    button.click()
    expect(first).to_have_text(re.compile(r"^\s*\d{11}\s*$"))
    full = first.inner_text().strip()
    assert full[:3] == masked[:3] and full[-4:] == masked[-4:]
    expect(cells.nth(1)).to_contain_text("****")  # the other rows stay masked
    court.wait_for_load_state("networkidle")
    court.screenshot(path=artifacts / "roster-court.png", full_page=True)
    only_local(court)

    admin = new_page()
    browser_sign_in(admin, "demo_admin")
    admin.goto(admin.base + "/admin/audit/")
    rows = admin.locator("table.model-list tbody tr")
    shown = rows.filter(has=admin.locator("td.col-action", has_text="查看电话")) \
        .filter(has=admin.locator("td.col-changes", has_text=entry_id))
    expect(shown).to_have_count(1)
    expect(shown.locator("td.col-actor")).to_have_text("demo_court_yuncheng")
    expect(shown.locator("td.col-entity")).to_have_text("人员")  # person
    assert full not in shown.inner_text()  # the trail records the showing, not the number
    admin.wait_for_load_state("networkidle")
    admin.screenshot(path=artifacts / "audit.png")  # the newest records; the page is long
    only_local(admin)


def test_grid_worker_gets_no_show_button_and_cannot_reveal(anonymous_page, demo):
    page = anonymous_page
    browser_sign_in(page, "demo_worker")
    page.goto(page.base + "/admin/roster/")
    cells = phone_cells(page)
    cells.first.wait_for()
    texts = [t.strip() for t in cells.all_inner_texts()]
    assert texts and all(MASKED.fullmatch(t) for t in texts)
    assert page.locator("button.gridlink-reveal").count() == 0
    assert "显示" not in page.locator("table.model-list").inner_text()

    # Asking the server directly does not help either.
    entry = demo.scalar(select(RosterEntry).join(RosterEntry.grid)
                        .where(Grid.name == "星岩社区", Grid.code.startswith("445302001")))
    assert fetch_status(page, f"/admin/roster/reveal/?id={entry.id}") == 403
    only_local(page)


# --- 5. signing out ----------------------------------------------------------------------

def test_sign_out_returns_to_the_sign_in_form_for_good(anonymous_page):
    page = anonymous_page
    browser_sign_in(page, "demo_town_centre")
    page.goto(page.base + "/admin/roster/")
    page.click("#gridlink-account button[type=submit]")
    page.wait_for_url(page.base + "/admin/auth/")
    expect(page.locator("#gridlink-login")).to_be_visible()
    assert page.locator("#gridlink-account").count() == 0

    for path in ("/admin/", "/admin/roster/"):
        page.goto(page.base + path)
        url = urlsplit(page.url)
        assert url.path == "/admin/auth/", path
        assert parse_qs(url.query)["next"][0].startswith(path)
    # The map layer too: the browser is sent to the form, not given shapes.
    landed = page.evaluate("url => fetch(url).then(r => [r.redirected, new URL(r.url).pathname])",
                           page.base + "/admin/grid/shapes/?level=town&bbox=110.5,21.8,113,23.8")
    assert landed == [True, "/admin/auth/"]
    only_local(page)
