"""The ladder as production runs it, on a database of its own (committed for real):
two `gridlink worker` processes with the clock moved ahead (GRIDLINK_CLOCK_OFFSET), a
tick every two seconds; the matter reaches the town centre, the workers stop and two
new ones start further ahead, and it reaches the county committee: each level once,
each tick's pass once. And two passes at the same moment double nothing."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import TEST_DB, _create_database, _drop_database, as_app_role, make_app
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly

from models import clock, db
from models.escalation import LADDER, run_pass

ROOT = Path(__file__).resolve().parent.parent
CASE = "（2026）粤5302执7481号"
WORKER_SECRET = secrets.token_hex(32)  # a copy nobody verifies: any key will do


@pytest.fixture(scope="module")
def ladder_database(server_url, database_url, app):
    """A copy of the demo with one matter due for acceptance in an hour (real time)."""
    name = TEST_DB + "_ladder"
    with app.app_context():
        db.engine.dispose()  # a template database must have no other connections
    url = _create_database(server_url, name, template=TEST_DB)
    filing = make_app(url)
    with filing.app_context():
        matter = file_directly(db.session, YUNCHENG_COURT, CASE, XINGYAN_ADDRESS)
        matter.accept_due_at = clock.now() + timedelta(hours=1)
        db.session.commit()
        db.engine.dispose()
    yield url
    _drop_database(server_url, name)


def workers(url: str, ahead: timedelta, log: Path, n: int = 2) -> list[subprocess.Popen]:
    """n `gridlink worker` processes on the copy, their clocks `ahead`, logging to `log`."""
    env = {**os.environ, "DATABASE_URL": url, "GRIDLINK_APP_DATABASE_URL": as_app_role(url),
           "SECRET_KEY": WORKER_SECRET, "GRIDLINK_CLOCK_OFFSET": str(ahead.total_seconds()),
           "GRIDLINK_ESCALATION_CRON": "* * * * * */2", "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        return [subprocess.Popen([sys.executable, "-c", "from admin.cli import main; main()",
                                  "worker"], env=env, cwd=ROOT, stdout=out, stderr=out)
                for _ in range(n)]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for(engine, sql: str, expected, processes, log: Path, timeout: float = 180,
             **params) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text(sql), {"case": CASE, **params}).scalar() == expected:
                return
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise AssertionError(log.read_text()[-3000:])
        time.sleep(1)
    raise AssertionError(f"still not {expected!r} after {timeout} s: {sql}\n"
                         + log.read_text()[-3000:])


LEVEL = "SELECT escalation_level FROM matters WHERE case_number = :case"
TICKS = """SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'gridlink:escalate'
           AND status = 'succeeded'"""
MORE_TICKS = f"SELECT ({TICKS}) >= :n"


def told(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("""
            SELECT a.username, n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id
            JOIN matters m ON m.id = n.matter_id WHERE m.case_number = :case ORDER BY n.id
        """), {"case": CASE})]


def ladder_steps(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("""
            SELECT s.step FROM matter_steps s JOIN matters m ON m.id = s.matter_id
            WHERE m.case_number = :case ORDER BY s.at"""), {"case": CASE}).scalars())


def test_two_workers_and_a_restart_climb_each_level_once(ladder_database, tmp_path):
    engine, log = create_engine(ladder_database), tmp_path / "workers.log"
    first = workers(ladder_database, timedelta(hours=2), log)
    try:
        wait_for(engine, LEVEL, 1, first, log)
        with engine.connect() as conn:
            ticks = conn.execute(text(TICKS)).scalar()
        # more passes go by: they change nothing
        wait_for(engine, MORE_TICKS, True, first, log, n=ticks + 2)
    finally:
        stop(first)
    assert told(engine) == [("demo_town_centre", "escalated")]

    later = timedelta(hours=2) + LADDER.committee_after + timedelta(hours=1)
    second = workers(ladder_database, later, log)
    try:
        wait_for(engine, LEVEL, 2, second, log)
        with engine.connect() as conn:
            ticks = conn.execute(text(TICKS)).scalar()
        wait_for(engine, MORE_TICKS, True, second, log, n=ticks + 2)
    finally:
        stop(second)
    assert told(engine) == [("demo_town_centre", "escalated"),
                            ("demo_yuncheng_committee", "escalated")]
    assert ladder_steps(engine) == ["to_town", "to_committee"]
    with engine.connect() as conn:
        # four workers, each deferring every tick it saw: one job per tick all the same
        doubled = conn.execute(text("""
            SELECT count(*) FROM (SELECT periodic_id, defer_timestamp
                                  FROM procrastinate_periodic_defers
                                  WHERE task_name = 'gridlink:escalate'
                                  GROUP BY 1, 2 HAVING count(*) > 1) d""")).scalar()
        failed = conn.execute(text("""SELECT count(*) FROM procrastinate_jobs
            WHERE task_name = 'gridlink:escalate' AND status = 'failed'""")).scalar()
    engine.dispose()
    assert (doubled, failed) == (0, 0)


def test_two_passes_at_once_double_nothing(ladder_database):
    case = "（2026）粤5302执7482号"
    filing = make_app(ladder_database)
    with filing.app_context():
        matter = file_directly(db.session, YUNCHENG_COURT, case, XINGYAN_ADDRESS)
        matter.accept_due_at = clock.now() - timedelta(hours=1)
        db.session.commit()
        db.engine.dispose()
    engine = create_engine(as_app_role(ladder_database))
    now, start, results = clock.now(), threading.Barrier(2), []

    def one_pass():
        with Session(engine) as session:
            start.wait()
            results.append(run_pass(session, now))
            session.commit()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with engine.connect() as conn:
        notified = conn.execute(text("""SELECT count(*) FROM notifications n
            JOIN matters m ON m.id = n.matter_id WHERE m.case_number = :c"""),
            {"c": case}).scalar()
        steps = conn.execute(text("""SELECT count(*) FROM matter_steps s
            JOIN matters m ON m.id = s.matter_id WHERE m.case_number = :c"""),
            {"c": case}).scalar()
    engine.dispose()
    assert len(results) == 2 and sorted(r.changed == 0 for r in results) == [False, True]
    assert (notified, steps) == (1, 1)
