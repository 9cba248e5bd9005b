"""A court officer's matters in real Chromium: a filing that names a demo village
lands with that village's liaison; one that names a village two towns share waits
in the review queue until the officer clicks the right candidate on the map; one
that names no place waits in the manual queue until the officer clicks where the
debtor lives. Every request stays on the app's own server."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Grid, Matter, MatterState, RosterEntry
from models.identity import id_check_character
from models.roster import RosterRole

pytestmark = pytest.mark.browser

TOWN = "445302001"  # 云城街道
VILLAGE = "丰收村"
AMBIGUOUS = "罗定市三和村"  # 分界镇 and 生江镇 both have a 三和村
CHOSEN_TOWN = "分界镇"


def id_number(serial: str) -> str:
    first17 = f"44530219900101{serial}"
    return first17 + id_check_character(first17)


@pytest.fixture
def officer(new_page):
    page = new_page()
    browser_sign_in(page, "demo_court_yuncheng")
    return page


def village(demo, name: str, town_code: str | None = None, town_name: str | None = None):
    demo.expire_all()
    query = Grid.current().where(Grid.name == name)
    if town_code:
        query = query.where(Grid.code.startswith(town_code))
    if town_name:
        query = query.where(Grid.parent_id.in_(select(Grid.id).where(Grid.name == town_name)))
    return demo.scalars(query).one()


def liaison(demo, grid) -> str:
    return demo.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == grid.id, RosterEntry.role == RosterRole.liaison)).person.name


def file(page, case: str, address: str, serial: str, artifacts=None) -> uuid.UUID:
    """Fill in the filing form as an officer does and send it; the new matter's id."""
    page.goto(page.base + "/admin/filing/")
    page.fill("#case_number", case)
    page.select_option("#matter_type", "find_property")
    page.check("#request-find_property-property_kinds-house")
    page.check("#credential-enforcement_basis")
    page.check("#credential-work_id")
    page.fill("#debtor_name", "黄某某")
    page.fill("#debtor_id_number", id_number(serial))
    page.fill("#debtor_phones", "10007661234")
    page.fill("#address-household-text", address)
    # The deadline follows the type: 30 days to find property.
    expect(page.locator("#deadline")).to_have_value(
        (date.today() + timedelta(days=30)).isoformat())
    if artifacts:
        page.screenshot(path=artifacts / "matters-form.png", full_page=True)
    page.click("#gridlink-file")
    page.wait_for_url(re.compile(r".*/admin/matter/details/\?id=.*"))
    return uuid.UUID(re.search(r"id=([0-9a-f-]{36})", page.url).group(1))


def stays_home(page):
    assert all(u.startswith(page.base + "/") for u in page.requests), \
        [u for u in page.requests if not u.startswith(page.base + "/")]


def test_a_filing_naming_a_village_lands_with_its_liaison(officer, demo, artifacts):
    grid = village(demo, VILLAGE, town_code=TOWN)
    name = liaison(demo, grid)
    matter_id = file(officer, "（2026）粤5302执3001号", f"云浮市云城区云城街道{VILLAGE}二组",
                     "301", artifacts)
    expect(officer.locator("#gridlink-state")).to_have_attribute("data-state", "assigned")
    expect(officer.locator(".alert-success.alert-dismissable")).to_contain_text(name)
    expect(officer.locator("#gridlink-where")).to_contain_text(VILLAGE)
    expect(officer.locator("#gridlink-matter-map")).to_have_attribute("data-background",
                                                                       "village")
    # The debtor's number is masked on the page.
    expect(officer.locator("#gridlink-debtor")).to_contain_text("445302********")
    officer.screenshot(path=artifacts / "matters-filed.png", full_page=True)
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.state is MatterState.assigned
    assert matter.primary_assignment.grid.code == grid.code
    officer.goto(officer.base + "/admin/matter/")
    expect(officer.locator("table.model-list")).to_contain_text("（2026）粤5302执3001号")
    officer.screenshot(path=artifacts / "matters-list.png", full_page=True)
    stays_home(officer)


