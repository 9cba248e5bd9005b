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

The phone pages (issue 11) are what a village's liaison and grid worker open in the
field, at a 360-px viewport (a phone: device scale 3, touch): the home page (我的事项),
a matter's page and the outcome form of a matter dispatched to them. They are measured
on a throwaway PostGIS with the demo (bench.intake's), in which 星岩社区 gets 30 open
matters of 云城区's court, filed and taken through models.workflow (assigned, accepted
or dispatched to its grid worker), so that the home page lists real rows and the form
has a matter to be filled in for. Goals: first load at most 300 KB, repeat at most 30 KB.

    .venv/bin/python -m bench.page_weight --only phone     (or desktop; both by default)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import load_average
from bench.serve import free_port, start_server
from models.database import database_url

FIRST_GOAL, REPEAT_GOAL = 400 * 1024, 30 * 1024
PHONE_FIRST_GOAL, PHONE_REPEAT_GOAL = 300 * 1024, 30 * 1024
DESKTOP = {"viewport": {"width": 1400, "height": 1000}}
PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True}
BASELINE_ENV = {"GRIDLINK_COMPRESS_REGISTER": "false", "GRIDLINK_STATIC_CACHE": "false"}
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


def phone_pages(session) -> list[tuple[str, str, str]]:
    """The field's pages, on matters made for them (see the module's comment)."""
    from bench.outcome_photo import dispatched_to_demo_worker

    states = ("assigned", "accepted", "dispatched")
    ids = (dispatched_to_demo_worker(session, 15, 9300, "service", states)
           + dispatched_to_demo_worker(session, 15, 9400, "find_property", states))
    matter = ids[-1]  # dispatched to the grid worker: both may record its outcome
    found = []
    for account in ("demo_liaison", "demo_worker"):
        found += [(account, "home (我的事项; map on request)", "/admin/"),
                  (account, "a matter (map)", f"/admin/matter/details/?id={matter}"),
                  (account, "outcome form", f"/admin/matter/{matter}/outcome/")]
    return found


def _measure(browser, base: str, account: str, path: str,
             device: dict = DESKTOP) -> tuple[int, int, int]:
    """Bytes of the first load (empty cache), of a repeat visit, and requests of the first."""
    context = browser.new_context(**device, locale="zh-CN")
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


def _serve(env: dict) -> tuple[list, dict[str, str]]:
    """Two servers of the same database: as shipped, and the baseline."""
    servers, bases = [], {}
    for name, extra in (("ours", {}), ("baseline", BASELINE_ENV)):
        port = free_port()
        servers.append(start_server(env | extra, port, workers=2))
        bases[name] = f"http://127.0.0.1:{port}"
    return servers, bases


def measure(todo, env: dict, device: dict) -> list:
    """(label, ours, baseline) for each page: (first, repeat, requests) each."""
    from playwright.sync_api import sync_playwright

    servers, bases = _serve(env)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM",
                                                                       "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)
            for account, name, path in todo:
                ours = _measure(browser, bases["ours"], account, path, device)
                base = _measure(browser, bases["baseline"], account, path, device)
                rows.append((f"{account.removeprefix('demo_')}: {name}", ours, base))
            browser.close()
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return rows


def report(title: str, rows: list, first_goal: int, repeat_goal: int) -> bool:
    kb = 1024
    print(f"\n{title}")
    print(f"{'page':42} {'first load':>12} {'repeat':>10} {'requests':>8}   "
          f"{'baseline first':>14} {'repeat':>10}")
    worst = {"first": 0, "repeat": 0}
    for label, (first, repeat, n), (bfirst, brepeat, _) in rows:
        worst = {"first": max(worst["first"], first), "repeat": max(worst["repeat"], repeat)}
        mark = "" if first <= first_goal and repeat <= repeat_goal else "  ← over the goal"
        print(f"{label:42} {first / kb:9,.0f} KB {repeat / kb:7,.0f} KB {n:8}   "
              f"{bfirst / kb:11,.0f} KB {brepeat / kb:7,.0f} KB{mark}")
    met = worst["first"] <= first_goal and worst["repeat"] <= repeat_goal
    print(f"heaviest first load {worst['first'] / kb:,.0f} KB (goal ≤ {first_goal // kb} KB), "
          f"heaviest repeat visit {worst['repeat'] / kb:,.0f} KB (goal ≤ {repeat_goal // kb} "
          f"KB); {'both goals met' if met else 'NOT met'}")
    return met


def phone(log=print) -> list:
    """The field's pages at 360 px, on a throwaway PostGIS with the demo."""
    from admin import create_app
    from bench.intake import prepare_database
    from models import db

    scratch = Path(tempfile.mkdtemp(prefix="gridlink-bench-phone-", dir="/var/tmp"))
    os.chmod(scratch, 0o755)  # the throwaway cluster's postgres user reaches pg/ inside
    clean_up = None
    try:
        url, clean_up = prepare_database(None, scratch)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                          "SECRET_KEY_FILE": str(scratch / "secret_key")})
        with app.app_context():
            todo = phone_pages(db.session)
            db.session.commit()
            db.engine.dispose()
        log(f"phone pages: a throwaway PostGIS with the demo, 30 matters in 星岩社区; "
            f"load average {load_average()}")
        env = os.environ | {"DATABASE_URL": url,
                            "GRIDLINK_SECRET_KEY_FILE": str(scratch / "secret_key")}
        return measure(todo, env, PHONE)
    finally:
        if clean_up is not None:
            clean_up()
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_weight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="desktop,phone", help="desktop, phone or both")
    parts = set(parser.parse_args(argv).only.split(","))
    print(f"load average (1, 5, 15 min) at the start: {load_average()}")
    if "desktop" in parts:
        engine = create_engine(database_url())
        todo = pages(engine)
        engine.dispose()
        report("every role's pages, 1400 px, on the application's database (the demo)",
               measure(todo, dict(os.environ), DESKTOP), FIRST_GOAL, REPEAT_GOAL)
    if "phone" in parts:
        report("the field's phone pages, 360 px (issue 11)", phone(),
               PHONE_FIRST_GOAL, PHONE_REPEAT_GOAL)
    print(f"load average (1, 5, 15 min): {load_average()}")


if __name__ == "__main__":
    main()
