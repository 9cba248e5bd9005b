"""A grid worker records a service outcome on a phone, in real Chromium: a 360 × 740
screen, the phone's location granted, a photo of the signed 送达回证 taken with the
camera. The page fits the screen, speaks Chinese, fills the point from the phone's
GPS, and the matter's page then shows the outcome with the photo's thumbnail."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from conftest import browser_sign_in
from PIL import ExifTags, Image
from playwright.sync_api import expect
from sqlalchemy import select

from geo.assign import file_matter
from models import Court, Matter, MatterState, Person, User, workflow
from models.filing import AddressInput, MatterInput
from models.identity import id_check_character
from models.outcome_answers import local_today
from models.outcomes import Outcome

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
HERE = {"longitude": 112.04012, "latitude": 22.93021}  # 星岩社区, in the demo's shapes


def receipt_photo() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (22, 55, 48),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (112, 2, 24)}
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2026:03:01 09:30:15"}
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), "#f8f0e3").save(out, "JPEG", exif=exif)
    return out.getvalue()


def dispatched(demo, kind: str, serial: str, request: dict, credentials=()):
    """A matter of 星岩社区, accepted by its liaison and dispatched to its grid worker."""
    court = demo.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    first17 = f"44530219850317{serial}"
    matter, _ = file_matter(demo, MatterInput(
        court=court, officer_name="测试干警", case_number=f"（2026）粤5302执7{serial}号",
        matter_type=kind, debtor_kind="person", debtor_name="黄某某",
        debtor_id_number=first17 + id_check_character(first17),
        addresses=[AddressInput(kind="habitual", text="云浮市云城区云城街道星岩社区")],
        request=request, credentials=list(credentials)))
    liaison = demo.scalar(select(User).where(User.username == "demo_liaison"))
    worker = demo.scalar(select(User).where(User.username == "demo_worker"))
    workflow.take_step(demo, workflow.begin(demo, matter.id, liaison), liaison, "accept")
    workflow.dispatch(demo, workflow.begin(demo, matter.id, liaison), liaison,
                      demo.get(Person, worker.person_id))
    demo.commit()
    return matter.id


@pytest.fixture
def dispatched_matter(demo):
    return dispatched(demo, "service", "701", {"document_kinds": ["judgment"],
                                               "method": "direct"})


@pytest.fixture
def phone(browser, live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDLINK_EVIDENCE_DIR", str(tmp_path / "evidence"))
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True,
                                  has_touch=True, geolocation=HERE,
                                  permissions=["geolocation"])
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.base = live_server
    browser_sign_in(page, "demo_worker")
    yield page
    context.close()


def fits_the_screen(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 361 && !e.closest('.leaflet-container'))
        .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
    assert width <= PHONE["width"], f"the page is {width} px wide on a 360 px screen: {wide}"


def test_a_grid_worker_records_a_service_with_a_photo(phone, dispatched_matter, demo,
                                                      artifacts):
    served_on = (local_today() - timedelta(days=1)).isoformat()
    phone.goto(f"{phone.base}/admin/matter/details/?id={dispatched_matter}")
    phone.click("#gridlink-record-outcome")
    phone.wait_for_url(re.compile(r".*/outcome/$"))
    expect(phone.locator("#gridlink-outcome-title")).to_have_text("登记办理结果")
    expect(phone.locator("#o-served_on")).to_be_hidden()  # asked once the method is known
    phone.select_option("#o-method", "direct")
    expect(phone.locator("#o-served_on")).to_be_visible()
    phone.fill("#o-served_on", served_on)
    phone.fill("#o-served_at", "星岩社区二组12号家中")
    phone.click("button.gridlink-use-location[data-target=o-served_point]")
    expect(phone.locator("#o-served_point-lon")).to_have_value("112.040120")
    expect(phone.locator("#o-served_point-lat")).to_have_value("22.930210")
    expect(phone.locator("#gridlink-outcome-pick-map")).to_have_attribute("data-markers", "1")
    phone.select_option("#o-signed_by", "debtor")
    expect(phone.locator("#o-witnesses-0")).to_be_hidden()  # witnesses: lodged service only
    phone.set_input_files("#o-receipt-file", files=[{
        "name": "IMG_2031.JPG", "mimeType": "image/jpeg", "buffer": receipt_photo()}])
    fits_the_screen(phone)
    phone.screenshot(path=artifacts / "outcome-phone-form.png", full_page=True)

    phone.click("#gridlink-outcome-save")
    phone.wait_for_url(re.compile(r".*/admin/matter/details/\?id=.*"))
    expect(phone.locator("#gridlink-state")).to_have_attribute("data-state", "done")
    section = phone.locator("#gridlink-outcome-section")
    expect(section).to_contain_text("直接送达")
    expect(section).to_contain_text("星岩社区二组12号家中")
    expect(section).to_contain_text("受送达人本人")
    expect(section.locator("[data-role=taken-at]")).to_contain_text("2026-03-01 09:30")
    thumb = section.locator("img.gridlink-thumb")
    expect(thumb).to_have_count(1)
    thumb.scroll_into_view_if_needed()
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0",
                            arg=thumb.element_handle())
    assert phone.evaluate("img => img.naturalWidth", thumb.element_handle()) == 320
    expect(phone.locator("#gridlink-outcome-map")).to_have_attribute("data-points", "2")
    fits_the_screen(phone)
    section.scroll_into_view_if_needed()
    phone.screenshot(path=artifacts / "outcome-phone-details.png", full_page=True)
    assert all(u.startswith(phone.base + "/") for u in phone.requests)

    demo.expire_all()
    assert demo.get(Matter, dispatched_matter).state is MatterState.done
    outcome = demo.scalar(select(Outcome).where(Outcome.matter_id == dispatched_matter))
    assert outcome.data["served_point"] == {"lon": 112.04012, "lat": 22.93021}
    assert outcome.data["signed_by"] == "debtor" and len(outcome.data["receipt"]) == 1


def test_property_items_are_added_and_placed_by_gps_and_on_the_map(phone, demo, artifacts):
    matter_id = dispatched(demo, "find_property", "702", {"property_kinds": ["house"]},
                           ["enforcement_basis", "work_id"])
    phone.goto(f"{phone.base}/admin/matter/{matter_id}/outcome/")
    phone.select_option("#o-items-0-kind", "house")
    phone.fill("#o-items-0-description", "两层砖混楼房，约120平方米")
    phone.fill("#o-items-0-value", "120000")
    phone.click("button.gridlink-use-location[data-target=o-items-0-point]")
    expect(phone.locator("#o-items-0-point-lon")).to_have_value("112.040120")

    phone.click("#gridlink-add-item")
    phone.click("#gridlink-add-item")
    expect(phone.locator(".gridlink-item")).to_have_count(3)
    expect(phone.locator(".gridlink-item .gridlink-item-number").nth(2)).to_have_text("3")
    phone.locator(".gridlink-item").nth(2).locator(".gridlink-remove-item").click()
    expect(phone.locator(".gridlink-item")).to_have_count(2)
    phone.select_option("#o-items-1-kind", "livestock")
    phone.fill("#o-items-1-description", "生猪30头")
    phone.click("button.gridlink-pick[data-target=o-items-1-point]")
    expect(phone.locator(".gridlink-item").nth(1)).to_have_class(re.compile("gridlink-picking"))
    pick_map = phone.locator("#gridlink-outcome-pick-map")
    pick_map.scroll_into_view_if_needed()
    box = pick_map.bounding_box()
    phone.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    expect(phone.locator("#o-items-1-point-lon")).not_to_have_value("")
    expect(pick_map).to_have_attribute("data-markers", "2")
    fits_the_screen(phone)
    phone.screenshot(path=artifacts / "outcome-phone-property.png", full_page=True)

    phone.click("#gridlink-outcome-save")
    phone.wait_for_url(re.compile(r".*/admin/matter/details/\?id=.*"))
    items = phone.locator("#gridlink-outcome-items tbody tr")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("120,000 元")
    expect(phone.locator("#gridlink-outcome-map")).to_have_attribute("data-points", "2")
    fits_the_screen(phone)
    phone.locator("#gridlink-outcome-section").screenshot(
        path=artifacts / "outcome-phone-property-details.png")
    demo.expire_all()
    outcome = demo.scalar(select(Outcome).where(Outcome.matter_id == matter_id))
    first, second = outcome.data["items"]
    assert first["point"] == {"lon": 112.04012, "lat": 22.93021}
    assert second["kind"] == "livestock" and second["point"] != first["point"]
