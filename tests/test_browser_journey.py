"""A matter's whole life in real Chromium, each step by its own account: the court
files it at a desk; the liaison accepts and dispatches it on a 360-pixel phone; the
grid worker records the service with a photo and the phone's location, and signs the
record form; the court confirms it and sees the fee; the court makes the month's
statement and marks it paid, and the matter reads 已支付 for the court and the liaison.
Another matter withdrawn after the liaison accepted it offers nobody a step and leaves
the grid's open list. Every page reads Chinese, fits the phone, and stays on the app's
own server; a screenshot of every step goes to the artifacts folder."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import browser_sign_in
from openpyxl import load_workbook
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from models import Matter, MatterState, User
from models.identity import id_check_character
from models.outcome_answers import local_today

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
HERE = {"longitude": 112.04012, "latitude": 22.93021}  # 星岩社区, in the demo's shapes
XINGYAN = "云浮市云城区云城街道星岩社区"
COURT = "demo_court_yuncheng"
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
RAW_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}|\+00:00|UTC")


@pytest.fixture
def phone(browser, live_server, monkeypatch, tmp_path):
    """phone("demo_liaison"): a 360 × 740 touch screen signed in as that account, the
    phone's location granted."""
    monkeypatch.setenv("GRIDLINK_EVIDENCE_DIR", str(tmp_path / "evidence"))
    contexts = []

    def make(username: str):
        context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True,
                                      has_touch=True, geolocation=HERE,
                                      permissions=["geolocation"])
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


@pytest.fixture
def desk(new_page):
    def make(username: str):
        page = new_page()
        browser_sign_in(page, username)
        return page
    return make


class Shots:
    """journey-01-….png, journey-02-….png…: every step, in order."""

    def __init__(self, artifacts):
        self.artifacts, self.n = artifacts, 0

    def __call__(self, page, name: str):
        self.n += 1
        page.screenshot(path=self.artifacts / f"journey-{self.n:02d}-{name}.png",
                        full_page=True)


def id_number(serial: str) -> str:
    first17 = f"44530219880808{serial}"
    return first17 + id_check_character(first17)


def receipt_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), "#f8f0e3").save(out, "JPEG")
    return out.getvalue()


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 361 && !e.closest('.leaflet-container'))
        .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
    assert width <= PHONE["width"], f"the page is {width} px wide: {wide}"


def reads_chinese(page, selector: str = "#gridlink-actions") -> None:
    for text in page.locator(selector).all_inner_texts():
        assert not LATIN_WORD.search(text), text
        assert not RAW_TIMESTAMP.search(text), text


def stays_home(*pages) -> None:
    for page in pages:
        away = [u for u in page.requests if not u.startswith(page.base + "/")]
        assert not away, away


def details(page, matter_id) -> None:
    page.goto(f"{page.base}/admin/matter/details/?id={matter_id}")


def file_service(page, case: str, serial: str) -> uuid.UUID:
    """The court's filing form, as an officer fills it: a judgment to serve directly on
    a debtor living in 星岩社区."""
    page.goto(page.base + "/admin/filing/")
    page.fill("#case_number", case)
    page.select_option("#matter_type", "service")
    page.check("#request-service-document_kinds-judgment")
    page.select_option("#request-service-method", "direct")
    page.fill("#debtor_name", "黄某某")
    page.fill("#debtor_id_number", id_number(serial))
    page.fill("#debtor_phones", "10007661234")
    page.fill("#address-habitual-text", XINGYAN + "二组12号")
    page.click("#gridlink-file")
    page.wait_for_url(re.compile(r".*/admin/matter/details/\?id=.*"))
    expect(page.locator("#gridlink-state")).to_have_attribute("data-state", "assigned")
    expect(page.locator("#gridlink-where")).to_contain_text("星岩社区")
    return uuid.UUID(re.search(r"id=([0-9a-f-]{36})", page.url).group(1))


def take(page, step: str, said: str) -> None:
    button = page.locator(f"#gridlink-step-{step} button")
    expect(button).to_have_text(said)
    button.click()


def state_of(demo, matter_id) -> MatterState:
    demo.expire_all()
    return demo.get(Matter, matter_id).state


