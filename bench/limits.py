"""(e) Peak memory of a boundary import on the nastiest files the limits accept.

    .venv/bin/python -m bench.limits        (or: python -m bench.run --only e)

Goal: no single request or command over 500 MB on any file the limits accept
(geo.import_file: 50 MB a file, 100 MB unzipped, 500,000 vertices with each feature
counting as 20 more, so at most 25,000 features; a GeoJSON feature of about 200,000
vertices; the app's MAX_CONTENT_LENGTH: 50 MB a request).

A throwaway PostGIS with the Yunfu demo is started for the run (as the tests do) and
stopped after. Each file is imported twice, each time in a fresh process:

- `gridlink grids import FILE` (a dry run), the real command: its peak resident
  memory is the wrapper's RUSAGE_CHILDREN high-water mark;
- the upload page: a Flask test client signs in, uploads the file and opens the
  preview (report, topology check and map shapes): the larger VmHWM of the two
  requests, each measured from a reset of the high-water mark.

The baseline is the same two with a small normal file (one village redrawn),
measured in the same run. PostgreSQL's own memory is not counted (another process,
bounded by its settings).
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.common import GRIDLINK, ROOT, memory_kb, stopwatch

GOAL_MB = 500
VILLAGE = "445302001003"  # 星岩社区, in the demo


# ---------------------------------------------------------------- the files

def _circle(cx: float, cy: float, r: float, n: int, spike: float = 0.0,
            digits: int | None = 7) -> list:
    """A ring of n vertices (a star when spike > 0), rounded as files have them (7
    decimals; digits=None: every digit of a double, as some GIS exports write)."""
    ring = [[cx + (r + spike * (k % 2)) * math.cos(2 * math.pi * k / n),
             cy + (r + spike * (k % 2)) * math.sin(2 * math.pi * k / n)] for k in range(n)]
    if digits is not None:
        ring = [[round(lon, digits), round(lat, digits)] for lon, lat in ring]
    return [*ring, ring[0]]


def _square(cx: float, cy: float, half: float) -> list:
    return [[round(cx + dx * half, 7), round(cy + dy * half, 7)]
            for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))]


def _write_geojson(path: Path, features) -> Path:
    """features: (code, name, ring) one at a time, written as they come."""
    with path.open("w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[')
        for i, (code, name, ring) in enumerate(features):
            f.write(("," if i else "") + json.dumps(
                {"type": "Feature", "properties": {"code": code, "name": name},
                 "geometry": {"type": "Polygon", "coordinates": [ring]}},
                ensure_ascii=False, separators=(",", ":")))
        f.write("]}")
    return path


def _villages(url: str) -> list[tuple[str, float, float]]:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) AS p "
            "FROM grids WHERE level = 'village' AND generation_high IS NULL) v "
            "ORDER BY code")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def build_files(folder: Path, url: str) -> dict[str, Path]:
    from geo.import_file import FEATURE_VERTICES, MAX_FILE_BYTES, MAX_VERTICES
    villages = _villages(url)
    code, x, y = next(v for v in villages if v[0] == VILLAGE)
    files = {"normal: one village redrawn": _write_geojson(
        folder / "normal.geojson", [(code, "星岩社区", _circle(x, y, 0.002, 200))])}

    # A Shapefile of the most features allowed, all with one code (the report was
    # quadratic in them): small squares, zipped.
    import numpy as np
    import pyogrio
    import shapely
    n = MAX_VERTICES // (5 + FEATURE_VERTICES)  # as many squares as allowed
    squares = shapely.box(x + np.arange(n) % 300 * 1e-5, y + np.arange(n) // 300 * 1e-5,
                          x + np.arange(n) % 300 * 1e-5 + 8e-6,
                          y + np.arange(n) // 300 * 1e-5 + 8e-6)
    shp = folder / "same-code" / "villages.shp"
    shp.parent.mkdir()
    pyogrio.raw.write(shp, shapely.to_wkb(squares), [np.array([code] * n, dtype=object),
                                                     np.array(["村"] * n, dtype=object)],
                      ["code", "name"], driver="ESRI Shapefile", crs="EPSG:4326",
                      encoding="UTF-8", geometry_type="Polygon")
    same_code = folder / "same-code.zip"
    with zipfile.ZipFile(same_code, "w", zipfile.ZIP_DEFLATED) as z:
        for part in shp.parent.iterdir():
            z.write(part, part.name)
    files[f"zipped Shapefile: {n:,} squares, one code"] = same_code

    # Near the size and vertex limits: micro-grids of 400 vertices in many villages,
    # every one with its own code (so each goes through every check), every digit of
    # a double written out.
    def micro_grids(total: int, digits: int | None):
        grids = ((f"{vcode}{k + 1:03d}", f"网格{k + 1}",
                  _circle(vx + (k % 10 - 4.5) * 2e-4, vy + (k // 10 - 4.5) * 2e-4, 8e-5,
                          400, digits=digits))
                 for vcode, vx, vy in villages for k in range(100))
        return (g for _, g in zip(range(total // 401), grids, strict=False))

    vertices = int(MAX_VERTICES * 0.98 / (1 + FEATURE_VERTICES / 401))
    files[f"GeoJSON: {vertices:,} vertices in micro-grids of 400"] = _write_geojson(
        folder / "near-limit.geojson", micro_grids(vertices, None))

    # The most features allowed, each with its own code: micro-grid squares in the
    # demo's villages, all through every check and written (in the dry run's savepoint).
    squares = ((f"{vcode}{k + 1:03d}", f"网格{k + 1}",
                _square(vx + (k % 11 - 5) * 2e-4, vy + (k // 11 - 5) * 2e-4, 7e-5))
               for k in range(-(-n // len(villages))) for vcode, vx, vy in villages)
    files[f"GeoJSON: {n:,} micro-grids, each its own code"] = _write_geojson(
        folder / "many-features.geojson",
        (g for _, g in zip(range(n), squares, strict=False)))

    # Nearly the largest single GeoJSON feature GDAL is let read: a village redrawn
    # with a vertex every centimetre.
    files["GeoJSON: one village of 150,000 vertices"] = _write_geojson(
        folder / "large-feature.geojson",
        [(code, "星岩社区", _circle(x, y, 0.002, 150_000, digits=None))])

    # Refused: one feature of 1.9 million vertices, a file of just more vertices than
    # allowed, a zip bomb (2 MB unpacking to 1 GB), and a file over the size limit.
    files["refused: GeoJSON, one village of 1,900,000 vertices"] = _write_geojson(
        folder / "huge-feature.geojson",
        [(code, "星岩社区", _circle(x, y, 0.003, 1_900_000, 0.0002))])
    files[f"refused: GeoJSON, {MAX_VERTICES * 1.05:,.0f} vertices"] = _write_geojson(
        folder / "over-vertices.geojson", micro_grids(int(MAX_VERTICES * 1.05), 7))
    bomb = folder / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, z.open("villages.shp",
                                                                      "w") as member:
        for _ in range(1024):
            member.write(b"\0" * 2**20)
    files["refused: zip bomb, 1 GB unzipped"] = bomb
    over = folder / "over-limit.geojson"
    shutil.copy(files["normal: one village redrawn"], over)
    with over.open("a") as f:
        f.write(" " * (MAX_FILE_BYTES + 2**20))
    files["refused: GeoJSON over 50 MB"] = over
    for path in files.values():
        assert path.stat().st_size <= MAX_FILE_BYTES or path == over, path
    return files


# ---------------------------------------------------------------- measuring

def _cli_peak_mb(path: Path, env: dict) -> tuple[float, float, str]:
    """The real command in a wrapper process: its child's peak resident memory."""
    with stopwatch() as seconds:
        out = subprocess.run([sys.executable, "-m", "bench.limits", "--cli", str(path)],
                             env=env, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["peak_kb"] / 1024, seconds(), result["outcome"]


def _page_peak_mb(path: Path, env: dict) -> tuple[float, float, str]:
    with stopwatch() as seconds:
        out = subprocess.run([sys.executable, "-m", "bench.limits", "--page", str(path)],
                             env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["peak_kb"] / 1024, seconds(), result["outcome"]


def child_cli(path: str) -> None:
    done = subprocess.run([*GRIDLINK, "grids", "import", path], capture_output=True,
                          text=True)
    last = (done.stdout.strip().splitlines() or [""])[-2:] + done.stderr.strip().splitlines()
    outcome = f"exit {done.returncode}: " + " | ".join(line[:150] for line in last[-2:])
    print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                      "outcome": outcome}, ensure_ascii=False))


