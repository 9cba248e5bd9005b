"""(m) The escalation ladder's pass at province scale (issue 12: ≤ 10 s, then 0 changes).

    .venv/bin/python -m bench.escalation [--database gridlink_synthetic_h12ladder]
                                         [--overdue 0.05] [--sample 500] [--keep]

Works on its own copy of `gridlink_synthetic_worked` (bench/my_matters.py: every
matter assigned, a busy town with liaison accounts), made when missing and dropped at
the end unless --keep: the pass writes, and this branch's migrations go on the copy
only. On the copy, set-based and deterministic (by a hash of the id):
- every open matter gets an accept deadline: `--overdue` of them (5 %) an hour ago,
  1 % in two hours (the reminder's window), the rest in three days;
- every town gets a town centre account and every county a committee account, so
  that each escalation notifies someone (the liaisons have accounts in the busy town).

Then, timed: pass 1 as of now (reminders, level 1), pass 2 right after (must change
nothing), pass 3 a day later (level 2), pass 4 right after (nothing). The baseline, in
the same run and on the same data before pass 1, in a transaction rolled back: the
naive way, an ORM loop per matter (load it, its primary grid, its town centre's
accounts; move it, a step row, an audit record, a notification each), on `--sample`
overdue matters, extrapolated to all of them.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import timedelta

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, selectinload

from bench.common import load_average, stopwatch, synthetic_url
from models import clock
from models.audit import Actor, append, set_key
from models.escalation import LADDER, PARTS, TO_TOWN, run_pass, run_pass_in_parts
from models.migrate import upgrade

SOURCE = "gridlink_synthetic_worked"


def make_copy(url, source: str = SOURCE) -> bool:
    """CREATE DATABASE … TEMPLATE: fails while someone is connected to the source, so
    retried a minute apart. False when the copy was there already."""
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                           {"d": url.database}):
                return False
            for attempt in range(6):
                try:
                    conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{source}"'))
                    return True
                except Exception as e:
                    if attempt == 5:
                        raise
                    print(f"  {source} busy ({str(e).splitlines()[0][:80]}); retrying in 60 s")
                    time.sleep(60)
    finally:
        server.dispose()
    return True


def drop_copy(url) -> None:
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    server.dispose()


def prepare(engine, overdue: float):
    """The moment the passes run at, and the data: on a fresh copy deadlines and the
    accounts are written (a few minutes: every open matter changes); on a copy a run
    prepared before, only what the last run's passes changed is put back, and the
    passes run at that run's moment (the overdue matters fell due an hour before it)."""
    with engine.begin() as conn:
        first = conn.scalar(text("SELECT min(accept_due_at) FROM matters"))
        if first is None:
            now = clock.now()
            _deadlines(conn, now, overdue)
        else:
            now = first + timedelta(hours=1)
            conn.execute(text("""
                UPDATE matters SET state = 'assigned', escalation_level = 0,
                       escalated_at = NULL, reminded_at = NULL
                WHERE (escalation_level > 0 OR reminded_at IS NOT NULL)
                  AND state IN ('assigned', 'escalated')"""))
            conn.execute(text("DELETE FROM notifications"))
            conn.execute(text("DELETE FROM matter_steps WHERE step IN ('remind', 'to_town', "
                              "'to_committee')"))
            conn.execute(text("ANALYZE matters"))
        counts = conn.execute(text("""
            SELECT count(*) FILTER (WHERE state = 'assigned' AND accept_due_at <= :now),
                   count(*) FILTER (WHERE state = 'assigned' AND accept_due_at > :now
                                    AND accept_due_at <= :soon),
                   count(*)
            FROM matters"""), {"now": now, "soon": now + LADDER.remind_before}).one()
    return now, dict(zip(("overdue", "due_soon", "matters"), counts, strict=True))


