"""查找网格 in real Chromium: court staff type an address or click the map and see the
grid outlined, its liaison (phone masked until shown), grid workers and courts; a
name that fits two villages lists both; nothing is fetched from outside."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import func, select, text

from models import Grid, GridLevel, RosterEntry, RosterRole

pytestmark = pytest.mark.browser

XINGYAN = "445302001003"
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
GAOCUN = "云安区高村镇高村"
FOUND_STROKE = "#d9480f"
CANDIDATE_STROKE = "#7048e8"
MASKED = re.compile(r"\d{3}\*{4}\d{4}")
THE_MAP = "$('#gridlink-locate-map').data('map')"


def only_local(page):
    outside = [u for u in page.requests if not u.startswith(page.base + "/")]
    assert page.requests and outside == []


@pytest.fixture
def court(new_page):
    """The Yunyun district court's enforcement officer, on the locate page."""
    page = new_page()
    browser_sign_in(page, "demo_court_yuncheng")
    page.goto(page.base + "/admin/locate/")
    return page


def liaison_of(demo, code: str) -> RosterEntry:
    return demo.scalar(RosterEntry.current().join(Grid, Grid.id == RosterEntry.grid_id).where(
        Grid.code == code, RosterEntry.role == RosterRole.liaison))


def ask(page, address: str) -> None:
    page.fill("#gridlink-address", address)
    page.click("#gridlink-locate-form button[type=submit]")


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # the map's last pan and its labels


def test_court_staff_find_the_grid_of_an_address(court, demo, artifacts):
    page = court
    expect(page.locator("nav")).to_contain_text("查找网格")
    ask(page, XINGYAN_ADDRESS)
    card = page.locator("#gridlink-locate-card[data-status=matched]")
    expect(card).to_be_visible()
    expect(page.locator("#gridlink-locate-status")).to_have_text("已找到")
    expect(page.locator("#gridlink-locate-grid")).to_have_attribute("data-code", XINGYAN)
    expect(page.locator("#gridlink-locate-path")).to_have_text("云城区 › 云城街道 › 星岩社区")
    expect(page.locator("#gridlink-locate-method")).to_have_text("按行政区划名称")

    entry = liaison_of(demo, XINGYAN)
    liaison = page.locator("#gridlink-locate-liaison")
    expect(liaison).to_contain_text(entry.person.name)
    assert MASKED.fullmatch(liaison.locator(".gridlink-phone").inner_text())
    assert entry.person.phone not in page.content()
    workers = demo.scalar(select(func.count()).select_from(RosterEntry.current().join(
        Grid, Grid.id == RosterEntry.grid_id).where(
        Grid.code == XINGYAN, RosterEntry.role == RosterRole.grid_worker).subquery()))
    expect(page.locator("#gridlink-locate-workers li")).to_have_count(workers)
    expect(page.locator("#gridlink-locate-courts li").first).to_contain_text("云浮市云城区人民法院")

    outline = page.locator(f'#gridlink-locate-map path[stroke="{FOUND_STROKE}"]')
    expect(outline).to_have_count(1)
    box = outline.bounding_box()
    assert box["width"] > 40 and box["height"] > 40  # zoomed to the grid, not a dot
    assert parse_qs(urlsplit(page.url).query)["q"] == [XINGYAN_ADDRESS]  # a link to this answer
    settle(page)
    page.screenshot(path=artifacts / "locate-address.png", full_page=True)

    page.click("#gridlink-locate-reveal")  # the full number, audited on the server
    expect(liaison.locator(".gridlink-phone")).to_have_text(entry.person.phone)
    only_local(page)


def test_a_click_on_the_map_finds_the_grid_there(court, demo, artifacts):
    page = court
    yaogu = demo.scalar(Grid.current().where(Grid.name == "腰古镇"))
    village = demo.scalar(Grid.current().where(Grid.parent_id == yaogu.id).order_by(Grid.code))
    point = func.ST_PointOnSurface(Grid.geom)
    lon, lat = demo.execute(select(func.ST_X(point), func.ST_Y(point))
                            .where(Grid.id == village.id)).one()
    page.wait_for_function(f"() => {THE_MAP} !== undefined")
    page.evaluate(f"{THE_MAP}.setView([{lat}, {lon}], 13, {{animate: false}})")
    where = page.evaluate(f"{THE_MAP}.latLngToContainerPoint([{lat}, {lon}])")
    page.locator("#gridlink-locate-map").click(position={"x": where["x"], "y": where["y"]})

    expect(page.locator("#gridlink-locate-card[data-status=matched]")).to_be_visible()
    expect(page.locator("#gridlink-locate-grid")).to_have_attribute("data-code", village.code)
    expect(page.locator("#gridlink-locate-method")).to_have_text("按地图位置")
    expect(page.locator("#gridlink-locate-path")).to_have_text(
        f"云城区 › 腰古镇 › {village.name}")
    # A village of a town with a people's tribunal: the tribunal comes first.
    expect(page.locator("#gridlink-locate-courts li").first).to_contain_text("腰古人民法庭")
    expect(page.locator(f'#gridlink-locate-map path[stroke="{FOUND_STROKE}"]')).to_have_count(1)
    assert "lonlat" in parse_qs(urlsplit(page.url).query)
    settle(page)
    page.screenshot(path=artifacts / "locate-click.png", full_page=True)
    only_local(page)


