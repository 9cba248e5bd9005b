"""How much each page moves over the network, first visit and repeat visit.

    .venv/bin/python -m bench.page_weight

Serves the Yunfu demo (the application's database; `make run` loads it) twice with
gunicorn, as `gridlink serve` does: once as shipped, once with compression and the
static files' long caching switched off (GRIDLINK_COMPRESS_REGISTER=false,
GRIDLINK_STATIC_CACHE=false) — the baseline, measured in the same run. Debian's
Chromium, driven by Playwright, signs in as each role and opens each page with an
empty cache (first load), then opens it again (repeat visit); the bytes are what
the browser received for the page and everything it loaded (Chrome DevTools'
encodedDataLength: headers and bodies, as compressed on the wire), until the
network was idle.

Goals (issue 14): every page's first load at most 400 KB, a repeat visit at most 30 KB.
"""

from __future__ import annotations

import argparse
import os
import signal

from sqlalchemy import create_engine, text

from bench.common import load_average
from bench.serve import free_port, start_server
from models.database import database_url

FIRST_GOAL, REPEAT_GOAL = 400 * 1024, 30 * 1024
PASSWORD = "Yunfu2026demo"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]


def pages(engine) -> list[tuple[str, str, str]]:
    """(account, page name, path) for every role's pages, with real ids from the demo."""
    with engine.connect() as conn:
        grid = conn.scalar(text("SELECT id FROM grids WHERE code = '445302001003' "
                                "AND generation_high IS NULL"))
        matter = conn.scalar(text("SELECT id FROM matters ORDER BY created_at LIMIT 1"))
    found = [
        ("demo_admin", "home (map)", "/admin/"),
        ("demo_admin", "grid list", "/admin/grid/"),
        ("demo_admin", "grid edit (map)", f"/admin/grid/edit/?id={grid}"),
        ("demo_admin", "roster", "/admin/roster/"),
        ("demo_admin", "audit trail", "/admin/audit/"),
        ("demo_admin", "topology (map)", "/admin/topology/"),
        ("demo_admin", "boundary import", "/admin/import/"),
        ("demo_court_yuncheng", "matters", "/admin/matter/"),
        ("demo_court_yuncheng", "file a matter", "/admin/filing/"),
        ("demo_court_yuncheng", "review queue (map)", "/admin/review_queue/"),
        ("demo_court_yuncheng", "locate (map)", "/admin/locate/"),
        ("demo_court_yuncheng", "courts", "/admin/court/"),
        ("demo_liaison", "home", "/admin/"),
        ("demo_liaison", "matters", "/admin/matter/"),
        ("demo_town_centre", "liaison lists", "/admin/directory/"),
        ("demo_city_committee", "home (map)", "/admin/"),
    ]
    if matter:
        found.append(("demo_court_yuncheng", "a matter (map)",
                      f"/admin/matter/details/?id={matter}"))
    return found


def _measure(browser, base: str, account: str, path: str) -> tuple[int, int, int]:
    """Bytes of the first load (empty cache), of a repeat visit, and requests of the first."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/admin/auth/")
    page.fill("#username", account)
    page.fill("#password", PASSWORD)
    page.click("#gridlink-login button[type=submit]")
    page.wait_for_url(base + "/admin/**")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    received: list[int] = []
    cdp.on("Network.loadingFinished", lambda e: received.append(int(e["encodedDataLength"])))
    page.goto(base + path, wait_until="networkidle")
    first, requests = sum(received), len(received)
    received.clear()
    page.goto(base + path, wait_until="networkidle")
    repeat = sum(received)
    context.close()
    return first, repeat, requests


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_weight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    engine = create_engine(database_url())
    todo = pages(engine)
    engine.dispose()
    servers, bases = [], {}
    for name, extra in (("ours", {}), ("baseline", {"GRIDLINK_COMPRESS_REGISTER": "false",
                                                     "GRIDLINK_STATIC_CACHE": "false"})):
        port = free_port()
        servers.append(start_server(os.environ | extra, port, workers=2))
        bases[name] = f"http://127.0.0.1:{port}"
    rows, worst = [], {"first": 0, "repeat": 0}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM",
                                                                       "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)
            for account, name, path in todo:
                ours = _measure(browser, bases["ours"], account, path)
                base = _measure(browser, bases["baseline"], account, path)
                worst = {"first": max(worst["first"], ours[0]),
                         "repeat": max(worst["repeat"], ours[1])}
                rows.append((f"{account.removeprefix('demo_')}: {name}", ours, base))
            browser.close()
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    kb = 1024
    print(f"{'page':42} {'first load':>12} {'repeat':>10} {'requests':>8}   "
          f"{'baseline first':>14} {'repeat':>10}")
    for label, (first, repeat, n), (bfirst, brepeat, _) in rows:
        mark = "" if first <= FIRST_GOAL and repeat <= REPEAT_GOAL else "  ← over the goal"
        print(f"{label:42} {first / kb:9,.0f} KB {repeat / kb:7,.0f} KB {n:8}   "
              f"{bfirst / kb:11,.0f} KB {brepeat / kb:7,.0f} KB{mark}")
    met = worst["first"] <= FIRST_GOAL and worst["repeat"] <= REPEAT_GOAL
    print(f"\nheaviest first load {worst['first'] / kb:,.0f} KB (goal ≤ {FIRST_GOAL // kb} KB), "
          f"heaviest repeat visit {worst['repeat'] / kb:,.0f} KB (goal ≤ {REPEAT_GOAL // kb} KB); "
          f"{'both goals met' if met else 'NOT met'}")
    print(f"load average (1, 5, 15 min): {load_average()}")


if __name__ == "__main__":
    main()
