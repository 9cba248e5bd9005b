"""The assessment dashboard in real Chromium, as the Yuncheng county committee: the
charts drawn by the app's own Chart.js, the county's figures only, in Chinese."""

from __future__ import annotations

import re

import pytest
from conftest import browser_sign_in
from playwright.sync_api import expect
from sqlalchemy import text

pytestmark = pytest.mark.browser


def test_the_county_committee_dashboard(anonymous_page, demo, artifacts):
    page = anonymous_page
    browser_sign_in(page, "demo_yuncheng_committee")
    page.get_by_role("link", name=re.compile("统计考核")).click()
    page.get_by_role("link", name="考核统计").click()
    expect(page).to_have_title(re.compile("考核统计"))
    expect(page.locator("h2")).to_contain_text("云城区")
    # Every chart drawn: a canvas Chart.js has taken (it sets its size and a chart id).
    for chart in ("chart-months", "chart-areas", "chart-courts", "chart-types"):
        page.wait_for_function(
            "id => { const c = document.getElementById(id); return c && window.Chart && "
            "Chart.getChart(c) !== undefined; }", arg=chart)
    codes = page.locator("#gridlink-towns tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)")
    assert codes and all(c.startswith("445302") for c in codes)
    received = int(page.locator('[data-total="received"]').inner_text())
    year = int(page.locator("#year").input_value())
    assert received == demo.execute(text("""
        SELECT count(*) FROM matters m
        WHERE extract(year FROM m.created_at AT TIME ZONE 'Asia/Shanghai') = :year
          AND (SELECT g.code FROM assignments a JOIN grids g ON g.id = a.grid_id
               WHERE a.matter_id = m.id AND a.role = 'primary'
               ORDER BY a.created_at DESC LIMIT 1) LIKE '445302%'"""), {"year": year}).scalar()
    expect(page.locator("#gridlink-counties thead")).to_contain_text("办结率")
    outside = [u for u in page.requests if not u.startswith(page.base + "/")]
    assert outside == []
    assert any("vendor/chartjs/chart.umd.min.js" in u for u in page.requests)
    page.screenshot(path=artifacts / "statistics-demo_yuncheng_committee.png", full_page=True)

    page.get_by_role("link", name=re.compile("统计考核")).click()
    page.get_by_role("link", name="超期事项").click()
    expect(page.locator("#gridlink-overdue")).to_be_visible()
    grids = page.locator("#gridlink-overdue tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.grid)")
    assert grids and all(g.startswith("445302") for g in grids)
    page.screenshot(path=artifacts / "overdue-demo_yuncheng_committee.png", full_page=True)
