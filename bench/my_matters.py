"""(i) A liaison's 我的事项 (their home page: the grid's open matters) at province scale.

    .venv/bin/python -m bench.my_matters [--requests 1000] [--rounds 4] [--explain]
        [--compressed [ACCEPT]]

The synthetic province (`gridlink seed synthetic`) has a million matters, all `new`,
no accounts and no grid workers. This bench works on a copy of it,
`gridlink_synthetic_worked` (made once, kept for later runs; `--rebuild` makes it
again), so that bench (a), which needs the matters new, keeps its database:

1. every matter is assigned by the real path, `geo.assign.assign_stored_points`,
   committed (about 4 minutes on a quiet machine): 1.3 million assignments;
2. the busiest town (most matters with their primary grid in its villages) and its
   busiest village get accounts standing for the people the roster names their
   liaisons (accounts.person_id), and the village a grid worker (a person, their
   roster entry, an account);
3. of the town's matters, set-based and deterministic (by a hash of the id): 20 %
   accepted, 30 % dispatched (to the grid worker in the busy village, kept by the
   village's liaison elsewhere), the rest assigned, each with its steps
   (matter_steps: 签收, 派给网格员) as models.workflow writes them (no audit records).
   Every other matter of the province stays assigned, i.e. open: the most the
   home page's filter can find, a conservative case (a lived year closes most).

gunicorn then serves the copy (2 sync workers, as bench (c)), each account signs in
through the sign-in page, and a closed-loop client (4 connections) asks, in rounds
that take turns so that the machine's noise falls on every endpoint alike:
- /api/v1/me with the town liaison's session cookie: the trivial endpoint (the
  session's account loaded, as every page does; JSON, no template);
- /admin/auth/password: the lightest page in the admin's frame (a form, no query
  beyond the account), a second baseline that includes rendering the frame;
- the home page (/admin/) of the town liaison, the village liaison and the grid
  worker, and the matter list (/admin/matter/) of the town liaison.
p50 and p99 of each, and their ratios to the trivial endpoint's. Goal (issue 11):
我的事项 within 2× the trivial endpoint, p50 and p99.

--explain runs the town liaison's home page and matter list in process and EXPLAIN
ANALYZEs every query each sends (the time of each, the plan of the slowest).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from bench.common import (
    ROOT,
    engine_for,
    ensure_province,
    load_average,
    print_summary,
    stopwatch,
    synthetic_url,
)
from bench.serve import free_port, get, start_server

WORKED = "gridlink_synthetic_worked"
GOAL = 2.0
# What Debian's Chromium 156 asks for, served over HTTP on this machine (measured).
CHROMIUM_ACCEPT = "gzip, deflate, br, zstd"
TOWN, VILLAGE, WORKER = "bench_town_liaison", "bench_liaison", "bench_worker"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- the worked copy of the province ---------------------------------------------------------

def _server(url: URL):
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _stage(url: URL) -> str:
    """How far the copy got: "missing", "copied" (matters still new), "assigned"
    (no accounts yet) or "ready". Each stage is committed, so a stopped setup resumes."""
    server = _server(url)
    try:
        with server.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                               {"d": url.database}):
                return "missing"
    finally:
        server.dispose()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT EXISTS (SELECT 1 FROM matters WHERE state = 'new')")):
                return "copied"
            made = conn.scalar(text("SELECT count(*) FROM accounts WHERE username IN "
                                    "(:t, :v, :w)"), {"t": TOWN, "v": VILLAGE, "w": WORKER})
            return "ready" if made == 3 else "assigned"
    finally:
        engine.dispose()


# Which town and village are busiest: the most matters whose primary grid lies there.
_BUSIEST = """
    SELECT g.code, count(*) AS matters
    FROM assignments a JOIN grids g ON g.id = a.grid_id
    WHERE a.ended_at IS NULL AND a.role = 'primary' AND g.code LIKE :prefix
    GROUP BY g.code ORDER BY matters DESC, g.code LIMIT 1"""
_BUSIEST_TOWN = """
    SELECT left(g.code, 9) AS town, count(*) AS matters
    FROM assignments a JOIN grids g ON g.id = a.grid_id
    WHERE a.ended_at IS NULL AND a.role = 'primary'
    GROUP BY 1 ORDER BY matters DESC, town LIMIT 1"""
_GRID = ("SELECT id FROM grids WHERE code = :code AND generation_high IS NULL")
_LIAISON = """
    SELECT e.person_id, p.name FROM roster_entries e JOIN people p ON p.id = e.person_id
    WHERE e.grid_id = :grid AND e.role = 'liaison' AND e.valid_to IS NULL"""

# The town's matters move on as their liaisons would move them (models.workflow's
# steps accept and dispatch), by a hash of the id: buckets 0–1 accepted, 2–4
# dispatched, 5–9 stay assigned. A dispatched matter goes to the busy village's grid
# worker there, elsewhere it is kept by the village's liaison (dispatch to oneself).
_WORKED_STATES = ("""
    CREATE TEMP TABLE moved ON COMMIT DROP AS
    SELECT m.id, m.county_code, m.created_at, e.person_id AS liaison, l.name AS liaison_name,
           CASE WHEN abs(hashtext(m.id::text)) % 10 < 2 THEN 'accepted'
                ELSE 'dispatched' END::matter_state AS state,
           CASE WHEN a.grid_id = :village THEN :worker ELSE e.person_id END AS worker,
           CASE WHEN a.grid_id = :village THEN :worker_name ELSE l.name END AS worker_name
    FROM matters m
    JOIN assignments a ON a.matter_id = m.id AND a.role = 'primary' AND a.ended_at IS NULL
    JOIN grids g ON g.id = a.grid_id AND g.code LIKE :town
    JOIN roster_entries e ON e.grid_id = a.grid_id AND e.role = 'liaison' AND e.valid_to IS NULL
    JOIN people l ON l.id = e.person_id
    WHERE m.state = 'assigned' AND abs(hashtext(m.id::text)) % 10 < 5""", """
    INSERT INTO matter_steps (id, matter_id, county_code, step, from_state, to_state,
                              actor_name, at)
    SELECT gen_random_uuid(), id, county_code, 'accept', 'assigned', 'accepted',
           liaison_name, created_at + interval '1 day'
    FROM moved""", """
    INSERT INTO matter_steps (id, matter_id, county_code, step, from_state, to_state,
                              actor_name, at, data)
    SELECT gen_random_uuid(), id, county_code, 'dispatch', 'accepted', 'dispatched',
           liaison_name, created_at + interval '2 days',
           jsonb_build_object('worker', jsonb_build_object('id', worker, 'name', worker_name))
    FROM moved WHERE state = 'dispatched'""", """
    UPDATE matters m SET state = moved.state,
           field_worker_id = CASE WHEN moved.state = 'dispatched' THEN moved.worker END,
           version = CASE WHEN moved.state = 'dispatched' THEN 2 ELSE 1 END,
           updated_at = moved.created_at + CASE WHEN moved.state = 'dispatched'
                                                THEN interval '2 days' ELSE interval '1 day' END
    FROM moved WHERE m.id = moved.id""")


def _make_worked(source: URL, worked: URL, log, stage: str) -> dict:
    if stage == "missing":
        server = _server(source)
        with server.connect() as conn, stopwatch() as t:
            conn.execute(text(f'CREATE DATABASE "{worked.database}" '
                              f'TEMPLATE "{source.database}"'))
        server.dispose()
        log(f"(i) {worked.database}: a copy of {source.database} in {t():.0f} s")
    found = {}
    if stage in ("missing", "copied"):
        from geo.assign import assign_stored_points

        engine = engine_for(worked)
        with Session(engine) as session, stopwatch() as t:
            found["assigned"] = assign_stored_points(session)
            session.commit()
        engine.dispose()
        log(f"(i) every matter assigned by geo.assign.assign_stored_points in {t():.0f} s: "
            f"{found['assigned']}")
    with _app(worked) as session:
        found |= _setup(session, log)
    vacuum = create_engine(worked, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as conn, stopwatch() as t:
        conn.execute(text("VACUUM ANALYZE"))
    vacuum.dispose()
    log(f"(i) VACUUM ANALYZE in {t():.0f} s")
    return found


@contextmanager
def _app(worked: URL):
    """The application's session on the copy: its changes go to the audit trail signed
    with the installation's key, as the served pages' do."""
    from admin import create_app
    from models import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": worked.render_as_string(
        hide_password=False)})
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            db.engine.dispose()


def _setup(session, log) -> dict:
    """The accounts and the town's worked states (see the module's comment)."""
    from models.accounts import Role, User
    from models.roster import Person, RosterEntry, RosterRole

    town_code, town_matters = session.execute(text(_BUSIEST_TOWN)).one()
    village_code, village_matters = session.execute(
        text(_BUSIEST), {"prefix": town_code + "%"}).one()
    town = session.scalar(text(_GRID), {"code": town_code + "000"})
    village = session.scalar(text(_GRID), {"code": village_code})
    town_liaison = session.execute(text(_LIAISON), {"grid": town}).one()
    village_liaison = session.execute(text(_LIAISON), {"grid": village}).one()
    worker = Person(name="测试网格员", phone="13800000000")
    session.add(worker)
    session.flush()
    session.add(RosterEntry(person_id=worker.id, grid_id=village,
                            role=RosterRole.grid_worker, title="网格员",
                            valid_from=date(2026, 1, 1)))
    params = {"village": village, "worker": worker.id, "worker_name": worker.name,
              "town": town_code + "%"}
    for statement in _WORKED_STATES:
        session.execute(text(statement), {k: v for k, v in params.items()
                                          if f":{k}" in statement})
    for username, role, grid, person in (
            (TOWN, Role.liaison, town, town_liaison[0]),
            (VILLAGE, Role.liaison, village, village_liaison[0]),
            (WORKER, Role.grid_worker, village, worker.id)):
        user = User(username=username, display_name=username, role=role, grid_id=grid,
                    person_id=person, active=True, must_change_password=False)
        user.set_password(_password())
        session.add(user)
    session.commit()
    states = dict(session.execute(text(
        "SELECT m.state::text, count(*) FROM matters m WHERE m.id IN ("
        " SELECT a.matter_id FROM assignments a JOIN grids g ON g.id = a.grid_id"
        " WHERE a.ended_at IS NULL AND g.code LIKE :town) GROUP BY 1"),
        {"town": town_code + "%"}).all())
    log(f"(i) busiest town {town_code} ({town_matters:,} matters with their primary grid "
        f"there), village {village_code} ({village_matters:,}); the town's matters by state "
        f"(co-assisting included): {states}")
    return {"town": town_code, "town_primary_matters": town_matters, "village": village_code,
            "village_primary_matters": village_matters, "town_states": states}


def _private_copy(worked: URL, database: str, log) -> URL:
    """`database`, copied from the worked province when missing (the template must have
    no other connection: retried for a few minutes)."""
    copy = worked.set(database=database)
    if _stage(copy) != "missing":
        return copy
    server = _server(worked)
    try:
        for attempt in range(10):
            try:
                with server.connect() as conn, stopwatch() as t:
                    conn.execute(text(f'CREATE DATABASE "{database}" '
                                      f'TEMPLATE "{worked.database}"'))
                log(f"(i) {database}: a copy of {worked.database} in {t():.0f} s")
                return copy
            except Exception as e:  # someone is connected to the template
                if attempt == 9:
                    raise
                log(f"(i) {database} not copied yet ({e.__class__.__name__}); retrying")
                time.sleep(30)
    finally:
        server.dispose()
    return copy


def require_worked(url: URL) -> None:
    """Stop, saying what to run, unless the worked copy at `url` is ready (the parts
    that copy it, (k) and (l), only read it; this part makes it)."""
    if _stage(url) != "ready":
        raise SystemExit(f"{url.database} is not ready: run `python -m bench.my_matters` "
                         "first")


def _password() -> str:
    return "Bench-" + secrets.token_urlsafe(12) + "-7q"


def ensure_worked(source: URL, log=print, rebuild: bool = False,
                  database: str = WORKED) -> tuple[URL, dict]:
    """The worked copy (made when missing), and fresh passwords for its accounts.
    Another `database` is a private copy of the worked one (made from it when missing),
    which this checkout may migrate without touching the one others measure."""
    from models.accounts import User

    worked = source.set(database=WORKED)
    setup = {}
    if rebuild:
        server = _server(source)
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{worked.database}" WITH (FORCE)'))
        server.dispose()
    stage = _stage(worked)
    if stage != "ready":
        setup = _make_worked(source, worked, log, stage)
    if database != WORKED:
        worked = _private_copy(worked, database, log)
    from models.migrate import upgrade

    engine = engine_for(worked)
    upgrade(engine)  # the schema measured is this checkout's (its indexes)
    engine.dispose()
    passwords = {}
    with _app(worked) as session:
        for user in session.scalars(select(User).where(
                User.username.in_([TOWN, VILLAGE, WORKER]))):
            passwords[user.username] = _password()
            user.set_password(passwords[user.username])
        session.commit()
        facts = session.execute(text("""
            SELECT u.username, g.code, (SELECT count(*) FROM assignments a
                JOIN grids v ON v.id = a.grid_id
                JOIN matters m ON m.id = a.matter_id
                WHERE a.ended_at IS NULL AND v.code LIKE rtrim(g.code, '0') || '%'
                  AND m.state IN ('assigned', 'accepted', 'dispatched')) AS open
            FROM accounts u JOIN grids g ON g.id = u.grid_id
            WHERE u.username IN (:t, :v, :w) ORDER BY u.username"""),
            {"t": TOWN, "v": VILLAGE, "w": WORKER}).all()
    setup["accounts"] = {name: {"grid": code, "open_assignments": n} for name, code, n in facts}
    return worked, setup | {"passwords": passwords}


# --- serving and asking ------------------------------------------------------------------------

def sign_in(port: int, username: str, password: str) -> str:
    """Sign in through the page, as a browser does; the session cookie to send."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/admin/auth/")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = _cookies(response)
    body = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": CSRF.search(page).group(1)})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/admin/auth/", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"{username} could not sign in: {response.status}")
    return _cookies(response) or cookie


