"""The committee maps in real headless Chromium, as the Yuncheng county committee:
its county only, clusters that open into matters, a masked summary that outlines
the matter's grid, and a choropleth with its legend, all in Chinese."""

from __future__ import annotations

import re

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import delete

from geo.map_counts import refresh_map_counts
from models import clock
from models.map_counts import MapCount

pytestmark = pytest.mark.browser

YUNCHENG = "445302"
MAP = "#gridlink-committee-map"
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

DRAWN = """() => {
  const map = $('#gridlink-committee-map').data('map'), codes = [];
  map.eachLayer(l => { if (l.feature) { codes.push(l.feature.properties.code); } });
  return codes;
}"""


def loaded(page):
    page.wait_for_selector(f"{MAP}[data-areas]:not([data-loading])")
    page.wait_for_load_state("networkidle")


def no_english(page, selector: str) -> None:
    words = LATIN_WORD.findall(page.locator(selector).inner_text())
    assert words == [], words


def only_local(page):
    assert [u for u in page.requests if not u.startswith(page.base + "/")] == []


def test_county_committee_sees_its_county_on_both_maps(new_page, artifacts):
    page = new_page()
    browser_sign_in(page, "demo_yuncheng_committee")
    menu = page.locator("nav a.dropdown-toggle", has_text="地图")
    menu.click()
    page.locator("a.dropdown-item", has_text="未办结事项地图").click()
    loaded(page)

    # Outlines and clusters of Yuncheng only; every open matter of it counted.
    codes = page.evaluate(DRAWN)
    assert codes and all(c.startswith(YUNCHENG) for c in codes)
    assert int(page.get_attribute(MAP, "data-open")) > 0
    expect(page.locator(".gridlink-cluster").first).to_be_visible()
    no_english(page, ".gridlink-legend")
    no_english(page, "#gridlink-map-filters")
    page.screenshot(path=str(artifacts / "committee-open-map.png"))

    # A cluster opens into its matters; a matter's summary names no debtor and
    # outlines its grid.
    busiest = page.evaluate("""() => fetch('/admin/maps/open/open/?zoom=12&level=village'
        + '&bbox=110.5,21.8,113,23.8').then(r => r.json()).then(d => d.areas
        .sort((a, b) => b.total - a.total)[0])""")
    page.evaluate("a => $('#gridlink-committee-map').data('map').setView([a.lat, a.lon], 15)",
                  busiest)
    loaded(page)
    assert page.get_attribute(MAP, "data-areas") == "0"  # matters, one by one
    dots = int(page.get_attribute(MAP, "data-open"))
    assert dots > 0
    # Every dot drawn, then a click that lands on one (not forced: Playwright waits
    # until the dot is the element under the pointer, above the outlines).
    expect(page.locator(f"{MAP} path.gridlink-matter-dot")).to_have_count(dots)
    page.locator(f"{MAP} path.gridlink-matter-dot").last.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("案号", timeout=15_000)
    assert not any(line.startswith("被执行人") for line in popup.inner_text().splitlines())
    no_english(page, ".leaflet-popup-content")
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup'))"
                           ".opacity === '1'")  # faded in
    page.screenshot(path=str(artifacts / "committee-open-map-matter.png"))

    page.goto(page.base + "/admin/maps/density/")
    loaded(page)
    codes = page.evaluate(DRAWN)
    assert codes and all(c.startswith(YUNCHENG) for c in codes)
    assert int(page.get_attribute(MAP, "data-received")) > 0
    no_english(page, ".gridlink-legend")
    no_english(page, ".leaflet-control-layers")
    page.screenshot(path=str(artifacts / "committee-density-map.png"))
    only_local(page)


def test_level_switch_shows_villages_with_completion(new_page, artifacts):
    page = new_page()
    browser_sign_in(page, "demo_yuncheng_committee")
    page.goto(page.base + "/admin/maps/density/?level=village")
    loaded(page)
    assert page.get_attribute(MAP, "data-level") == "village"
    assert int(page.get_attribute(MAP, "data-shapes")) > 20
    page.screenshot(path=str(artifacts / "committee-density-villages.png"))


def test_the_maps_say_when_their_kept_counts_were_made(new_page, demo):
    refresh_map_counts(demo, clock.now())
    demo.commit()
    try:
        page = new_page()
        browser_sign_in(page, "demo_yuncheng_committee")
        for path in ("/admin/maps/open/", "/admin/maps/density/"):
            page.goto(page.base + path)
            loaded(page)
            expect(page.locator(".gridlink-as-of")).to_have_text(re.compile(
                r"^数据更新于 \d\d:\d\d$"))
        page.goto(page.base + "/admin/maps/open/?type=service")  # counted live: no time
        loaded(page)
        expect(page.locator(".gridlink-as-of")).to_be_hidden()
    finally:
        demo.execute(delete(MapCount))
        demo.commit()