def _deadlines(conn, now, overdue: float) -> None:
    """Deadlines, town centre and committee accounts; the ladder's state cleared."""
    conn.execute(text("""
        UPDATE matters SET escalation_level = 0, escalated_at = NULL, reminded_at = NULL,
               urgent_at = NULL,
               state = CASE WHEN state = 'escalated' THEN 'assigned' ELSE state END,
               accept_due_at = CASE
                 WHEN abs(hashtext(id::text)) % 10000 < :over THEN :now - interval '1 hour'
                 WHEN abs(hashtext(id::text)) % 10000 < :over + 100
                      THEN :now + interval '2 hours'
                 ELSE :now + interval '3 days' END
        WHERE state IN ('assigned', 'accepted', 'dispatched', 'escalated')"""),
                 {"now": now, "over": int(overdue * 10000)})
    conn.execute(text("DELETE FROM notifications"))
    conn.execute(text("DELETE FROM matter_steps WHERE step IN ('remind', 'to_town', "
                      "'to_committee')"))
    for role, level in (("town_centre", "town"), ("committee", "county")):
        conn.execute(text("""
            INSERT INTO accounts (id, username, display_name, password_hash, role, grid_id,
                                  active, must_change_password, session_generation)
            SELECT gen_random_uuid(), 'bench_' || :role || '_' || g.code, g.name,
                   'x', CAST(:role AS account_role), g.id, true, false, 0
            FROM grids g WHERE g.level = CAST(:level AS grid_level)
              AND g.generation_high IS NULL
            ON CONFLICT (username) DO NOTHING"""), {"role": role, "level": level})
    conn.execute(text("ANALYZE matters"))
    conn.execute(text("ANALYZE accounts"))