def _cookies(response) -> str:
    return "; ".join(value.split(";", 1)[0] for key, value in response.getheaders()
                     if key.lower() == "set-cookie")


def closed_loop(port: int, paths: list[str], headers: dict, concurrency: int) -> tuple:
    """`concurrency` clients, each asking its next path as soon as it has its answer."""
    latencies, failures, lock, queue = [], [], threading.Lock(), iter(paths)

    def client():
        while True:
            with lock:
                path = next(queue, None)
            if path is None:
                return
            status, seconds, body = get(port, path, None, headers)
            with lock:
                latencies.append(seconds)
                if status != 200:
                    failures.append((status, path, body[:200]))

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def figures(latencies: list[float]) -> dict:
    q = statistics.quantiles(sorted(latencies), n=100, method="inclusive")
    return {"requests": len(latencies), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "mean_ms": statistics.fmean(latencies) * 1000}


ENDPOINTS = [  # name, account, path
    ("trivial: /api/v1/me", TOWN, "/api/v1/me"),
    ("light page: password form", TOWN, "/admin/auth/password"),
    ("我的事项: town liaison's home", TOWN, "/admin/"),
    ("我的事项: village liaison's home", VILLAGE, "/admin/"),
    ("我的事项: grid worker's home", WORKER, "/admin/"),
    ("town liaison's matter list", TOWN, "/admin/matter/"),
]