def _reset_peak() -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so that each request is
    measured on its own, not the test client's own copy of the body before it."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def child_page(path: str) -> None:
    from admin import create_app
    from seeds.accounts import DEMO_PASSWORD
    app = create_app({"TESTING": True, "UPLOAD_FOLDER": os.environ["BENCH_UPLOADS"]})
    client = app.test_client()
    page = client.get("/admin/auth/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/admin/auth/", data={"username": "demo_admin", "password": DEMO_PASSWORD,
                                      "csrf_token": csrf})
    with open(path, "rb") as f:  # streamed from the file, as a browser sends it
        _reset_peak()
        response = client.post("/admin/import/", data={
            "file": (f, Path(path).name), "crs": "wgs84", "level": "",
            "csrf_token": csrf}, content_type="multipart/form-data")
        peak = upload_peak = memory_kb()["VmHWM"]
    if response.status_code == 302:
        _reset_peak()
        preview = client.get(response.headers["Location"])
        peak = max(peak, memory_kb()["VmHWM"])
        outcome = (f"upload {upload_peak / 1024:.0f} MB, preview {memory_kb()['VmHWM'] / 1024:.0f}"
                   f" MB, {preview.status_code}")
        if preview.status_code == 302:  # refused: the reason is flashed on the form
            form = client.get(preview.headers["Location"]).get_data(as_text=True)
            flashed = re.search(r'alert-(?:danger|error)[^>]*>(.*?)</div>', form, re.S)
            outcome += ": " + re.sub(r"\s+|<[^>]+>|×", " ", flashed.group(1) if flashed
                                     else "").strip()[:150]
        else:
            summary = re.search(r"\d[\d,]* features — [^<]*", preview.get_data(as_text=True))
            outcome += ": " + (summary.group(0)[:150] if summary else "")
    else:
        outcome = f"upload {response.status_code}"
    print(json.dumps({"peak_kb": peak, "outcome": outcome}, ensure_ascii=False))


