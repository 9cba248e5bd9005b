"""A large spreadsheet confirmed in real Chromium: the page queues it, shows the job
waiting, and, once the worker (procrastinate, as `gridlink worker` runs it) has
filed the rows, shows the outcome in Chinese without a reload by hand."""

from __future__ import annotations

import threading

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from test_matter_intake import good, xlsx

from admin.jobs import runner

pytestmark = pytest.mark.browser


def test_a_queued_import_is_followed_to_its_outcome(new_page, live_app, artifacts,
                                                     monkeypatch):
    monkeypatch.setitem(live_app.config, "IMPORT_INLINE_ROWS", 0)
    page = new_page()
    browser_sign_in(page, "demo_court_yuncheng")
    page.goto(page.base + "/admin/matter_import/")
    page.set_input_files("#file", files=[{
        "name": "十月批量.xlsx", "buffer": xlsx([good(n) for n in (9201, 9202, 9203)]),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.click("#gridlink-matter-upload button[type=submit]")
    expect(page.locator('[data-count="new"]')).to_have_text("3")
    page.click("#gridlink-matter-commit button[type=submit]")
    expect(page.locator("#gridlink-job-state")).to_have_text("等待后台处理")
    page.screenshot(path=artifacts / "job-waiting.png", full_page=True)

    # In a thread of its own: Playwright keeps an event loop running in this one.
    worker = threading.Thread(target=runner(live_app.config["SQLALCHEMY_DATABASE_URI"],
                                            live_app).run_worker,
                              kwargs={"wait": False, "install_signal_handlers": False})
    worker.start()
    worker.join(timeout=60)
    expect(page.locator("#gridlink-job-message")).to_contain_text("已立项 3 件", timeout=15_000)
    expect(page.locator("#gridlink-job-state")).to_have_text("已完成")
    page.screenshot(path=artifacts / "job-done.png", full_page=True)
    page.click("#gridlink-job-back")
    expect(page.locator('[data-count="duplicates"]')).to_have_text("3")
    page.goto(page.base + "/admin/jobs/")
    expect(page.locator("#gridlink-jobs")).to_contain_text("十月批量.xlsx")
    page.screenshot(path=artifacts / "jobs.png", full_page=True)
