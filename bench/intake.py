"""(e) Bulk intake of matters at the documented maximum, through the upload page:

    .venv/bin/python -m bench.intake [--rows 20000] [--database-url URL]

Files built here, each measured in its own process (wall time of the request and
the process's peak resident memory, VmHWM):
- a valid workbook of --rows rows (demo addresses of 云城区, so they geocode):
  the report (GET) and the confirm (POST), against a 100-row file in the same run.
  The small file is filed while the request waits; the large one is queued and
  filed by the job runner (read again, file, locate, audit), timed here as
  `gridlink worker` runs it, in the same process (its memory counts);
- the nasty workbook: 20,000 rows of one cell each in the last column (XFD), about
  157 KB: its report, against loading it whole with openpyxl as naive code does;
- a workbook of --rows rows each with a wrong ID number (a bad cell on every row):
  the download of its bad rows, written row by row (openpyxl's write-only mode, as
  the app does), against the same download built as a normal workbook (every cell
  held until saved, as before) in the same run.
Goals: no request or job over 500 MB; every request well inside gunicorn's 30 s timeout.

    --only bad-rows   measures the bad-rows download and its baseline alone

The requests run on a throwaway PostGIS with the demo (about 30 s to set up) unless
--database-url names a server (the benchmark creates and drops its own database).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from bench.common import ROOT, load_average, memory_kb

GOAL_MB = 500
WORKER_TIMEOUT = 30  # gunicorn's default, which `gridlink serve` keeps
COURT = "云浮市云城区人民法院"
USER = "demo_court_yuncheng"
PASSWORD = "Yunfu2026demo"
DATABASE = "gridlink_bench_intake"
NAIVE_ROWS = 1000


# --- the files -------------------------------------------------------------------------

def _places() -> list[str]:
    with (ROOT / "seeds/yunfu-divisions.tsv").open(encoding="utf-8") as f:
        return [f"云浮市{r['county']}{r['town']}{r['village']}"
                for r in csv.DictReader(f, delimiter="\t") if r["county_adcode"] == "445302"]


def _id_number(n: int) -> str:
    from models.identity import id_check_character

    first17 = f"445302{date(1970, 1, 1) + timedelta(days=n % 15000):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def valid_workbook(n: int, first: int, bad: bool = False) -> bytes:
    """n service matters for 云城区's court, case numbers from `first` on, saved as
    Excel and WPS save them (text in the shared strings, the sheet's dimension given);
    `bad`: every ID number with a wrong check character."""
    from admin import matter_intake as intake
    from models.matter_types import MATTER_TYPE_LABELS, MatterType

    columns = intake.template_columns()
    headers = [c.header for c in columns]
    service = next(c for c in columns if c.spec_for(MatterType.service)
                   and c.spec_for(MatterType.service).name == "document_kinds")
    method = next(c for c in columns if c.spec_for(MatterType.service)
                  and c.spec_for(MatterType.service).name == "method")
    kinds = dict(service.spec_for(MatterType.service).choices)
    methods = dict(method.spec_for(MatterType.service).choices)
    places, year = _places(), date.today().year
    kind = intake.zh(MATTER_TYPE_LABELS[MatterType.service])
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for i in range(first, first + n):
        row = {"法院": COURT, "案号": f"（{year}）粤5302执{i}号", "事项类型": kind,
               "承办人": "李明", "承办人电话": "0766-8888001", "被执行人类型": "自然人",
               "被执行人": f"张{i}", "证件号码": _wrong(_id_number(i)) if bad else _id_number(i),
               "户籍地": places[i % len(places)],
               service.header: "、".join(intake.zh(kinds[k]) for k in ("judgment", "ruling")),
               method.header: intake.zh(methods["direct"])}
        sheet.append([row.get(h) for h in headers])
    return shared_strings(_save(book))


def _wrong(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] == "0" else "0")


INLINE = re.compile(r'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is><t>([^<]*)</t></is></c>')


def shared_strings(data: bytes) -> bytes:
    """The workbook with its text in a shared-strings table, as Excel and WPS write it
    (openpyxl writes each text into its cell, which openpyxl reads several times slower)."""
    strings: dict[str, int] = {}

    def shared(match) -> str:
        index = strings.setdefault(match.group(3), len(strings))
        return f'<c r="{match.group(1)}"{match.group(2) or ""} t="s"><v>{index}</v></c>'

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = INLINE.sub(shared, content.decode()).encode()
            elif item.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                    b"</Types>"))
            elif item.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/></Relationships>'))
            target.writestr(item, content)
        table = "".join(f"<si><t>{text}</t></si>" for text in strings)
        target.writestr("xl/sharedStrings.xml", (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{table}</sst>').encode())
    return out.getvalue()


def xfd_workbook(rows: int = 20_000) -> bytes:
    """The template's header, then one cell in the last column (XFD) on every row."""
    from admin import matter_intake as intake

    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in intake.template_columns()])
    for line in range(2, rows + 2):
        sheet.cell(line, 16384, 1)
    return _save(book)


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def normal_mode_bad_rows(report, say) -> bytes:
    """The bad-rows download as it was built before (the baseline): a normal workbook
    holding every cell until it is saved, the same layout and values."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from admin import excel
    from admin import matter_intake as intake
    from admin.cells import safe_row
    from admin.views.matter_import import BAD_FILL

    headers = [*report.headers, intake.ERROR_HEADER]
    bad = report.bad
    rows = [[*row.cells[:len(report.headers)], *[None] * (len(report.headers) - len(row.cells)),
             "；".join(f"{p.column}：{say(p)}" for p in row.problems)] for row in bad]
    book = Workbook()
    ws = book.active
    ws.title = "未导入的行"
    ws.append([f"未导入的行（{report.filename}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font, ws["A1"].alignment = excel.TITLE_FONT, excel.CENTRED
    ws.row_dimensions[1].height = 30
    ws.append(headers)
    for cell in ws[2]:
        cell.font, cell.fill, cell.border = excel.BOLD, excel.HEADER_FILL, excel.BORDER
        cell.alignment = excel.HEADING
    where = {h: i for i, h in enumerate(report.headers, start=1)}
    for line, (row, values) in enumerate(zip(bad, rows, strict=True), start=3):
        ws.append(safe_row(values))
        for cells in ws.iter_rows(min_row=line, max_row=line, max_col=len(headers)):
            for cell in cells:
                cell.border = excel.BORDER
        for problem in row.problems:
            if problem.column in where:
                ws.cell(line, where[problem.column]).fill = BAD_FILL
        ws.cell(line, len(headers)).font = Font(color="C00000")
    for i, header in enumerate(headers):
        widest = max([excel._width(header)] + [excel._width(r[i]) for r in rows])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(widest + 4, 60)
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    return _save(book)


# --- one measurement, in its own process -------------------------------------------------

def child(what: str, path: str, url: str) -> dict:
    """Run one request (or the naive load) and return its seconds and peak memory."""
    if what == "naive":
        return naive_read(path)
    if what == "bad-rows normal":  # the baseline: the download as a normal workbook
        from admin.views import matter_import

        matter_import.bad_rows_workbook = normal_mode_bad_rows
    from admin import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY_FILE": str(Path(path).parent / "secret_key")})
    client = app.test_client()
    login = client.get("/admin/auth/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert client.post("/admin/auth/", data={"username": USER, "password": PASSWORD,
                                             "csrf_token": csrf}).status_code == 302
    data = Path(path).read_bytes()
    upload = client.post("/admin/matter_import/", data={"file": (io.BytesIO(data),
                                                                 Path(path).name),
                                                        "csrf_token": csrf},
                         content_type="multipart/form-data")
    report_url = upload.headers["Location"]
    before = memory_kb()["VmHWM"] / 1024
    _reset_peak()  # from here VmHWM is the request's own peak (the app's share included)
    start = time.perf_counter()
    if what == "report":
        response = client.get(report_url)
    elif what.startswith("bad-rows"):
        response = client.get(report_url.split("?")[0] + "/bad-rows.xlsx")
        seconds, peak = time.perf_counter() - start, memory_kb()["VmHWM"] / 1024
        return {"seconds": seconds, "status": response.status_code,
                "hwm_mb": max(before, peak), "request_peak_mb": peak, "hwm_before_mb": before,
                "download_kb": len(response.data) / 1024, "download_rows": _rows(response.data)}
    else:
        response = client.post(report_url, data={"csrf_token": csrf})
    seconds, peak = time.perf_counter() - start, memory_kb()["VmHWM"] / 1024
    job = {}
    if "/admin/jobs/" in response.headers.get("Location", ""):
        # A large file is filed by the job runner: time what `gridlink worker` does.
        from admin.jobs import runner

        start = time.perf_counter()
        runner(url, app).run_worker(wait=False, install_signal_handlers=False)
        job = {"job_seconds": time.perf_counter() - start,
               "job": client.get(response.headers["Location"] + "status.json").get_json()}
        peak = memory_kb()["VmHWM"] / 1024
    page = client.get(report_url).get_data(as_text=True) if what == "confirm" else \
        response.get_data(as_text=True)
    counts = {k: _count(page, k) for k in ("rows", "bad", "new", "duplicates")}
    if response.status_code == 302 and what == "report":  # refused: the message is shown
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    flashed = re.findall(r'alert-(?:error|danger|success|info)[^>]*>\s*(?:<button[^>]*>'
                         r'[^<]*</button>)?\s*([^<]+)', page)
    return {"seconds": seconds, "status": response.status_code, "counts": counts,
            "hwm_mb": max(before, peak), "request_peak_mb": peak, "hwm_before_mb": before,
            "flashed": flashed, **job}


def _reset_peak() -> None:
    """Start VmHWM again from the present resident size (Linux: clear_refs 5), so
    that a request's own peak shows even below what the app's start once took."""
    Path("/proc/self/clear_refs").write_text("5")


def _rows(data: bytes) -> int:
    """Rows of a downloaded workbook's first sheet (read once its peak is taken)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return rows


