"""(l) The committee maps at province scale, against the naive map, in one run.

    .venv/bin/python -m bench.committee_map [--skip-naive] [--keep-shapes] [--naive-cache]
        [--copy NAME] [--waterfall] [--before DIR]

Works on its own copy of the worked synthetic province (`gridlink_synthetic_maps`,
made from `gridlink_synthetic_worked`: 26,000 villages, a million matters, every one
assigned), migrated to this branch's head (map_shapes), so the originals are only
read (`--copy` names another copy, e.g. one made from it with its shapes). Then, in
one run:

1. the precomputed shapes are rebuilt (geo.map_shapes.refresh_map_shapes: town and
   county unions, coverage simplification per zoom band): what the job costs when
   boundaries change; and the kept counts (geo.map_counts.refresh_map_counts: what
   the worker repeats every minute);
2. the naive map: folium with every village polygon at full detail, its Leaflet
   served locally (folium's CDNs are out of reach here), built in Python (time, size
   of the HTML, and gzipped) and opened in headless Chromium (bytes transferred, time
   until drawn); with `--naive-cache` its HTML is kept in var/bench-naive-map and
   reused by the next run (its build time as measured then), only drawn again;
3. ours: gunicorn serving the copy, an administrator (the whole province) opening
   the open matters map and the completion density map in the same Chromium (bytes
   transferred as compressed on the wire, time until the map is drawn), then
   zooming and panning (bytes per move); `--waterfall` prints the first view's
   requests (when each started and ended, after the page was asked for).

folium is not one of the app's dependencies (the maps use Leaflet directly): the
bench imports it from var/benchlib, and installs it there from the package registry
the first time (`pip install --target var/benchlib folium==0.20.0`).

Goals (issue 13): the first view at most 1 MB transferred, at least 100x smaller and
at least 10x faster to render than the naive map; each pan or zoom at most 150 KB.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.common import ROOT, load_average, synthetic_url
from bench.page_weight import CHROMIUM_ARGS
from bench.serve import free_port, start_server

SOURCE, COPY = "gridlink_synthetic_worked", "gridlink_synthetic_maps"
FIRST_GOAL, MOVE_GOAL = 1024 * 1024, 150 * 1024
VIEWPORT = {"width": 1400, "height": 1000}
ACCOUNT = "bench_maps_admin"
# Moves after the first view: (what, zoom, pan in screen fractions east/north)
MOVES = [("zoom to a county (towns)", 9.5, 0, 0), ("pan east", 9.5, 0.5, 0),
         ("zoom to villages", 11, 0, 0), ("pan north", 11, 0, 0.5),
         ("zoom to matters", 13, 0, 0), ("pan east", 13, 0.5, 0),
         ("zoom out to the province", 7, 0, 0)]


# --- the database: a copy, migrated, its shapes built ---------------------------------

def prepare(keep_shapes: bool, copy: str = COPY) -> tuple[object, dict]:
    from bench.my_matters import require_worked

    source = synthetic_url(SOURCE)
    url = source.set(database=copy)
    server = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": copy})
        if not exists:
            require_worked(source)  # made by bench (i); only read here
            for attempt in range(10):  # the template must have no other connection
                try:
                    conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{SOURCE}"'))
                    break
                except Exception:  # someone is connected to the template: wait, retry
                    if attempt == 9:
                        raise
                    time.sleep(60)
    server.dispose()
    from models.migrate import upgrade

    engine = create_engine(url)
    upgrade(engine)
    facts = {}
    with Session(engine) as session:
        if not keep_shapes or not session.scalar(text("SELECT count(*) FROM map_shapes")):
            from geo.map_shapes import refresh_map_shapes

            start = time.perf_counter()
            refresh_map_shapes(session)
            session.commit()
            facts["refresh_s"] = time.perf_counter() - start
        from geo.map_counts import refresh_map_counts

        start = time.perf_counter()
        facts["kept_areas"] = refresh_map_counts(session)
        session.commit()
        facts["counts_s"] = time.perf_counter() - start
        facts["villages"] = session.scalar(text(
            "SELECT count(*) FROM grids WHERE level = 'village' AND generation_high IS NULL"))
        facts["open"] = session.scalar(text(
            "SELECT count(*) FROM matters WHERE state IN ('assigned', 'accepted', "
            "'dispatched', 'escalated')"))
    engine.dispose()
    facts["password"] = _account(url)
    return url, facts


def _account(url) -> str:
    """An administrator for the browser, made through the app (its audit key signs
    the record, as a served page's would)."""
    from admin import create_app
    from models import User, db
    from models.accounts import Role

    password = secrets.token_urlsafe(12)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == ACCOUNT)) or User(
            username=ACCOUNT, display_name=ACCOUNT, role=Role.admin, active=True,
            must_change_password=False)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return password


