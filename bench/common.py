"""What the benchmark's parts share: the synthetic database, a clock, the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine

from models.database import database_url
from seeds.synthetic_province import synthetic_url as seeds_synthetic_url

ROOT = Path(__file__).resolve().parent.parent
GRIDLINK = [str(Path(sys.executable).with_name("gridlink"))]


def synthetic_url(database: str) -> URL:
    """The synthetic database on the server the application uses (never its own)."""
    try:
        url = seeds_synthetic_url(database_url(), database)
    except ValueError as e:
        raise SystemExit(str(e)) from e
    return url.set(drivername="postgresql+psycopg")


def engine_for(url: URL) -> Engine:
    return create_engine(url, pool_size=2)


def has_province(url: URL) -> bool:
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                 {"d": url.database})
    finally:
        server.dispose()
    if not exists:
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT to_regclass('grids') IS NOT NULL AND EXISTS (SELECT 1 FROM grids)")))
    finally:
        engine.dispose()


def ensure_province(url: URL) -> None:
    """Build the synthetic province with the real command when its database is missing."""
    if has_province(url):
        return
    print(f"{url.database} has no province yet: `gridlink seed synthetic` (about 2 minutes)")
    subprocess.run([*GRIDLINK, "seed", "synthetic", "--database", url.database], check=True)


@contextmanager
def stopwatch():
    """with stopwatch() as t: …; t() is the seconds taken (so far, then in all)."""
    start, end = time.perf_counter(), None

    def seconds() -> float:
        return (end or time.perf_counter()) - start

    yield seconds
    end = time.perf_counter()


def memory_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak resident) of a process, in kB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def machine(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        pg = conn.scalar(text("SHOW server_version"))
        postgis = conn.scalar(text("SELECT extversion FROM pg_extension "
                                   "WHERE extname = 'postgis'"))
        geos = conn.scalar(text("SELECT postgis_geos_version()"))
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": str(os.cpu_count()), "RAM": f"{ram:.0f} GiB",
            "system": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(),
            "PostgreSQL": pg.split()[0], "PostGIS": f"{postgis} (GEOS {geos})"}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_summary(result: dict, goal: str, rows, json_path: str | None, width: int = 44) -> None:
    """A part's closing lines: its summary against the goal, the load around it, and the
    whole result as JSON when asked for (`--json`)."""
    print(f"\nsummary (goal: {goal})")
    for key, value in rows:
        print(f"{key:{width}}  {value}")
    print(f"load average before / after: {result['load_before']} / {result['load_after']}")
    if json_path:
        Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=1,
                                              default=str))