def naive_read(path: str) -> dict:
    """The reading before the fix: every row as wide as its last cell, all kept."""
    from openpyxl import load_workbook

    start = time.perf_counter()
    book = load_workbook(path, read_only=True, data_only=True)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()
    rows = [list(cells) for cells in sheet.iter_rows(values_only=True)]
    return {"seconds": time.perf_counter() - start, "rows": len(rows),
            "cells": sum(len(r) for r in rows), "hwm_mb": memory_kb()["VmHWM"] / 1024}


def _count(page: str, key: str) -> int | None:
    marker = f'data-count="{key}">'
    at = page.find(marker)
    return int(page[at + len(marker):page.find("<", at)]) if at >= 0 else None


def measure(what: str, path: Path, url: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bench.intake", "--child", what, str(path),
                          url], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{what} {path.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the database --------------------------------------------------------------------------

def prepare_database(server: str | None, scratch: Path):
    """(url of a migrated database with the demo, a function that cleans up)."""
    from sqlalchemy import create_engine, make_url, text

    from models.database import Cluster

    cluster = None
    if server is None:
        cluster = Cluster(scratch / "pg", throwaway=True)
        server = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.start()}/postgres"
    server_url = make_url(server).set(drivername="postgresql+psycopg", database="postgres")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    url = server_url.set(database=DATABASE).render_as_string(hide_password=False)
    from admin import create_app
    from models import db
    from models.migrate import upgrade
    from seeds.demo import load_demo

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    # One key for the run (made in the scratch folder), as one installation has.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY_FILE": str(scratch / "secret_key")})
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
        db.engine.dispose()

    def clean_up():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()
        if cluster is not None:
            cluster.stop()

    return url, clean_up