def test_a_matter_from_filing_to_paid_by_five_accounts(desk, phone, demo, artifacts):
    shot = Shots(artifacts)
    case = "（2026）粤5302执8801号"
    worker_person = demo.scalar(select(User.person_id).where(User.username == "demo_worker"))

    # The court files it at a desk; it lands with 星岩社区's liaison.
    court = desk(COURT)
    matter_id = file_service(court, case, "881")
    expect(court.locator("#gridlink-debtor")).to_contain_text("445302********")
    shot(court, "court-filed")

    # The liaison accepts it on a phone and hands it to the grid worker.
    liaison = phone("demo_liaison")
    liaison.goto(liaison.base + "/admin/")
    liaison.click(f'#gridlink-open [data-case="{case}"] a')
    fits_the_phone(liaison)
    reads_chinese(liaison)
    shot(liaison, "liaison-assigned")
    take(liaison, "accept", "签收")
    expect(liaison.locator("#gridlink-state")).to_have_text("已接收")
    liaison.select_option("#step-dispatch-worker", str(worker_person))
    fits_the_phone(liaison)
    shot(liaison, "liaison-accepted")
    liaison.click("#gridlink-step-dispatch button")
    expect(liaison.locator("#gridlink-state")).to_have_text("已派发")
    reads_chinese(liaison, "#gridlink-history")
    fits_the_phone(liaison)
    shot(liaison, "liaison-dispatched")

    # The grid worker finds it at home, records the service and signs the form.
    worker = phone("demo_worker")
    worker.goto(worker.base + "/admin/")
    fits_the_phone(worker)
    shot(worker, "worker-home")
    worker.click(f'#gridlink-open [data-case="{case}"] a')
    expect(worker.locator("#gridlink-record-outcome")).to_be_visible()
    fits_the_phone(worker)
    reads_chinese(worker)
    worker.click("#gridlink-record-outcome")
    worker.wait_for_url(re.compile(r".*/outcome/$"))
    worker.select_option("#o-method", "direct")
    worker.fill("#o-served_on", (local_today() - timedelta(days=1)).isoformat())
    worker.fill("#o-served_at", "星岩社区二组12号家中")
    worker.click("button.gridlink-use-location[data-target=o-served_point]")
    expect(worker.locator("#o-served_point-lon")).to_have_value("112.040120")
    worker.select_option("#o-signed_by", "debtor")
    worker.set_input_files("#o-receipt-file", files=[{
        "name": "IMG_2101.JPG", "mimeType": "image/jpeg", "buffer": receipt_photo()}])
    fits_the_phone(worker)
    shot(worker, "worker-outcome-form")
    worker.click("#gridlink-outcome-save")
    worker.wait_for_url(re.compile(r".*/admin/matter/details/\?id=.*"))
    expect(worker.locator("#gridlink-state")).to_have_text("已完成")
    expect(worker.locator("#gridlink-outcome-section")).to_contain_text("直接送达")
    expect(worker.locator("#gridlink-record-form [data-side=grid]")).to_contain_text("尚未")
    fits_the_phone(worker)
    reads_chinese(worker)
    shot(worker, "worker-outcome-recorded")
    take(worker, "sign", "签署记录表")
    expect(worker.locator("#gridlink-record-form [data-side=grid]")).not_to_contain_text("尚未")
    expect(worker.locator("#gridlink-step-sign")).to_have_count(0)
    reads_chinese(worker, "#gridlink-record-form")
    fits_the_phone(worker)
    shot(worker, "worker-signed")

    # The court confirms it with its own signature, and the fee is posted.
    details(court, matter_id)
    expect(court.locator("#gridlink-outcome-section")).to_contain_text("直接送达")
    reads_chinese(court)
    shot(court, "court-to-confirm")
    take(court, "confirm", "确认办结")
    expect(court.locator("#gridlink-state")).to_have_text("已确认")
    expect(court.locator("#gridlink-record-form [data-side=court]")).not_to_contain_text("尚未")
    reads_chinese(court, "#gridlink-record-form")
    expect(court.locator("#gridlink-fee")).to_contain_text("100.00")
    shot(court, "court-confirmed")
    court.goto(court.base + "/admin/ledger/?search=" + case)
    line = court.locator("table.model-list tbody tr")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("100.00")
    shot(court, "court-ledger")

    # The court makes the month's statement and marks it paid.
    court.goto(court.base + "/admin/statement/")
    court.fill("#month", f"{local_today():%Y-%m}")
    shot(court, "court-statements")
    court.click("#gridlink-make-statement button")
    court.wait_for_url(re.compile(r".*/admin/statement/details/\?id=.*"))
    expect(court.locator("#gridlink-statement-lines")).to_contain_text(case)
    shot(court, "court-statement")
    court.click("#gridlink-mark-paid button")
    expect(court.locator(".alert-success")).to_contain_text("已支付")
    expect(court.locator("#gridlink-mark-paid")).to_have_count(0)
    shot(court, "court-statement-paid")
    assert state_of(demo, matter_id) is MatterState.paid

    # The matter reads 已支付 for the court and for the liaison, with no step left.
    details(court, matter_id)
    expect(court.locator("#gridlink-state")).to_have_text("已支付")
    expect(court.locator("#gridlink-actions")).to_have_count(0)
    expect(court.locator("#gridlink-fee")).to_have_text("劳务费（元）：100.00 · 结算单：已支付")
    shot(court, "court-paid")
    details(liaison, matter_id)
    expect(liaison.locator("#gridlink-state")).to_have_text("已支付")
    expect(liaison.locator("#gridlink-actions")).to_have_count(0)
    fits_the_phone(liaison)
    reads_chinese(liaison, "#gridlink-history")
    shot(liaison, "liaison-paid")

    # The court's matter list exports what it shows, the outcome in a Chinese line.
    court.goto(court.base + "/admin/matter/?search=" + case)
    expect(court.locator("table.model-list tbody tr")).to_have_count(1)
    shot(court, "court-list")
    with court.expect_download() as download:
        court.click("#gridlink-export-matters")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    header, row = [list(r) for r in sheet.iter_rows(values_only=True)]
    found = dict(zip(header, row, strict=True))
    assert found["案号"] == case and found["状态"] == "已支付"
    assert found["办理结果"].startswith("送达方式：直接送达；")
    assert found["劳务费（元）"] == 100
    stays_home(court, liaison, worker)