# --- the naive map ----------------------------------------------------------------------

BENCHLIB, FOLIUM = ROOT / "var" / "benchlib", "folium==0.20.0"


def _folium():
    """folium, for the bench only: installed into var/benchlib from the package registry
    the first time (not one of the app's dependencies)."""
    import importlib
    import subprocess

    sys.path.append(str(BENCHLIB))  # after the venv: its own packages win
    try:
        return importlib.import_module("folium")
    except ImportError:
        print(f"installing {FOLIUM} into {BENCHLIB} (once)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target",
                        str(BENCHLIB), FOLIUM], check=True)
        importlib.invalidate_caches()
        return importlib.import_module("folium")


def build_naive(url, folder: Path) -> dict:
    """folium, every village at full detail: what a first attempt does."""
    folium = _folium()

    leaflet = Path(__import__("flask_admin").__file__).parent / "static/vendor/leaflet"
    for name in ("leaflet.js", "leaflet.css"):
        shutil.copy(leaflet / name, folder / name)
    start = time.perf_counter()
    engine = create_engine(url)
    with engine.connect() as conn:
        collection = conn.scalar(text(
            "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg("
            "json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom)::json, "
            "'properties', json_build_object('name', name, 'code', code))))::text "
            "FROM grids WHERE level = 'village' AND generation_high IS NULL"))
    engine.dispose()
    m = folium.Map(location=[22.9, 113.4], zoom_start=7, tiles=None)
    m.default_js = [("leaflet", "leaflet.js")]
    m.default_css = [("leaflet_css", "leaflet.css")]
    folium.GeoJson(collection, name="villages",
                   tooltip=folium.GeoJsonTooltip(fields=["name", "code"])).add_to(m)
    html = m.get_root().render()
    built = time.perf_counter() - start
    (folder / "naive.html").write_text(html, encoding="utf-8")
    raw = len(html.encode())
    return {"build_s": built, "html_bytes": raw,
            "gzip_bytes": len(gzip.compress(html.encode(), compresslevel=6))}


NAIVE_CACHE = ROOT / "var" / "bench-naive-map"


def cached_naive(url, keep: bool) -> tuple[Path, dict]:
    """The naive map's folder and its build figures: built now in a temporary folder,
    or with `keep` reused from var/bench-naive-map (built there the first time; its
    build figures are those of that run)."""
    if not keep:
        folder = Path(tempfile.mkdtemp(prefix="gridlink-naive-map-"))
        return folder, build_naive(url, folder)
    facts = NAIVE_CACHE / "build.json"
    if not facts.exists():
        NAIVE_CACHE.mkdir(parents=True, exist_ok=True)
        built = build_naive(url, NAIVE_CACHE) | {"built_on": time.strftime("%Y-%m-%d %H:%M")}
        facts.write_text(json.dumps(built))
    return NAIVE_CACHE, json.loads(facts.read_text())


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


# --- measuring in Chromium ----------------------------------------------------------------

PAINTED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
SETTLED = "#gridlink-committee-map[data-areas]:not([data-loading])"
# ... and what is drawn is the view shown, not one the map has since moved from.
# (A script older than data-zoom is judged by its level, which follows the zoom.)
DRAWN_AS_SHOWN = """() => { const el = $('#gridlink-committee-map');
  const zoom = el.data('map').getZoom(), drawn = el.attr('data-zoom');
  if (el.attr('data-loading')) { return false; }
  if (drawn !== undefined) { return drawn === String(zoom); }
  return el.attr('data-level') === (zoom < 9 ? 'county' : zoom < 11 ? 'town' : 'village'); }"""


