"""The liaison list's journey in real Chromium: the town centre changes a liaison and
submits the list, the county committee approves it from a date, and court staff see
the new liaison in the roster."""

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# 天马社区, not 星岩社区: the demo liaison's account stands for 星岩社区's liaison, whom
# other journeys on the same live database need in place.
VILLAGE = "445302001002"
NEW_LIAISON = "温新联"


@pytest.fixture
def person_page(new_page):
    """person_page("demo_…"): a browser of that person's own, signed in."""
    def make(username):
        page = new_page()
        browser_sign_in(page, username)
        return page

    return make


def test_a_list_goes_from_the_town_through_approval_to_the_courts(person_page, artifacts):
    town = person_page("demo_town_centre")
    town.goto(town.base + "/admin/directory/")
    town.click("text=为云城街道新建名单")
    liaison_row = town.locator("#gridlink-rows tbody tr", has_text=VILLAGE).filter(
        has_text="联络员").first
    liaison_row.locator("text=更正").click()
    town.fill("#name", NEW_LIAISON)
    town.fill("#phone", "10007660999")
    town.click("#gridlink-row button[type=submit]")
    town.click("text=报送政法委")
    expect(town.locator(".alert-success")).to_contain_text("名单已报送政法委")
    town.screenshot(path=artifacts / "directory-submitted.png", full_page=True)

    committee = person_page("demo_yuncheng_committee")
    committee.goto(committee.base + "/admin/directory/")
    committee.click("text=云城街道（445302001000）")
    expect(committee.locator("body")).to_contain_text(NEW_LIAISON)  # the diff shows it
    committee.fill("#effective_from", "2026-12-01")
    committee.click("#gridlink-approve button[type=submit]")
    expect(committee.locator(".alert-success")).to_contain_text("名单已批准")
    committee.screenshot(path=artifacts / "directory-approved.png", full_page=True)

    court = person_page("demo_court_yuncheng")
    court.goto(court.base + f"/admin/roster/?search={VILLAGE}&history=1")
    expect(court.locator("table.model-list")).to_contain_text(NEW_LIAISON)
    for page in (town, committee, court):
        assert all(u.startswith(page.base + "/") for u in page.requests)
