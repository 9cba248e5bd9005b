"""我的事项 on a phone, in real Chromium: a 360 × 740 screen with the phone's location
granted. The grid's matters are cards as wide as the screen (no squeezed table with
columns one character wide), nothing scrolls sideways, the map comes when asked."""

from __future__ import annotations

import pytest
from conftest import browser_sign_in
from test_browser_outcome import HERE, PHONE, dispatched

pytestmark = pytest.mark.browser

SCREENSHOTS = "docs/screenshots"


@pytest.fixture
def phone_as(browser, live_server):
    contexts = []

    def make(username: str):
        context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True,
                                      has_touch=True, device_scale_factor=2,
                                      geolocation=HERE, permissions=["geolocation"])
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.base = live_server
        browser_sign_in(page, username)
        return page

    yield make
    for context in contexts:
        context.close()


def test_my_matters_are_cards_that_fit_a_360_px_screen(phone_as, demo, artifacts):
    dispatched(demo, "service", "721", {"document_kinds": ["judgment"], "method": "direct"})
    page = phone_as("demo_worker")
    cards = page.locator("#gridlink-open .gridlink-matter-card")
    assert cards.count() >= 1
    assert page.locator("#gridlink-open table").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for box in (cards.nth(i).bounding_box() for i in range(cards.count())):
        assert box["width"] >= PHONE["width"] - 40  # a card spans the screen
    # No text squeezed into a column: every card line is wider than a few characters.
    narrowest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
        '#gridlink-open .card-body > div')].map(e => e.getBoundingClientRect().width))""")
    assert narrowest >= 200
    record = page.locator("#gridlink-open .gridlink-record").first
    assert record.inner_text() == "登记办理结果"
    assert record.bounding_box()["height"] >= 44  # a thumb's target
    assert page.locator("#gridlink-phone-nav").inner_text().count("我的事项") == 1
    assert not [u for u in page.requests if "leaflet" in u]
    page.screenshot(path=artifacts / "home-phone.png", full_page=False)

    page.click("#gridlink-show-map")
    page.locator("[data-role=gridlink-overview][data-loaded]").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#gridlink-show-all").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "home-phone-map.png", full_page=True)