def _recorder(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    received: list[int] = []
    cdp.on("Network.loadingFinished", lambda e: received.append(int(e["encodedDataLength"])))
    return received


def measure_naive(browser, base: str) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    received = _recorder(context, page)
    start = time.perf_counter()
    page.goto(base + "/naive.html", wait_until="load", timeout=600_000)
    page.evaluate(PAINTED)
    result = {"render_s": time.perf_counter() - start, "bytes": sum(received)}
    context.close()
    return result


def sign_in(page, base: str, password: str) -> None:
    page.goto(base + "/admin/auth/")
    page.fill("#username", ACCOUNT)
    page.fill("#password", password)
    page.click("#gridlink-login button[type=submit]")
    page.wait_for_url(base + "/admin/**")


def _short(url: str) -> str:
    """A request's path's end, and its zoom and level when it has them."""
    path, _, query = url.partition("?")
    asked = [p for p in query.split("&") if p.startswith(("zoom=", "level="))]
    return path[-40:] + (" (" + " ".join(asked) + ")" if asked else "")


def _waterfall(context, page, start: list) -> list:
    """Each request of the page: (path, asked at, done at), seconds after `start`."""
    asked: dict[str, tuple[str, float]] = {}
    rows: list = []
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent", lambda e: asked.setdefault(
        e["requestId"], (_short(e["request"]["url"]), time.perf_counter())))
    cdp.on("Network.loadingFinished", lambda e: e["requestId"] in asked and rows.append(
        (asked[e["requestId"]][0], asked[e["requestId"]][1] - start[0],
         time.perf_counter() - start[0], int(e["encodedDataLength"]))))
    return rows


def measure_ours(browser, base: str, password: str, path: str, moves: bool,
                 waterfall: bool = False) -> dict:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, password)
    received = _recorder(context, page)
    clock = [0.0]
    rows = _waterfall(context, page, clock) if waterfall else []
    start = clock[0] = time.perf_counter()
    page.goto(base + path)
    page.wait_for_selector(SETTLED, timeout=300_000)
    page.wait_for_function(DRAWN_AS_SHOWN, timeout=300_000)
    page.evaluate(PAINTED)
    result = {"render_s": time.perf_counter() - start, "bytes": sum(received),
              "waterfall": list(rows),
              "zoom": page.evaluate("() => $('#gridlink-committee-map').data('map').getZoom()"),
              "moves": []}
    page.wait_for_load_state("networkidle")
    for what, zoom, east, north in MOVES if moves else []:
        received.clear()
        t = time.perf_counter()
        page.evaluate("""([zoom, east, north]) => {
            const el = $('#gridlink-committee-map'), map = el.data('map');
            el.attr('data-loading', '1');
            const size = map.getSize();
            const to = map.containerPointToLatLng([size.x * (0.5 + east), size.y * (0.5 - north)]);
            map.setView(to, zoom);
        }""", [zoom, east, north])
        page.wait_for_selector(SETTLED, timeout=300_000)
        page.wait_for_load_state("networkidle")
        result["moves"].append((what, zoom, sum(received), time.perf_counter() - t))
    context.close()
    return result


# --- the run ---------------------------------------------------------------------------

