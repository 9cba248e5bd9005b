"""(a) Assigning a million matters from their stored points.

Three ways over the same points and the same current village grids:

- the floor: one set-based `CREATE TEMP TABLE … AS SELECT … JOIN grids ON
  ST_Covers`, nothing else, written two ways: as anyone would write it (with the
  partial index of current village polygons, PostgreSQL drives it by the points)
  and with `level::text`, which keeps that index out (it drives it by the
  polygons, in parallel). EXPLAIN says which plan each got; the faster is the floor;
- ours: geo.assign.assign_stored_points, the real path (it reads the current
  grids from PostGIS, so it stays right when grids are redrawn). Its first step
  is the same join; the others write the assignments, addresses and states;
- the naive way: one ORM query per point, timed on a sample and extrapolated.

Each runs in a transaction that is rolled back, so the benchmark can be re-run.
"""

from __future__ import annotations

import json
import random
import time

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from bench.common import stopwatch
from geo.assign import _STORED_POINTS_STEPS, assign_stored_points
from models.grids import Grid, GridLevel

FLOOR_SQL = """
    CREATE TEMP TABLE floor ON COMMIT DROP AS
    SELECT a.id AS address_id, g.id AS grid_id
    FROM matter_addresses a
    JOIN grids g ON g.generation_high IS NULL AND g.level{cast} = 'village'
     AND ST_Covers(g.geom, a.geom)"""
FLOOR_WAYS = {"as written": "", "level::text": "::text"}
NAIVE_SAMPLE = 2000


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def describe_plan(plan: dict) -> str:
    """'parallel, polygon-driven (2 workers)' or 'serial, point-driven' …: who drives
    the nested loop of the spatial join, and whether a Gather runs it in parallel."""
    nodes = list(_nodes(plan))
    workers = max((n.get("Workers Planned", 0) for n in nodes), default=0)
    loop = next((n for n in nodes if n["Node Type"] == "Nested Loop"), None)
    driver = "unknown"
    if loop is not None:
        outer = next(_nodes(loop["Plans"][0]))
        while "Relation Name" not in outer and outer.get("Plans"):
            outer = outer["Plans"][0]
        driver = {"grids": "polygon-driven", "matter_addresses": "point-driven"}.get(
            outer.get("Relation Name"), f"driven by {outer.get('Relation Name')}")
    return (f"parallel ({workers} workers), {driver}" if workers else f"serial, {driver}")


def _explain(session: Session, sql: str, params=None) -> dict:
    rows = session.execute(text("EXPLAIN (FORMAT JSON) " + sql), params or {}).scalar()
    rows = json.loads(rows) if isinstance(rows, str) else rows
    return rows[0]["Plan"]


def floor(session: Session, way: str = "level::text") -> dict:
    sql = FLOOR_SQL.format(cast=FLOOR_WAYS[way])
    plan = describe_plan(_explain(session, sql))
    with stopwatch() as t:
        rows = session.execute(text(sql)).rowcount
    return {"seconds": t(), "rows": rows, "plan": plan, "way": way}


def ours_plan(session: Session) -> str:
    """The plan of ours' locating step, the one with the spatial join."""
    select_sql = dict(_STORED_POINTS_STEPS)["ranked"].split(" AS\n", 1)[1].format(where="")
    return describe_plan(_explain(session, select_sql))


def ours(session: Session) -> dict:
    """assign_stored_points, with the time of each of its steps."""
    firsts = {sql.strip().splitlines()[0]: name for name, sql in _STORED_POINTS_STEPS}
    steps, started = {}, []
    conn = session.connection()

    def before(*_):
        started.append(time.perf_counter())

    def after(conn_, cursor, statement, *_):
        seconds = time.perf_counter() - started.pop()
        name = firsts.get(statement.strip().splitlines()[0])
        if name:
            steps[name] = seconds

    event.listen(conn, "before_cursor_execute", before)
    event.listen(conn, "after_cursor_execute", after)
    try:
        with stopwatch() as t:
            counts = assign_stored_points(session)
    finally:
        event.remove(conn, "before_cursor_execute", before)
        event.remove(conn, "after_cursor_execute", after)
    return {"seconds": t(), "counts": counts, "steps": steps}


def agreement(session: Session) -> dict:
    """After ours, in the same transaction: does every address have the grid the floor
    gives it, and is every matter assigned?"""
    session.execute(text(FLOOR_SQL.format(cast="::text")))
    differ = session.scalar(text(
        "SELECT count(*) FROM floor f JOIN matter_addresses a ON a.id = f.address_id "
        "WHERE a.grid_id IS DISTINCT FROM f.grid_id"))
    states = dict(session.execute(text("SELECT state::text, count(*) FROM matters "
                                       "GROUP BY state")).all())
    return {"addresses_differing_from_floor": differ, "matter_states": states}


def naive(session: Session, total_points: int, sample: int = NAIVE_SAMPLE) -> dict:
    """One ORM query per point (the grid object, as a view would load it), on a random
    sample of the points; the time for all of them is extrapolated."""
    rows = session.execute(text(
        "SELECT ST_X(geom), ST_Y(geom) FROM matter_addresses TABLESAMPLE SYSTEM (1) "
        "REPEATABLE (7) LIMIT :n"), {"n": sample}).all()
    random.Random(7).shuffle(rows)
    found = 0
    with stopwatch() as t:
        for lon, lat in rows:
            point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
            grid = session.scalars(select(Grid).where(
                Grid.generation_high.is_(None), Grid.level == GridLevel.village,
                func.ST_Covers(Grid.geom, point))).first()
            found += grid is not None
            session.expunge_all()
    per_point = t() / len(rows)
    return {"sample": len(rows), "found": found, "sample_seconds": t(),
            "seconds": per_point * total_points, "per_point_ms": per_point * 1000}


def run(engine, log=print) -> dict:
    with Session(engine) as session:
        matters, points = session.execute(text(
            "SELECT (SELECT count(*) FROM matters WHERE state = 'new'), "
            "(SELECT count(*) FROM matter_addresses WHERE geom IS NOT NULL)")).one()
        log(f"(a) {matters:,} new matters, {points:,} stored points; warming the caches")
        floor(session)  # a first pass reads the polygons into memory
        session.rollback()
        result = {"matters": matters, "points": points, "floors": {}}
        for way in FLOOR_WAYS:
            result["floors"][way] = floor(session, way)
            session.rollback()
            log(f"    floor, {way}: {result['floors'][way]['seconds']:.2f} s "
                f"({result['floors'][way]['plan']})")
        result["floor"] = min(result["floors"].values(), key=lambda f: f["seconds"])
        plan = ours_plan(session)
        result["ours"] = ours(session)
        result["ours"]["plan"] = plan
        log(f"    ours ({plan}): {result['ours']['seconds']:.2f} s, steps "
            + ", ".join(f"{k} {v:.2f} s" for k, v in result["ours"]["steps"].items()))
        result["check"] = agreement(session)
        log(f"    check: {result['check']}")
        session.rollback()
        result["naive"] = naive(session, points)
        session.rollback()
        log(f"    naive: {result['naive']['per_point_ms']:.2f} ms per point over a sample of "
            f"{result['naive']['sample']:,} → {result['naive']['seconds']:.0f} s extrapolated")
    return result
