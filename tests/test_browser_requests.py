"""法律咨询 on a phone, in real headless Chromium: the demo village liaison asks from
the menu, the tribunal's officer answers from their list, the liaison reads the
answer on their home page — at 360×740, in Chinese, nothing wider than the screen."""

from __future__ import annotations

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from geo.assign import file_matter
from models import Court, db
from models.filing import AddressInput, MatterInput

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
QUESTION = "村民离婚时，承包地的经营权怎么分？村调委会调解可以约定吗？"
ANSWER = ("承包地经营权可在离婚协议中约定；协议不成的，由法院依法分割。"
          "调解协议请写明地块、面积与期限。")


def phone_page(new_page, username):
    page = new_page()
    page.set_viewport_size(PHONE)
    browser_sign_in(page, username)
    return page


def fits_the_screen(page):
    """Nothing pushes the page wider than the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_a_liaison_asks_on_a_phone_and_the_tribunal_answers(new_page, artifacts):
    liaison = phone_page(new_page, "demo_liaison")
    # The home page already shows the village's questions (the demo's two).
    expect(liaison.locator("#gridlink-home-advice .gridlink-advice")).to_have_count(2)
    liaison.locator("nav a", has_text="法律咨询").click()  # the phone page's bar, no menu
    expect(liaison.locator("#gridlink-advice-title")).to_have_text("我的咨询")
    liaison.click("#gridlink-advice-ask")
    expect(liaison.locator("#gridlink-advice-title")).to_have_text("提出法律咨询")
    liaison.select_option("#advice-topic", label="婚姻家庭")
    liaison.fill("#advice-question", QUESTION)
    fits_the_screen(liaison)
    liaison.screenshot(path=artifacts / "advice-ask-phone.png", full_page=True)
    liaison.click("#gridlink-advice-form button[type=submit]")
    expect(liaison.locator(".alert-dismissable.alert-success")).to_contain_text(
        "您的咨询已送交云浮市云城区人民法院腰古人民法庭")
    mine = liaison.locator(".gridlink-advice", has_text=QUESTION)
    expect(mine.locator(".gridlink-advice-state")).to_have_text("待答复")
    fits_the_screen(liaison)
    liaison.screenshot(path=artifacts / "advice-mine-phone.png", full_page=True)

    tribunal = phone_page(new_page, "demo_tribunal")
    count = tribunal.locator(".gridlink-stat[data-count=advice]")
    assert int(count.inner_text()) >= 2  # the demo's waiting question, and this one
    tribunal.locator(".navbar-toggler").click()
    tribunal.locator("nav a", has_text="法律咨询").click()
    expect(tribunal.locator("#gridlink-advice-title")).to_have_text("法律咨询")
    card = tribunal.locator(".gridlink-advice", has_text=QUESTION)
    expect(card.locator(".gridlink-advice-village")).to_have_text("云城区 / 云城街道 / 星岩社区")
    expect(card.locator(".gridlink-advice-phone")).to_contain_text("****")
    fits_the_screen(tribunal)
    card.locator("textarea[name=answer]").fill(ANSWER)
    card.scroll_into_view_if_needed()
    tribunal.screenshot(path=artifacts / "advice-tribunal-phone.png", full_page=True)
    card.locator("button[type=submit]", has_text="提交答复").click()
    expect(tribunal.locator(".alert-dismissable.alert-success")).to_contain_text("答复已送达")
    answered = tribunal.locator(".gridlink-advice", has_text=QUESTION)
    expect(answered.locator(".gridlink-advice-state")).to_have_text("已答复")
    expect(answered.locator("textarea[name=answer]")).to_have_count(0)

    liaison.goto(liaison.base + "/admin/")
    home = liaison.locator("#gridlink-home-advice .gridlink-advice", has_text=QUESTION)
    expect(home.locator(".gridlink-advice-answer")).to_contain_text(ANSWER)
    fits_the_screen(liaison)
    liaison.screenshot(path=artifacts / "advice-answered-home-phone.png", full_page=True)


def file_a_matter(live_app) -> str:
    """An open matter of 云城区's court with 星岩社区, filed on the live server's database."""
    with live_app.app_context():
        court = db.session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
        matter, _ = file_matter(db.session, MatterInput(
            court=court, officer_name="测试干警", case_number="（2026）粤5302执977号",
            matter_type="service", debtor_kind="person", debtor_name="风险某",
            addresses=[AddressInput(kind="habitual", text="云浮市云城区云城街道星岩社区")],
            request={"document_kinds": ["judgment"], "method": "direct"}))
        db.session.commit()
        return str(matter.id)


def test_a_grid_worker_reports_a_risk_on_a_phone_and_the_court_reads_it(new_page, live_app,
                                                                         artifacts):
    matter_id = file_a_matter(live_app)
    worker = phone_page(new_page, "demo_worker")
    worker.goto(worker.base + f"/admin/matter/details/?id={matter_id}")
    expect(worker.locator("#gridlink-risk-none")).to_be_visible()
    worker.locator("#gridlink-risk-new summary").click()
    worker.select_option("#risk-kind", label="情绪激烈/有过激言行")
    worker.fill("#risk-description", "被执行人扬言阻挠执行，家中备有农具，建议带足警力。")
    worker.check("#risk-urgency-urgent")
    # The block fits the phone. (The matter page's address and assignment tables are
    # wider than 360 px and scroll sideways: not the block's doing.)
    box = worker.locator("#gridlink-risk").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    worker.locator("#gridlink-risk").screenshot(path=artifacts / "risk-form-phone.png")
    worker.click("#gridlink-risk-form button[type=submit]")
    expect(worker.locator(".alert-dismissable.alert-success")).to_contain_text(
        "风险信息已报送云浮市云城区人民法院")
    expect(worker.locator(".gridlink-risk-report")).to_have_count(1)
    expect(worker.locator("#gridlink-risk-count")).to_have_text("1")

    court = new_page()
    browser_sign_in(court, "demo_court_yuncheng")
    court.locator("nav a.dropdown-toggle", has_text="事项").click()
    court.locator("nav .dropdown-menu.show a", has_text="风险信息").click()
    row = court.locator(".gridlink-risk-row", has_text="（2026）粤5302执977号")
    expect(row).to_contain_text("情绪激烈/有过激言行")
    expect(row).to_contain_text("紧急")
    court.screenshot(path=artifacts / "risk-list-court.png", full_page=True)
    row.locator("a").first.click()
    expect(court.locator(".gridlink-risk-report[data-urgency=urgent]")).to_contain_text(
        "被执行人扬言阻挠执行")
    assert court.locator("#gridlink-risk-form").count() == 0
