"""A matter's life in real Chromium: on a 360-pixel phone the liaison accepts a matter
and hands it to a grid worker, who then finds it with what they may do; at a desk the
court officer withdraws another. Everything reads in Chinese and nothing overflows the
phone's width."""

from __future__ import annotations

import re

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import select
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly

from models import Matter, MatterState, User

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def filed(demo, case: str) -> Matter:
    matter = file_directly(demo, YUNCHENG_COURT, case, XINGYAN_ADDRESS)
    demo.commit()
    return matter


def on_phone(new_page, username: str):
    page = new_page()
    page.set_viewport_size(PHONE)
    browser_sign_in(page, username)
    return page


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"


def reads_chinese(page, selector: str) -> None:
    for text in page.locator(selector).all_inner_texts():
        assert not LATIN_WORD.search(text), text


def test_the_liaison_accepts_and_dispatches_on_a_phone_and_the_worker_sees_it(
        new_page, demo, artifacts):
    matter = filed(demo, "（2026）粤5302执7201号")
    worker_person = demo.scalar(select(User.person_id).where(User.username == "demo_worker"))

    liaison = on_phone(new_page, "demo_liaison")
    liaison.goto(liaison.base + f"/admin/matter/details/?id={matter.id}")
    accept = liaison.locator("#gridlink-step-accept button")
    expect(accept).to_have_text("签收")
    box = accept.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb's target, full width
    reads_chinese(liaison, "#gridlink-actions")
    fits_the_phone(liaison)
    liaison.screenshot(path=artifacts / "workflow-liaison-assigned.png", full_page=True)
    accept.click()
    expect(liaison.locator(".alert-success")).to_contain_text("已签收")
    expect(liaison.locator("#gridlink-state")).to_have_text("已接收")

    liaison.select_option("#step-dispatch-worker", str(worker_person))
    liaison.click("#gridlink-step-dispatch button")
    expect(liaison.locator("#gridlink-state")).to_have_text("已派发")
    expect(liaison.locator("#gridlink-history li")).to_have_count(2)
    reads_chinese(liaison, "#gridlink-history")
    reads_chinese(liaison, "#gridlink-where")
    fits_the_phone(liaison)
    liaison.screenshot(path=artifacts / "workflow-liaison-dispatched.png", full_page=True)
    demo.expire_all()
    assert demo.get(Matter, matter.id).state is MatterState.dispatched

    worker = on_phone(new_page, "demo_worker")
    worker.goto(worker.base + "/admin/")
    worker.click(f'#gridlink-open [data-case="{matter.case_number}"] a')
    expect(worker.locator("#gridlink-step-fail button")).to_have_text("无法完成")
    expect(worker.locator("#step-fail-reason")).to_contain_text("下落不明")
    expect(worker.locator("#gridlink-field-worker")).to_be_visible()
    reads_chinese(worker, "#gridlink-actions")
    fits_the_phone(worker)
    worker.screenshot(path=artifacts / "workflow-worker.png", full_page=True)


def test_the_court_officer_withdraws_a_matter(new_page, demo, artifacts):
    matter = filed(demo, "（2026）粤5302执7202号")
    officer = new_page()
    browser_sign_in(officer, "demo_court_yuncheng")
    officer.goto(officer.base + f"/admin/matter/details/?id={matter.id}")
    expect(officer.locator("#gridlink-step-accept")).to_have_count(0)
    officer.fill("#step-chase-note", "请于本周内送达")
    officer.click("#gridlink-step-chase button")
    expect(officer.locator("#gridlink-chases")).to_have_text("已催办 1 次")
    officer.select_option("#step-cancel-reason", "settled")
    officer.fill("#step-cancel-note", "双方已达成和解")
    reads_chinese(officer, "#gridlink-actions")
    officer.screenshot(path=artifacts / "workflow-court-cancel.png", full_page=True)
    officer.click("#gridlink-step-cancel button")
    expect(officer.locator("#gridlink-state")).to_have_text("已撤销")
    expect(officer.locator("#gridlink-history li")).to_have_count(2)
    reads_chinese(officer, "#gridlink-history")
    officer.screenshot(path=artifacts / "workflow-court-cancelled.png", full_page=True)
    demo.expire_all()
    assert demo.get(Matter, matter.id).state is MatterState.cancelled