def test_an_ambiguous_village_is_resolved_by_clicking_the_candidate(officer, demo, artifacts):
    target = village(demo, "三和村", town_name=CHOSEN_TOWN)
    matter_id = file(officer, "（2026）粤5302执3002号", AMBIGUOUS, "302")
    expect(officer.locator("#gridlink-state")).to_have_attribute("data-state", "review")
    officer.click("#gridlink-where a")  # to the review queue, at this matter
    card = officer.locator(f"#matter-{matter_id}")
    expect(card).to_have_class(re.compile("gridlink-selected"))
    expect(card.locator("form.gridlink-pick")).to_have_count(2)
    label = officer.locator(f'.gridlink-candidate-label span[data-code="{target.code}"]')
    expect(label).to_be_visible()
    expect(officer.locator(".gridlink-candidate-label span")).to_have_count(2)
    expect(officer.locator("#gridlink-queue-map")).to_have_attribute("data-background",
                                                                      re.compile("."))
    officer.screenshot(path=artifacts / "matters-review-queue.png", full_page=True)
    label.click()
    expect(officer.locator(".alert-success.alert-dismissable")).to_contain_text("（2026）粤5302执3002号")
    expect(officer.locator(f"#matter-{matter_id}")).to_have_count(0)
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.state is MatterState.assigned
    assert matter.primary_assignment.grid.code == target.code
    assert matter.primary_assignment.method == "candidate"
    officer.goto(officer.base + f"/admin/matter/details/?id={matter_id}")
    expect(officer.locator("#gridlink-matter-map")).to_have_attribute("data-background",
                                                                       "village")
    expect(officer.locator("#gridlink-assignments")).to_contain_text(target.code)
    officer.screenshot(path=artifacts / "matters-resolved.png", full_page=True)
    stays_home(officer)