def test_a_withdrawn_matter_stops_everywhere(desk, phone, demo, artifacts):
    case = "（2026）粤5302执8802号"
    court = desk(COURT)
    matter_id = file_service(court, case, "882")

    liaison = phone("demo_liaison")
    details(liaison, matter_id)
    take(liaison, "accept", "签收")
    expect(liaison.locator("#gridlink-state")).to_have_text("已接收")
    liaison.goto(liaison.base + "/admin/")
    expect(liaison.locator(f'#gridlink-open [data-case="{case}"]')).to_have_count(1)

    details(court, matter_id)
    court.select_option("#step-cancel-reason", "settled")
    court.fill("#step-cancel-note", "双方已达成和解")
    take(court, "cancel", "撤回")
    expect(court.locator("#gridlink-state")).to_have_text("已撤销")
    expect(court.locator("#gridlink-actions")).to_have_count(0)
    court.screenshot(path=artifacts / "journey-20-court-withdrawn.png", full_page=True)
    assert state_of(demo, matter_id) is MatterState.cancelled

    # The liaison's page (still open on the phone) offers nothing any more.
    details(liaison, matter_id)
    expect(liaison.locator("#gridlink-state")).to_have_text("已撤销")
    expect(liaison.locator("#gridlink-actions")).to_have_count(0)
    fits_the_phone(liaison)
    liaison.screenshot(path=artifacts / "journey-21-liaison-withdrawn.png", full_page=True)
    liaison.goto(liaison.base + "/admin/")
    expect(liaison.locator(f'#gridlink-open [data-case="{case}"]')).to_have_count(0)
    fits_the_phone(liaison)
    liaison.screenshot(path=artifacts / "journey-22-liaison-home.png", full_page=True)

    worker = phone("demo_worker")
    worker.goto(worker.base + "/admin/")
    expect(worker.locator(f'#gridlink-open [data-case="{case}"]')).to_have_count(0)
    details(worker, matter_id)
    expect(worker.locator("#gridlink-actions")).to_have_count(0)
    expect(worker.locator("#gridlink-record-outcome")).to_have_count(0)
    worker.goto(f"{worker.base}/admin/matter/{matter_id}/outcome/")
    expect(worker.locator("#gridlink-outcome-save")).to_have_count(0)
    reads_chinese(worker, "#gridlink-error")
    fits_the_phone(worker)
    worker.screenshot(path=artifacts / "journey-23-worker-withdrawn.png", full_page=True)
    stays_home(court, liaison, worker)