def measure(worked: URL, passwords: dict, *, requests: int, rounds: int, concurrency: int,
            workers: int = 2, before: Path | None = None, compressed: str | None = None,
            log=print) -> dict:
    """Each endpoint's figures, served by this checkout ("after") and, when `before`
    names another checkout (e.g. `git archive` of an older commit), by that one too,
    on the same database, the two servers taking turns in every round."""
    env = dict(os.environ, DATABASE_URL=worked.render_as_string(hide_password=False))
    roots = {"after": ROOT} | ({"before": Path(before)} if before else {})
    servers, ports = {}, {}
    try:
        for label, root in roots.items():
            ports[label] = free_port()
            servers[label] = start_server(dict(env, PYTHONPATH=str(root)), ports[label],
                                          workers, root)
        # As a browser asks (--compressed): the pages are asked for twice, as they are
        # and compressed, in the same rounds; the trivial endpoint's few bytes are
        # never compressed (below admin.compression.MIN_SIZE).
        # Each page's compressed asking right after its plain one, so that the two are
        # measured within seconds of each other.
        endpoints = []
        for n, (name, account, path) in enumerate(ENDPOINTS):
            endpoints.append((name, account, path, {}))
            if compressed and n >= 2:
                endpoints.append((f"{name}, compressed", account, path,
                                  {"Accept-Encoding": compressed}))
        cookies = {(label, name): {"Cookie": sign_in(port, name, pw)}
                   for label, port in ports.items() for name, pw in passwords.items()}
        for label, port in ports.items():  # warm up: connections, templates, caches
            for name, account, path, asked in endpoints:
                _, failures = closed_loop(port, [path] * (workers * 10),
                                          cookies[label, account] | asked, concurrency)
                if failures:
                    raise RuntimeError(f"{label}, {name}: {failures[0]}")
        served = ", ".join(f"{label}: {root}" for label, root in roots.items())
        log(f"(i) gunicorn, {workers} sync workers per checkout ({served}); "
            f"{f'the pages also asked with Accept-Encoding: {compressed}; ' if compressed else ''}"
            f"{concurrency} concurrent clients; {requests:,} requests per endpoint in "
            f"{rounds} rounds taking turns; "
            f"load average {load_average()}")
        keys = [(label, name) for label in ports for name, _, _, _ in endpoints]
        latencies, failed = {k: [] for k in keys}, dict.fromkeys(keys, 0)
        per_round = max(1, requests // rounds)
        for n in range(rounds):
            log(f"    round {n + 1} of {rounds}, load average {load_average()}")
            for name, account, path, asked in endpoints:
                for label, port in ports.items():
                    got, failures = closed_loop(port, [path] * per_round,
                                                cookies[label, account] | asked, concurrency)
                    latencies[label, name] += got
                    failed[label, name] += len(failures)
    finally:
        for server in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    result = {}
    for label in ports:
        trivial = figures(latencies[label, ENDPOINTS[0][0]])
        result[label] = {}
        log(f"    {label}:")
        for name, account, path, asked in endpoints:
            f = figures(latencies[label, name]) | {"failures": failed[label, name],
                                                   "path": path, "account": account,
                                                   "asked": asked}
            f["p50_ratio"] = f["p50_ms"] / trivial["p50_ms"]
            f["p99_ratio"] = f["p99_ms"] / trivial["p99_ms"]
            result[label][name] = f
            log(f"    {name:34} p50 {f['p50_ms']:6.1f} ms ({f['p50_ratio']:4.2f}×)  "
                f"p99 {f['p99_ms']:6.1f} ms ({f['p99_ratio']:4.2f}×)  "
                f"{f['failures']} failures")
    return result


# --- what the page asks the database --------------------------------------------------------

def explain(worked: URL, password: str, path: str = "/admin/", username: str = TOWN,
            log=print) -> list[dict]:
    """Run the page once in process, then EXPLAIN ANALYZE every query it sent (SELECT,
    WITH)."""
    from admin import create_app
    from models import db

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app({"SQLALCHEMY_DATABASE_URI": worked.render_as_string(
            hide_password=False), "SECRET_KEY_FILE": str(Path(scratch) / "secret_key")})
        client = app.test_client()
        page = client.get("/admin/auth/").get_data(as_text=True)
        client.post("/admin/auth/", data={"username": username, "password": password,
                                          "csrf_token": CSRF.search(page).group(1)})
        sent = []
        with app.app_context():
            def note(conn, cursor, statement, parameters, context, executemany):
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    sent.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", note)
            assert client.get(path).status_code == 200
            event.remove(db.engine, "before_cursor_execute", note)
            found = []
            with db.engine.connect() as conn:
                for statement, parameters in sent:
                    plan = [row[0] for row in conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
                    ms = float(re.search(r"Execution Time: ([\d.]+)", plan[-1]).group(1))
                    found.append({"sql": statement, "ms": ms, "plan": plan})
            db.engine.dispose()
    for q in found:
        log(f"    {q['ms']:8.2f} ms  {' '.join(q['sql'].split())[:110]}")
    slowest = max(found, key=lambda q: q["ms"])
    log("    the slowest one's plan:\n      " + "\n      ".join(slowest["plan"]))
    return found


def run(*, requests: int = 1000, rounds: int = 4, concurrency: int = 4, rebuild=False,
        show_plans=False, database: str = WORKED, before: Path | None = None,
        compressed: str | None = None, log=print) -> dict:
    source = synthetic_url("gridlink_synthetic")
    ensure_province(source)
    worked, setup = ensure_worked(source, log, rebuild, database)
    passwords = setup.pop("passwords")
    log(f"(i) accounts: {setup['accounts']}")
    result = {"setup": setup, "load_before": load_average()}
    if show_plans:
        result["explain"] = {path: explain(worked, passwords[TOWN], path, log=log)
                             for path in ("/admin/", "/admin/matter/")}
    served = measure(worked, passwords, requests=requests, rounds=rounds,
                     concurrency=concurrency, before=before, compressed=compressed, log=log)
    result["endpoints"] = served["after"]
    if "before" in served:
        result["before"] = served["before"]
    result["load_after"] = load_average()
    return result


def summary(result: dict) -> list[tuple[str, str]]:
    rows = []
    for label in ("before", "endpoints"):
        for name, f in result.get(label, {}).items():
            mark = ""
            if f["failures"]:  # a failed request is quick: its figures mean nothing
                mark = f"  INVALID: {f['failures']} failed requests"
            elif name.startswith("我的事项"):
                mark = ("  met" if f["p50_ratio"] <= GOAL and f["p99_ratio"] <= GOAL
                        else "  NOT met")
            prefix = "(i) before: " if label == "before" else "(i) "
            rows.append((prefix + name,
                         f"p50 {f['p50_ms']:.1f} ms ({f['p50_ratio']:.2f}×), "
                         f"p99 {f['p99_ms']:.1f} ms ({f['p99_ratio']:.2f}×){mark}"))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.my_matters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rebuild", action="store_true", help=f"make {WORKED} again")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE the home page's queries first")
    parser.add_argument("--database", default=WORKED,
                        help="measure this private copy of the worked province (made from "
                             f"{WORKED} when missing, migrated to this checkout), leaving "
                             f"{WORKED} as it is")
    parser.add_argument("--before", type=Path,
                        help="another checkout (e.g. `git archive` of an older commit) "
                             "served in the same run, taking turns with this one")
    parser.add_argument("--compressed", nargs="?", const=CHROMIUM_ACCEPT, metavar="ACCEPT",
                        help="ask for compressed pages, as Chromium does by default "
                             f"(Accept-Encoding: {CHROMIUM_ACCEPT}) or with this header")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    print(f"(i) {time.strftime('%Y-%m-%d %H:%M')}, load average {load_average()}")
    result = run(requests=args.requests, rounds=args.rounds, concurrency=args.concurrency,
                 rebuild=args.rebuild, show_plans=args.explain, database=args.database,
                 before=args.before, compressed=args.compressed)
    print_summary(result, f"我的事项 p50 and p99 ≤ {GOAL:g}× the trivial endpoint",
                  summary(result), args.json_path)


if __name__ == "__main__":
    main()