def test_an_unplaced_matter_is_placed_by_a_click_on_the_map(officer, demo, artifacts):
    grid = village(demo, VILLAGE, town_code=TOWN)
    lon, lat = demo.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                            .where(Grid.id == grid.id)).one()
    matter_id = file(officer, "（2026）粤5302执3003号", "某某大道旁边的出租屋", "303")
    expect(officer.locator("#gridlink-state")).to_have_attribute("data-state", "manual")
    officer.goto(officer.base + f"/admin/manual_queue/#matter-{matter_id}")
    map_el = officer.locator("#gridlink-queue-map")
    expect(map_el).to_have_attribute("data-ready", "1")
    expect(officer.locator(f"#matter-{matter_id}")).to_have_class(
        re.compile("gridlink-selected"))
    officer.evaluate("([lat, lon]) => $('#gridlink-queue-map').data('map').setView([lat, lon], 14)",
                     [lat, lon])
    x, y = officer.evaluate(
        "([lat, lon]) => { const p = $('#gridlink-queue-map').data('map')"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    map_el.click(position={"x": x, "y": y})
    expect(map_el).to_have_attribute("data-picked", grid.code)
    confirm = officer.locator(f"#matter-{matter_id} form.gridlink-map-pick")
    expect(confirm).to_contain_text(VILLAGE)
    officer.screenshot(path=artifacts / "matters-manual-queue.png", full_page=True)
    confirm.locator("button").click()
    expect(officer.locator(".alert-success.alert-dismissable")).to_contain_text("（2026）粤5302执3003号")
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.state is MatterState.assigned
    assert matter.primary_assignment.grid.code == grid.code
    assert matter.primary_assignment.method == "map"
    stays_home(officer)


def test_a_liaison_returns_a_matter_and_the_court_places_it_again(officer, new_page, demo,
                                                                   artifacts):
    xingyan = village(demo, "星岩社区", town_code=TOWN)
    other = village(demo, VILLAGE, town_code=TOWN)
    matter_id = file(officer, "（2026）粤5302执3004号", "云浮市云城区云城街道星岩社区", "304")
    expect(officer.locator("#gridlink-where")).to_contain_text("星岩社区")

    grid = new_page()
    browser_sign_in(grid, "demo_liaison")
    grid.goto(grid.base + f"/admin/matter/details/?id={matter_id}")
    grid.fill("#return-reason", "被执行人户籍在丰收村，本社区无此人")
    grid.screenshot(path=artifacts / "matters-return.png", full_page=True)
    grid.click("#gridlink-return button[type=submit]")
    expect(grid.locator(".alert-success.alert-dismissable")).to_contain_text(
        "（2026）粤5302执3004号")
    demo.expire_all()
    assert demo.get(Matter, matter_id).state is MatterState.returned

    officer.goto(officer.base + f"/admin/review_queue/#matter-{matter_id}")
    card = officer.locator(f"#matter-{matter_id}")
    expect(card.locator(".gridlink-returned")).to_contain_text("本社区无此人")
    map_el = officer.locator("#gridlink-queue-map")
    expect(map_el).to_have_attribute("data-ready", "1")
    lon, lat = demo.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                            .where(Grid.id == other.id)).one()
    officer.evaluate("([lat, lon]) => $('#gridlink-queue-map').data('map').setView([lat, lon], 14)",
                     [lat, lon])
    x, y = officer.evaluate(
        "([lat, lon]) => { const p = $('#gridlink-queue-map').data('map')"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    map_el.click(position={"x": x, "y": y})
    expect(map_el).to_have_attribute("data-picked", other.code)
    card.locator("form.gridlink-map-pick button").click()
    expect(officer.locator(".alert-success.alert-dismissable")).to_contain_text(
        "（2026）粤5302执3004号")
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.primary_assignment.grid.code == other.code
    ended = [a for a in matter.assignments if a.ended_at]
    assert [a.grid.code for a in ended] == [xingyan.code]
    assert ended[0].end_reason == "被执行人户籍在丰收村，本社区无此人"
    stays_home(officer)
    stays_home(grid)


def test_the_court_reroutes_by_searching_for_the_grid(officer, demo, artifacts):
    target = village(demo, "土门村", town_code=TOWN)
    matter_id = file(officer, "（2026）粤5302执3005号", "云浮市云城区云城街道星岩社区", "305")
    officer.fill("#reroute-search", "土门")
    officer.click(f'#reroute-results [data-code="{target.code}"]')
    expect(officer.locator("#reroute-chosen")).to_contain_text(target.code)
    officer.fill("#reroute-reason", "债务人实际居住在土门村")
    officer.screenshot(path=artifacts / "matters-reroute.png", full_page=True)
    officer.click("#gridlink-reroute button[type=submit]")
    expect(officer.locator("#gridlink-where")).to_contain_text("土门村")
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.primary_assignment.grid.code == target.code
    assert matter.primary_assignment.method == "reroute"
    stays_home(officer)


def test_a_spreadsheet_is_checked_then_its_good_rows_filed_once(officer, demo, artifacts,
                                                                 tmp_path):
    from test_matter_intake import csv_bytes, good

    serial = 9100
    rows = [good(serial), good(serial + 1),
            good(serial + 2, {"案号": "2026执9102"}),  # not a case number
            good(serial + 3, {"证件号码": "445302199001010000"}),  # wrong check digit
            good(serial + 4)]
    path = tmp_path / "matters.csv"
    path.write_bytes(csv_bytes(rows))
    page = officer
    page.goto(page.base + "/admin/matter_import/")
    page.set_input_files("#gridlink-matter-upload input[type=file]", str(path))
    page.click("#gridlink-matter-upload button[type=submit]")
    expect(page.locator("[data-count=bad]")).to_have_text("2")
    expect(page.locator("[data-count=new]")).to_have_text("3")
    problems = page.locator("#gridlink-matter-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("案号")
    expect(problems.nth(1)).to_contain_text("证件号码")
    page.screenshot(path=artifacts / "matters-import.png", full_page=True)
    before = demo.scalar(select(func.count(Matter.id)))
    page.click("#gridlink-matter-commit button")
    expect(page.locator(".alert")).to_contain_text("3")
    demo.expire_all()
    assert demo.scalar(select(func.count(Matter.id))) == before + 3
    # The same file again: checked, nothing new to file.
    page.goto(page.base + "/admin/matter_import/")
    page.set_input_files("#gridlink-matter-upload input[type=file]", str(path))
    page.click("#gridlink-matter-upload button[type=submit]")
    expect(page.locator("[data-count=new]")).to_have_text("0")
    expect(page.locator("[data-count=duplicates]")).to_have_text("3")