def test_a_name_of_two_villages_lists_both_and_shows_the_one_chosen(court, demo, artifacts):
    page = court
    ask(page, GAOCUN)
    expect(page.locator("#gridlink-locate-card[data-status=ambiguous]")).to_be_visible()
    expect(page.locator("#gridlink-locate-status")).to_have_text("有多个网格符合")
    items = page.locator("#gridlink-locate-candidates [data-code]")
    expect(items).to_have_count(2)
    codes = [items.nth(i).get_attribute("data-code") for i in range(2)]
    assert len(set(codes)) == 2 and all(c.startswith("445303") for c in codes)
    expect(page.locator(f'#gridlink-locate-map path[stroke="{CANDIDATE_STROKE}"]')).to_have_count(2)
    assert page.locator("#gridlink-locate-liaison").count() == 0  # no guess
    settle(page)
    page.screenshot(path=artifacts / "locate-ambiguous.png", full_page=True)

    items.nth(1).click()
    expect(page.locator("#gridlink-locate-grid")).to_have_attribute("data-code", codes[1])
    expect(page.locator("#gridlink-locate-liaison")).to_contain_text(
        liaison_of(demo, codes[1]).person.name)
    expect(page.locator(f'#gridlink-locate-map path[stroke="{FOUND_STROKE}"]')).to_have_count(1)
    expect(page.locator(f'#gridlink-locate-map path[stroke="{CANDIDATE_STROKE}"]')).to_have_count(1)
    settle(page)
    page.screenshot(path=artifacts / "locate-ambiguous-chosen.png", full_page=True)
    only_local(page)


def test_a_place_outside_the_area_says_why_in_chinese(new_page, demo, artifacts):
    page = new_page()
    browser_sign_in(page, "demo_liaison")
    luoding = demo.scalar(Grid.current().where(Grid.code.startswith("445381"),
                                               Grid.level == GridLevel.town).order_by(Grid.code))
    page.goto(page.base + "/admin/locate/?q=" + "罗定市" + luoding.name)
    expect(page.locator("#gridlink-locate-card[data-status=unmatched]")).to_be_visible()
    expect(page.locator("#gridlink-locate-status")).to_have_text("未找到")
    expect(page.locator("#gridlink-locate-reason")).to_have_text("该地点不在您账号负责的范围内。")
    assert luoding.code not in page.content()
    settle(page)
    page.screenshot(path=artifacts / "locate-unmatched.png", full_page=True)
    only_local(page)


def test_a_point_on_a_shared_edge_lists_both_grids_and_shows_the_rules_pick(court, demo,
                                                                            artifacts):
    page = court
    neighbour, lon, lat = demo.execute(text("""
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
        ORDER BY edge.code, ST_X(pt), ST_Y(pt) LIMIT 1"""), {"code": XINGYAN}).one()
    page.goto(f"{page.base}/admin/locate/?lonlat={lon!r},{lat!r}")
    expect(page.locator("#gridlink-locate-card[data-status=matched]")).to_be_visible()
    items = page.locator("#gridlink-locate-candidates [data-code]")
    expect(items).to_have_count(2)
    assert {items.nth(i).get_attribute("data-code") for i in range(2)} == {XINGYAN, neighbour}
    expect(page.locator("#gridlink-locate-candidates .active")).to_have_attribute(
        "data-code", XINGYAN)  # the lowest code answers, by rule
    expect(page.locator("#gridlink-locate-flags")).to_contain_text("位于网格交界处")
    expect(page.locator("#gridlink-locate-grid")).to_have_attribute("data-code", XINGYAN)
    expect(page.locator("#gridlink-locate-liaison")).to_contain_text(
        liaison_of(demo, XINGYAN).person.name)
    expect(page.locator(f'#gridlink-locate-map path[stroke="{FOUND_STROKE}"]')).to_have_count(1)
    expect(page.locator(f'#gridlink-locate-map path[stroke="{CANDIDATE_STROKE}"]')).to_have_count(1)
    settle(page)
    page.screenshot(path=artifacts / "locate-shared-edge.png", full_page=True)

    items.filter(has_text=neighbour).click()
    expect(page.locator("#gridlink-locate-grid")).to_have_attribute("data-code", neighbour)
    only_local(page)
