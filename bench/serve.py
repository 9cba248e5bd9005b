"""(c) /api/v1/locate under a bounded local load, and (d) a serving worker's memory.

gunicorn serves the synthetic database as in production (`gridlink serve`:
sync workers, here 2), authenticated by a court system's API token issued with
`gridlink tokens issue`. A closed-loop client keeps N connections busy for a
fixed number of requests per endpoint — a trivial one (/api/v1/me: the token
check and the commit every API request does) and locate by address and by
lon/lat — and the percentiles of locate are given as ratios to the trivial
endpoint's under the same load. The client shares the machine's cores with the
server and PostgreSQL, as a court system on the same host would.

Afterwards each worker's peak resident memory (VmHWM) is read from /proc. Every
worker builds its own gazetteer (the name index: under 180 MB for the province);
polygons stay in PostgreSQL's shared buffers, shared by all workers.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.common import GRIDLINK, ROOT, memory_kb, stopwatch
from bench.geocode import addresses

TOKEN_LABEL = "benchmark (bench/serve.py)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def issue_token(env: dict, engine) -> str:
    """A token of a base court, with the real command."""
    with Session(engine) as session:
        court = session.scalar(text("SELECT name FROM courts WHERE kind = 'base' "
                                    "ORDER BY name LIMIT 1"))
    out = subprocess.run([*GRIDLINK, "tokens", "issue", court, "--label", TOKEN_LABEL],
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def start_server(env: dict, port: int, workers: int, root: Path = ROOT) -> subprocess.Popen:
    """gunicorn serving the checkout at `root` (another one: a before/after comparison)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--timeout", "120", "admin.wsgi:app"],
        env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError as e:
            if server.poll() is not None:
                raise RuntimeError("gunicorn stopped: " + server.stderr.read().decode()[-2000:]
                                   ) from e
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start in 60 s")


def workers_of(server: subprocess.Popen, workers: int) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    deadline = time.monotonic() + 30
    while len(pids := children.read_text().split()) < workers and time.monotonic() < deadline:
        time.sleep(0.2)
    return [int(pid) for pid in pids]


def get(port: int, path: str, token: str | None,
        headers: dict | None = None) -> tuple[int, float, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one), with
    an API token or other headers (a session cookie)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = dict(headers or {}) | ({"Authorization": f"Bearer {token}"} if token else {})
    conn.request("GET", path, headers=sent)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, time.perf_counter() - start, body


def load(port: int, token: str, paths: list[str], concurrency: int) -> dict:
    """Closed loop: `concurrency` clients each send their next request as soon as the
    previous one is answered, until every path was requested once."""
    latencies, failures, lock, queue = [], [], threading.Lock(), iter(paths)

    def client():
        while True:
            with lock:
                path = next(queue, None)
            if path is None:
                return
            status, seconds, body = get(port, path, token)
            with lock:
                latencies.append(seconds)
                if status != 200:
                    failures.append((status, path, body[:200]))

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    with stopwatch() as t:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": len(latencies), "failures": len(failures),
            "failure_examples": failures[:3], "seconds": t(),
            "per_second": len(latencies) / t(), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def _paths(engine, count: int) -> dict[str, list[str]]:
    with Session(engine) as session:
        written = [a for a, _ in addresses(session, count, seed=7)]
        points = session.execute(text(
            "SELECT ST_X(geom), ST_Y(geom) FROM matter_addresses TABLESAMPLE SYSTEM (1) "
            "REPEATABLE (3) LIMIT :n"), {"n": count}).all()
    random.Random(3).shuffle(points)
    return {"me": ["/api/v1/me"] * count,
            "locate address": [f"/api/v1/locate?address={quote(a.strip())}" for a in written],
            "locate lon/lat": [f"/api/v1/locate?lon={x:.6f}&lat={y:.6f}" for x, y in points]}


def run(engine, url, workers: int = 2, concurrency: int = 4, count: int = 2000,
        log=print) -> dict:
    env = dict(os.environ, DATABASE_URL=url.render_as_string(hide_password=False))
    token = issue_token(env, engine)
    paths = _paths(engine, count)
    port = free_port()
    server = start_server(env, port, workers)
    try:
        pids = workers_of(server, workers)
        idle = {pid: memory_kb(pid)["VmRSS"] for pid in pids}
        # Warm up: every worker builds its gazetteer and opens its connections.
        warm = load(port, token, paths["locate address"][:40] + paths["locate lon/lat"][:40],
                    workers * 2)
        if warm["failures"]:
            raise RuntimeError(f"locate failed: {warm['failure_examples']}")
        log(f"(c) gunicorn, {workers} sync workers on 127.0.0.1:{port}; {concurrency} "
            f"concurrent clients, {count:,} requests per endpoint")
        result = {"workers": workers, "concurrency": concurrency, "requests": count,
                  "endpoints": {}}
        for name, endpoint_paths in paths.items():
            result["endpoints"][name] = figures = load(port, token, endpoint_paths, concurrency)
            log(f"    {name}: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                f"{figures['per_second']:.0f}/s, {figures['failures']} failures")
        me = result["endpoints"]["me"]
        for name in ("locate address", "locate lon/lat"):
            figures = result["endpoints"][name]
            figures["p50_ratio"] = figures["p50_ms"] / me["p50_ms"]
            figures["p99_ratio"] = figures["p99_ms"] / me["p99_ms"]
            log(f"    {name} / me: p50 {figures['p50_ratio']:.2f}×, "
                f"p99 {figures['p99_ratio']:.2f}×")
        memory = {pid: memory_kb(pid) | {"idle_rss": idle.get(pid, 0)} for pid in pids}
        result["memory"] = {
            "workers": memory, "master_hwm_kb": memory_kb(server.pid)["VmHWM"],
            "peak_worker_hwm_mb": max(m["VmHWM"] for m in memory.values()) / 1024}
        log("(d) workers' peak resident memory (VmHWM): " + ", ".join(
            f"{m['VmHWM'] / 1024:.0f} MB (before the first request {m['idle_rss'] / 1024:.0f})"
            for m in memory.values()))
        result["check"] = json.loads(get(port, paths["locate address"][0], token)[2])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run([*GRIDLINK, "tokens", "revoke", token[:12]], env=env, check=True,
                       capture_output=True)
    return result