def _start_database(folder: Path) -> tuple[object, str]:
    from sqlalchemy import create_engine, text

    from admin import create_app
    from models import db
    from models.database import Cluster
    from models.migrate import upgrade
    from seeds.demo import load_demo
    cluster = Cluster(folder / "db", throwaway=True)
    port = cluster.start()
    server = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
                           isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text("CREATE DATABASE gridlink_bench_limits"))
    server.dispose()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/gridlink_bench_limits"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
        db.engine.dispose()
    return cluster, url


def run() -> dict:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the database on a kill
    folder = Path(tempfile.mkdtemp(prefix="gridlink-bench-limits-", dir="/var/tmp"))
    os.chmod(folder, 0o755)  # the throwaway cluster's postgres user reaches db/ inside
    cluster = None
    try:
        cluster, url = _start_database(folder)
        (folder / "files").mkdir()
        (folder / "uploads").mkdir()
        with stopwatch() as seconds:
            files = build_files(folder / "files", url)
        print(f"(e) files built in {seconds():.0f} s")
        env = {**os.environ, "DATABASE_URL": url, "BENCH_UPLOADS": str(folder / "uploads"),
               "PYTHONPATH": str(ROOT)}
        results = {}
        for name, path in files.items():
            cli, cli_s, cli_outcome = _cli_peak_mb(path, env)
            page, page_s, page_outcome = _page_peak_mb(path, env)
            results[name] = {"bytes": path.stat().st_size, "cli_mb": cli, "cli_s": cli_s,
                             "cli": cli_outcome, "page_mb": page, "page_s": page_s,
                             "page": page_outcome}
            print(f"(e) {name} ({path.stat().st_size / 2**20:.1f} MB): command {cli:.0f} MB "
                  f"in {cli_s:.0f} s, page {page:.0f} MB in {page_s:.0f} s\n"
                  f"      command: {cli_outcome}\n      page: {page_outcome}")
        return {"goal_mb": GOAL_MB, "files": results,
                "baseline": results["normal: one village redrawn"]}
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def summary(e: dict) -> list[tuple[str, str]]:
    base = e["baseline"]
    rows = [("(e) baseline, small file", f"command {base['cli_mb']:.0f} MB, "
                                          f"page {base['page_mb']:.0f} MB")]
    for name, r in e["files"].items():
        if r is base:
            continue
        worst = max(r["cli_mb"], r["page_mb"])
        rows.append((f"(e) {name}", f"command {r['cli_mb']:.0f} MB "
                                    f"(+{r['cli_mb'] - base['cli_mb']:.0f}), page "
                                    f"{r['page_mb']:.0f} MB (+{r['page_mb'] - base['page_mb']:.0f})"
                                    f" — {'within' if worst <= e['goal_mb'] else 'OVER'} "
                                    f"{e['goal_mb']} MB"))
    return rows


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--cli"]:
        return child_cli(argv[1])
    if argv[:1] == ["--page"]:
        return child_page(argv[1])
    print(f"(e) boundary-import memory, {time.strftime('%Y-%m-%d %H:%M')}")
    e = run()
    print(f"\nsummary (goal: every request and command ≤ {GOAL_MB} MB)")
    for key, value in summary(e):
        print(f"{key:<48}  {value}")


if __name__ == "__main__":
    main()