def server_settings(engine) -> str:
    """What decides a bulk write's cost besides the code (models.database.BULK_WRITES)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_compression', "
            "'synchronous_commit', 'fsync') ORDER BY name")).all()
    return ", ".join(f"{name}={value}" for name, value in rows)


def settle(engine) -> None:
    """What the preparation wrote (a million matters' deadlines, and their rows in the
    area read model where it exists) vacuumed and checkpointed before the passes, so
    that a pass does not pay for the preparation's dead rows, dirty pages and WAL."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) matters"))
        if conn.scalar(text("SELECT to_regclass('matter_areas') IS NOT NULL")):
            conn.execute(text("VACUUM (ANALYZE) matter_areas"))
        conn.execute(text("CHECKPOINT"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (the database backend runs on this machine)."""
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_pass(engine, now, parts: int) -> tuple[float, float, object]:
    """Wall seconds, and the CPU seconds the pass cost (this process and the database
    backends of the engine's connections; a parallel query's helpers are not counted):
    on a machine shared with other work the CPU is what the pass would take alone, less
    its waits on the disk. parts > 1: the worker's pass (run_pass_in_parts), its parts
    at once on connections of their own; 1: run_pass in one transaction."""
    held = [engine.connect() for _ in range(max(parts, 1))]  # the pool holds them all
    backends = [conn.scalar(text("SELECT pg_backend_pid()")) for conn in held]
    for conn in held:
        conn.close()
    cpu = time.process_time() + sum(cpu_seconds(pid) for pid in backends)
    with stopwatch() as seconds:
        if parts > 1:
            counts = run_pass_in_parts(engine, now, parts=parts)
        else:
            with Session(engine) as session:
                counts = run_pass(session, now)
                session.commit()
    cpu = time.process_time() + sum(cpu_seconds(pid) for pid in backends) - cpu
    return seconds(), cpu, counts


def naive(engine, now, sample: int) -> float:
    """The ORM way, one matter at a time, in a transaction rolled back: seconds each."""
    from models import Assignment, Grid, Matter, MatterState, MatterStep, Notification, User
    from models.accounts import Role

    actor = Actor("system:escalation")
    with Session(engine) as session:
        ids = session.scalars(select(Matter.id).where(
            Matter.state == MatterState.assigned, Matter.accept_due_at <= now)
            .limit(sample)).all()
        with stopwatch() as seconds:
            for matter_id in ids:
                matter = session.scalar(select(Matter).where(Matter.id == matter_id)
                                        .with_for_update(of=Matter)
                                        .options(selectinload(Matter.assignments)
                                                 .selectinload(Assignment.grid)))
                grid = matter.primary_assignment.grid
                centres = session.scalars(select(User).join(Grid, Grid.id == User.grid_id).where(
                    User.role == Role.town_centre, User.active,
                    Grid.code.startswith(grid.code[:9]))).all()
                before = matter.state
                matter.move_to(MatterState.escalated)
                matter.escalation_level, matter.escalated_at = 1, now
                matter.version += 1
                session.add(MatterStep(matter_id=matter.id, county_code=matter.county_code,
                                       step="to_town", from_state=before, to_state=matter.state,
                                       actor_name="system", at=now))
                for account in centres:
                    session.add(Notification(
                        account_id=account.id, kind="escalated", matter_id=matter.id,
                        template=TO_TOWN, params={"case": matter.case_number, "grid": grid.name},
                        dedup_key=f"escalate:1:{matter.id}:{account.id}", created_at=now))
                session.flush()
                append(session.connection(), "step", "matter", str(matter.id),
                       {"state": before.value}, {"step": "to_town"}, actor=actor)
        session.rollback()
    return seconds() / max(len(ids), 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="gridlink_synthetic_h12ladder")
    parser.add_argument("--overdue", type=float, default=0.05)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--settle", action="store_true",
                        help="VACUUM and CHECKPOINT what the preparation wrote before the passes")
    parser.add_argument("--parts", type=int, default=PARTS,
                        help="the pass in this many parts at once, as the worker runs it "
                             f"(default {PARTS}); 1: one transaction, as `escalate --once`")
    args = parser.parse_args(argv)
    set_key("bench-" + uuid.uuid4().hex)  # the copy's audit trail: nobody verifies it
    url = synthetic_url(args.database)
    print(f"(m) escalation pass on {url.database} (copy of {SOURCE}); "
          f"load {load_average()}")
    with stopwatch() as copying:
        made = make_copy(url)
    if made:
        print(f"  copied in {copying():.0f} s")
    engine = create_engine(url, pool_size=max(2, args.parts))
    try:
        upgrade(engine)  # this branch's migrations (the pass's indexes), on the copy only
        print(f"  server: {server_settings(engine)}; the pass in {args.parts} part(s)")
        with stopwatch() as preparing:
            now, data = prepare(engine, args.overdue)
        print(f"  {data['matters']:,} matters; {data['overdue']:,} overdue for acceptance, "
              f"{data['due_soon']:,} due within {LADDER.remind_before} "
              f"(prepared in {preparing():.0f} s)")
        each = naive(engine, now, args.sample)
        print(f"  naive ORM loop: {each * 1000:.2f} ms a matter on {args.sample} → "
              f"{each * data['overdue']:.0f} s for {data['overdue']:,} (extrapolated)")
        if args.settle:
            with stopwatch() as settling:
                settle(engine)
            print(f"  settled (VACUUM of the prepared tables, CHECKPOINT) in {settling():.0f} s")
        later = now + LADDER.committee_after + timedelta(hours=1)
        for name, moment in (("pass 1 (now)", now), ("pass 2 (right after)", now),
                             ("pass 3 (a day later)", later),
                             ("pass 4 (right after)", later)):
            seconds, cpu, c = timed_pass(engine, moment, args.parts)
            print(f"  {name}: {seconds:.2f} s ({cpu:.2f} s CPU) — reminded {c.reminded:,}, "
                  f"to town centres {c.to_town:,}, to committees {c.to_committee:,}, notifications "
                  f"{c.notified:,}; changes {c.changed:,}")
        print(f"  load {load_average()}")
    finally:
        engine.dispose()
        if not args.keep:
            drop_copy(url)


if __name__ == "__main__":
    main()