# --- the run -------------------------------------------------------------------------------

def run(rows: int, server: str | None, only: str | None = None) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="gridlink-bench-intake-", dir="/var/tmp"))
    os.chmod(scratch, 0o755)
    try:
        url, clean_up = prepare_database(server, scratch)
        try:
            files = {"bad": (scratch / f"{rows}行-全错.xlsx", valid_workbook(rows, 1, bad=True))}
            if only is None:
                files |= {"small": (scratch / "100行.xlsx", valid_workbook(100, 1)),
                          "large": (scratch / f"{rows}行.xlsx", valid_workbook(rows, 100_000)),
                          "xfd": (scratch / "XFD.xlsx", xfd_workbook()),
                          "xfd small": (scratch / "XFD-1000.xlsx", xfd_workbook(NAIVE_ROWS))}
            for path, data in files.values():
                path.write_bytes(data)
            results = {"rows": rows, "sizes_kb": {k: len(d) / 1024 for k, (_, d) in
                                                  files.items()}}
            if only is None:
                for name in ("small", "large"):
                    for what in ("report", "confirm"):
                        results[f"{name} {what}"] = measure(what, files[name][0], url)
                        print(name, what, results[f"{name} {what}"], flush=True)
                results["xfd report"] = measure("report", files["xfd"][0], url)
                # The old reading of the whole nasty file would take gigabytes of a
                # shared machine: it reads a twentieth of it, and grows linearly.
                results["xfd old reader"] = measure("naive", files["xfd small"][0], url)
            results["all-bad report"] = measure("report", files["bad"][0], url)
            for what in ("bad-rows", "bad-rows normal"):
                results[what] = measure(what, files["bad"][0], url)
                print(what, results[what], flush=True)
            return results
        finally:
            clean_up()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def summary(results: dict) -> list[str]:
    out = []
    for key, figures in results.items():
        if not isinstance(figures, dict) or "seconds" not in figures:
            continue
        within = "within" if figures["hwm_mb"] <= GOAL_MB else "OVER"
        line = (f"{key:<16} {figures['seconds']:7.2f} s  peak {figures['hwm_mb']:6.0f} MB "
                f"({within} {GOAL_MB} MB)")
        if "request_peak_mb" in figures:
            line += (f", during the request {figures['request_peak_mb']:.0f} MB "
                     f"(before it {figures['hwm_before_mb']:.0f} MB)")
        if key.endswith("confirm"):
            line += (f"; {'within' if figures['seconds'] < WORKER_TIMEOUT else 'OVER'} the "
                     f"{WORKER_TIMEOUT} s worker timeout")
        if "job_seconds" in figures:
            line += (f"; queued, then the worker filed it in {figures['job_seconds']:.1f} s "
                     f"({figures['job']['state']}: {figures['job']['message']})")
        if figures.get("counts") and figures["counts"].get("rows") is not None:
            line += f"; page counts {figures['counts']}"
        if "download_rows" in figures:
            line += (f"; {figures['download_rows'] - 2:,} bad rows, "
                     f"{figures['download_kb']:,.0f} KB")
        if "cells" in figures:
            line += (f"; {figures['rows']:,} rows as {figures['cells']:,} cells "
                     f"(the whole file has {20_000 // NAIVE_ROWS}× as many)")
        if figures.get("flashed"):
            line += f"; says {' / '.join(f.strip() for f in figures['flashed'])}"
        out.append(line)
    sizes = ", ".join(f"{k} {v:,.0f} KB" for k, v in results["sizes_kb"].items())
    out.append(f"files: {sizes}; load average {load_average()}")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of a "
                        "throwaway one")
    parser.add_argument("--json", dest="json_path", help="write every figure here too")
    parser.add_argument("--only", choices=["bad-rows"], help="measure only this")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child), ensure_ascii=False))
        return
    results = run(args.rows, args.database_url, args.only)
    for line in summary(results):
        print(line)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