def measure_before(browser, root: Path, url, password: str) -> dict:
    """The first views as another checkout serves them (an earlier commit, exported
    with `git archive`), on the same database: where this branch started."""
    env = dict(os.environ, DATABASE_URL=url.render_as_string(hide_password=False),
               PYTHONPATH=str(root))
    port = free_port()
    server = start_server(env, port, workers=2, root=root)
    try:
        base = f"http://127.0.0.1:{port}"
        return {name: measure_ours(browser, base, password, f"/admin/maps/{name}/",
                                   moves=False)
                for name in ("open", "density")}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def run(skip_naive: bool, keep_shapes: bool, naive_cache: bool = False, copy: str = COPY,
        waterfall: bool = False, before: Path | None = None) -> dict:
    """Every figure of the run (printed as it goes), and whether the goals were met."""
    from playwright.sync_api import sync_playwright

    print(f"load average before: {load_average()}")
    url, facts = prepare(keep_shapes, copy)
    if "refresh_s" in facts:
        print(f"precomputed shapes rebuilt from {facts['villages']:,} villages in "
              f"{facts['refresh_s']:.0f} s (a job, when boundaries change)")
    print(f"kept counts of {facts['kept_areas']:,} areas made in {facts['counts_s']:.1f} s "
          f"(the worker's job, every minute)")
    if skip_naive:
        folder, naive = Path(tempfile.mkdtemp(prefix="gridlink-naive-map-")), None
    else:
        cached = naive_cache and (NAIVE_CACHE / "build.json").exists()
        folder, naive = cached_naive(url, naive_cache)
        if cached:
            print(f"naive map's HTML reused from {folder} (built {naive['built_on']}; "
                  "its build time is that run's)")
    httpd, naive_base = serve_folder(folder)
    env = dict(os.environ, DATABASE_URL=url.render_as_string(hide_password=False))
    port = free_port()
    server = start_server(env, port, workers=2)
    ours, earlier = {}, {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM",
                                                                       "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)
            base = f"http://127.0.0.1:{port}"
            ours["open"] = measure_ours(browser, base, facts["password"], "/admin/maps/open/",
                                        moves=True, waterfall=waterfall)
            ours["density"] = measure_ours(browser, base, facts["password"],
                                           "/admin/maps/density/", moves=True,
                                           waterfall=waterfall)
            if naive:
                naive |= measure_naive(browser, naive_base)
            if before:
                earlier = measure_before(browser, before, url, facts["password"])
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        httpd.shutdown()
        if folder != NAIVE_CACHE:
            shutil.rmtree(folder, ignore_errors=True)
    met = report(naive, ours, facts, earlier)
    return {"met": met, "naive": naive, "ours": ours, "before": earlier,
            "facts": {k: v for k, v in facts.items() if k != "password"}}


def summary(result: dict) -> list[tuple[str, str]]:
    """bench.run's lines: each map's first view against the naive map, its largest move."""
    kb, naive, rows = 1024, result["naive"], []
    if naive:
        rows.append(("(l) naive map (folium, every village)",
                     f"{naive['bytes'] / kb / kb:.1f} MB, drawn in {naive['render_s']:.1f} s"))
    for name, r in result["ours"].items():
        text_ = f"{r['bytes'] / kb:.0f} KB, drawn in {r['render_s']:.2f} s"
        if naive:
            text_ += (f" = {naive['bytes'] / r['bytes']:.0f}× smaller, "
                      f"{naive['render_s'] / r['render_s']:.1f}× faster")
        if r["moves"]:
            text_ += f"; moves at most {max(m[2] for m in r['moves']) / kb:.0f} KB"
        rows.append((f"(l) {name} map, first view", text_))
    rows.append(("(l) goals", "met" if result["met"] else "NOT met"))
    return rows


def report(naive, ours, facts, earlier=None) -> bool:
    kb = 1024
    ok = True
    print(f"\n{facts['villages']:,} villages, {facts['open']:,} open matters")
    if naive:
        print(f"naive folium map: {naive['html_bytes'] / kb / kb:.1f} MB of HTML "
              f"({naive['gzip_bytes'] / kb / kb:.1f} MB gzipped), built in "
              f"{naive['build_s']:.1f} s; transferred {naive['bytes'] / kb / kb:.1f} MB, "
              f"drawn in {naive['render_s']:.1f} s")
    for name, r in ours.items():
        line = (f"{name} map, first view (zoom {r['zoom']:.2f}): {r['bytes'] / kb:.0f} KB "
                f"transferred, drawn in {r['render_s']:.2f} s")
        if naive:
            smaller, faster = naive["bytes"] / r["bytes"], naive["render_s"] / r["render_s"]
            line += f"; {smaller:.0f}x smaller, {faster:.1f}x faster than the naive map"
            ok &= smaller >= 100 and faster >= 10
        ok &= r["bytes"] <= FIRST_GOAL
        print(line)
        for what, asked, done, size in r["waterfall"]:
            print(f"    {asked:6.3f} → {done:6.3f} s  {size / kb:7.1f} KB  {what}")
        for what, zoom, size, seconds in r["moves"]:
            ok &= size <= MOVE_GOAL
            print(f"  {what} (zoom {zoom}): {size / kb:.0f} KB in {seconds:.2f} s")
    for name, r in (earlier or {}).items():
        line = (f"before: {name} map, first view: {r['bytes'] / kb:.0f} KB, drawn in "
                f"{r['render_s']:.2f} s")
        if naive:
            line += f" ({naive['render_s'] / r['render_s']:.1f}x faster than the naive map)"
        print(line + f"; now {r['render_s'] / ours[name]['render_s']:.1f}x faster")
    print("goals (first view <= 1 MB, >= 100x smaller, >= 10x faster; each move <= 150 KB):",
          "met" if ok else "NOT met")
    print(f"load average after: {load_average()}")
    return ok


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--keep-shapes", action="store_true",
                        help="reuse the copy's shapes when it has them (not rebuilt)")
    parser.add_argument("--naive-cache", action="store_true",
                        help="keep the naive map's HTML in var/bench-naive-map and reuse it")
    parser.add_argument("--copy", default=COPY, help=f"the database to work on ({COPY})")
    parser.add_argument("--waterfall", action="store_true",
                        help="print the first view's requests and their timing")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="also time the first views served by another checkout (e.g. "
                             "`git archive main | tar -x -C DIR`) on the same database")
    args = parser.parse_args(argv)
    sys.exit(0 if run(args.skip_naive, args.keep_shapes, args.naive_cache, args.copy,
                      args.waterfall, args.before)["met"] else 1)


if __name__ == "__main__":
    main()
