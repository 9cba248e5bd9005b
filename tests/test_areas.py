"""models.areas: the read model of where each matter is now, kept by the database's
triggers (migration 0021) whatever path writes — the demo's year of matters, filing,
the liaison's steps, a return and a re-route, the court's cancel, the ladder — and
always what the assignments and the matters say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from test_workflow import a_matter, go

from geo.assign import reroute
from models import Assignment, Court, Grid, Matter, MatterArea, MatterState, clock
from models.areas import in_area, rebuild
from models.deadlines import due_moment
from models.escalation import run_pass
from models.matters import OPEN_STATES

S = MatterState
NEIGHBOUR = "445302001001"  # another village of 云城街道

# What the rows must be, from the sources: every current assignment, its grid's codes,
# its matter's openness, due moment (models.deadlines.due_moment) and filing time.
def expected(session) -> set[tuple]:
    rows = session.execute(
        select(Assignment.id, Matter.id, func.left(Grid.code, 6), func.left(Grid.code, 9),
               func.left(Grid.code, 12), Grid.code, Matter.state.in_(OPEN_STATES),
               due_moment(), Matter.created_at)
        .join(Grid, Grid.id == Assignment.grid_id).join(Matter, Matter.id == Assignment.matter_id)
        .where(Assignment.ended_at.is_(None)))
    return {tuple(r) for r in rows}


def kept(session) -> set[tuple]:
    session.flush()
    assert marked_once(session)
    assert towns_counted(session) == towns_kept(session)
    return {tuple(r) for r in session.execute(select(
        MatterArea.assignment_id, MatterArea.matter_id, MatterArea.county_code,
        MatterArea.town_code, MatterArea.village_code, MatterArea.grid_code, MatterArea.open,
        MatterArea.due_at, MatterArea.created_at))}


def marked_once(session) -> bool:
    """Exactly one row of each matter in each town carries town_first (migration 0023)."""
    return session.execute(text(
        "SELECT count(*) FROM (SELECT matter_id, town_code FROM matter_areas"
        " GROUP BY 1, 2 HAVING count(*) FILTER (WHERE town_first) <> 1) wrong")).scalar() == 0


def towns_counted(session) -> dict[str, tuple[int, int]]:
    """Each town's matters and open matters, counted (each once: its rows town_first)."""
    return {town: (matters, open_) for town, matters, open_ in session.execute(text(
        "SELECT town_code, count(*), count(*) FILTER (WHERE open) FROM matter_areas"
        " WHERE town_first GROUP BY town_code"))}


def towns_kept(session) -> dict[str, tuple[int, int]]:
    """Each town's counts as migration 0024 keeps them (counts + changes), the towns
    with none left out."""
    return {town: (matters, open_) for town, matters, open_ in session.execute(text(
        "SELECT town_code, sum(matters), sum(open) FROM (SELECT town_code, matters, open"
        " FROM town_counts UNION ALL SELECT town_code, matters, open"
        " FROM town_count_changes) t GROUP BY town_code")) if matters or open_}


def town_kept(session, town: str) -> tuple[int, int]:
    from models.areas import town_kept

    return session.scalar(town_kept(town)), session.scalar(town_kept(town, "open"))


def also_in(session, matter, code: str) -> Assignment:
    """A co-assisting assignment of the matter to another grid (its second address)."""
    grid = session.scalar(Grid.current().where(Grid.code == code))
    primary = session.scalar(select(Assignment).where(Assignment.matter_id == matter.id))
    also = Assignment(matter_id=matter.id, county_code=grid.county_code, grid_id=grid.id,
                      role="co_assisting", method="map", confidence=1.0,
                      generation_id=primary.generation_id)
    session.add(also)
    session.flush()
    return also


def test_after_the_demos_year_the_rows_are_what_the_sources_say(session):
    rows = kept(session)
    assert len(rows) > 1000  # the demo's matters, in every state
    assert rows == expected(session)
    assert {r[6] for r in rows} == {True, False}  # open ones and closed ones


def test_every_step_keeps_them_in_step(session):
    matter = a_matter(session, "（2026）粤5302执7901号")
    mine = select(MatterArea).where(MatterArea.matter_id == matter.id)
    row = session.scalar(mine)
    assert (row.village_code, row.open, row.due_at) == ("445302001003", True,
                                                        matter.accept_due_at)
    go(session, matter, "demo_liaison", "accept")  # now the finish deadline counts
    session.flush()
    session.refresh(row)
    assert row.due_at == matter.finish_due_at != matter.accept_due_at
    go(session, matter, "demo_court_yuncheng", "cancel", reason="settled")
    session.flush()
    session.refresh(row)
    assert row.open is False
    assert kept(session) == expected(session)


def test_a_return_and_a_reroute_move_the_matter_between_areas(session):
    matter = a_matter(session, "（2026）粤5302执7902号")
    go(session, matter, "demo_liaison", "return", note="该户已迁出本村")
    session.flush()
    assert session.scalar(select(func.count()).select_from(MatterArea).where(
        MatterArea.matter_id == matter.id)) == 0  # nobody's now: it waits for the court
    other = session.scalar(Grid.current().where(Grid.code == NEIGHBOUR))
    reroute(session, matter, other, "经核实现居下坪社区")
    session.flush()
    assert session.scalars(select(MatterArea.village_code).where(
        MatterArea.matter_id == matter.id)).all() == [NEIGHBOUR]
    assert kept(session) == expected(session)


def test_the_ladder_escalates_without_writing_here(session):
    """assigned → escalated changes neither openness nor the due moment (the accept
    deadline counts in both): the trigger's condition skips the row, so the ladder's
    pass over a province's overdue matters writes nothing more."""
    clock.reset()
    try:
        matter = a_matter(session, "（2026）粤5302执7903号")
        matter.accept_due_at = clock.now() - timedelta(hours=30)
        session.flush()
        before = session.execute(text("SELECT xmin::text, due_at FROM matter_areas "
                                      "WHERE matter_id = :m"), {"m": matter.id}).one()
        run_pass(session, clock.now())
        session.expire_all()
        assert session.get(Matter, matter.id).state is S.escalated
        after = session.execute(text("SELECT xmin::text, due_at FROM matter_areas "
                                     "WHERE matter_id = :m"), {"m": matter.id}).one()
        assert after == before
    finally:
        clock.reset()


def test_rebuild_makes_the_same_rows(session):
    before = kept(session)
    assert rebuild(session) == len(before)
    assert kept(session) == before


def test_an_area_is_found_at_its_level(session):
    def count(code):
        return session.scalar(select(func.count()).select_from(MatterArea).where(in_area(code)))

    village = count("445302001003")
    assert 0 < village < count("445302001") < count("445302")
    assert count("") == count(None) == count("4453020") == 0  # not an area's code


def test_an_areas_page_of_newest_matters_and_its_count(session):
    """The list's page for an area: its newest matters in order, each once, and the
    count of all of them, as Scope.matters() finds them."""
    from models.access import Scope
    from models.accounts import Role
    from models.areas import count, newest

    town = "445302001"
    in_scope = select(Matter.id, Matter.created_at).where(Scope(Role.liaison, town).matters())
    everyone = session.execute(in_scope.order_by(Matter.created_at.desc(),
                                                 Matter.id.desc())).all()
    assert count(session, town) == len(everyone) > 25
    page = newest(town, 10, 20)
    got = session.execute(select(page.c.matter_id)).scalars().all()
    assert got == [m for m, _ in everyone[20:30]]


@pytest.mark.parametrize("area", ["445302001", "445302001003", "445302"])
def test_my_matters_from_the_area_rows_are_those_the_scope_finds(session, area):
    """我的事项 (models.my_matters.grid_page, over models.areas) lists and counts what
    the ORM path over Scope.matters() does: the same nearest matters in the same order,
    the same open, overdue and due-soon counts."""
    from models.access import Scope
    from models.accounts import Role
    from models.deadlines import Marks
    from models.my_matters import due_on, grid_page, open_counts

    marks = Marks(session)
    cards, counts, advice = grid_page(session, area, 20, marks)
    assert advice == []  # none asked for
    in_scope = Scope(Role.liaison, area).matters()
    nearest = session.execute(
        select(Matter.id, Matter.court_id).where(in_scope, Matter.state.in_(OPEN_STATES))
        .order_by(due_on().asc().nulls_last(), Matter.created_at, Matter.id).limit(20)).all()
    assert counts == open_counts(session, in_scope, marks) and counts["open"] > 0
    assert [c.id for c in cards] == [m for m, _ in nearest]
    courts = {c.id: c.name for c in session.scalars(select(Court))}
    assert [c.court for c in cards] == [courts[court] for _, court in nearest]


def test_the_command_rebuilds_the_rows(runner, session):
    before = kept(session)
    session.execute(text("DELETE FROM matter_areas"))
    result = runner.invoke(args=["db", "rebuild-areas"])
    assert result.exit_code == 0, result.output
    assert f"{len(before)} rows" in result.output
    assert kept(session) == before


def test_a_matter_twice_in_a_town_is_counted_once_there(session):
    """A matter with two current assignments in one town (two villages of 云城街道) has
    two rows there and one mark; ending the marked one passes the mark to the other, and
    deleting an assignment (the rows' foreign key cascades) too."""
    from models.deadlines import Marks
    from models.my_matters import grid_page

    town, marks = "445302001", Marks(session)
    before = grid_page(session, town, 500, marks).counts["open"]
    matter = a_matter(session, "（2026）粤5302执7904号")
    generation = also_in(session, matter, NEIGHBOUR).generation_id
    rows = session.execute(select(MatterArea.assignment_id, MatterArea.town_first).where(
        MatterArea.matter_id == matter.id)).all()
    assert len(rows) == 2 and sorted(first for _, first in rows) == [False, True]
    page = grid_page(session, town, 500, marks)
    assert page.counts["open"] == before + 1
    assert [c.id for c in page.cards].count(matter.id) == 1
    assert kept(session) == expected(session)

    marked = next(a for a, first in rows if first)
    session.get(Assignment, marked).ended_at = clock.now()  # re-routed away, say
    session.flush()
    assert session.execute(select(MatterArea.assignment_id, MatterArea.town_first).where(
        MatterArea.matter_id == matter.id)).all() == [(next(a for a, f in rows if not f), True)]
    assert grid_page(session, town, 500, marks).counts["open"] == before + 1

    session.execute(text("DELETE FROM assignments WHERE id = :a"),
                    {"a": next(a for a, f in rows if not f)})
    session.expire_all()
    assert grid_page(session, town, 500, marks).counts["open"] == before
    assert kept(session) == expected(session)
    # and back, in one statement with two rows of the town: one mark between them
    session.execute(text("""
        INSERT INTO assignments (id, matter_id, county_code, grid_id, role, method,
                                 confidence, generation_id)
        SELECT gen_random_uuid(), :m, g.county_code, g.id, 'co_assisting', 'map', 1.0,
               :gen
        FROM grids g WHERE g.code IN ('445302001003', :n) AND g.generation_high IS NULL"""),
                    {"m": matter.id, "n": NEIGHBOUR, "gen": generation})
    assert kept(session) == expected(session)
    assert grid_page(session, town, 500, marks).counts["open"] == before + 1


def test_a_towns_counts_are_kept_by_every_path_and_folded(session):
    """The towns' counts (migration 0024) follow each step (kept() compares them on every
    test of this file); a fold moves the changes into the counts and changes no figure,
    and a second fold finds nothing to do."""
    from models.areas import fold_town_counts

    town = "445302001"
    matters, open_ = town_kept(session, town)
    assert (matters, open_) == towns_counted(session)[town] and matters > open_ > 0
    matter = a_matter(session, "（2026）粤5302执7905号")
    also_in(session, matter, NEIGHBOUR)  # a second row in the town: counted once
    session.flush()
    assert town_kept(session, town) == (matters + 1, open_ + 1)
    assert session.scalar(text("SELECT count(*) FROM town_count_changes")) > 0
    assert fold_town_counts(session) > 0
    assert session.scalar(text("SELECT count(*) FROM town_count_changes")) == 0
    assert town_kept(session, town) == (matters + 1, open_ + 1)
    assert kept(session) == expected(session)
    assert fold_town_counts(session) == 0
    go(session, matter, "demo_court_yuncheng", "cancel", reason="settled")
    session.flush()
    assert town_kept(session, town) == (matters + 1, open_)  # still the town's, closed
    assert town_kept(session, "445302999") == (0, 0)  # a town with nothing


def test_a_rebuild_makes_the_towns_counts_again(session):
    session.execute(text("INSERT INTO town_count_changes VALUES ('445302001', 7, 3)"))
    assert towns_kept(session) != towns_counted(session)  # drifted
    rebuild(session)
    assert towns_kept(session) == towns_counted(session)
    assert session.scalar(text("SELECT count(*) FROM town_count_changes")) == 0
    assert town_kept(session, "445302001") == towns_counted(session)["445302001"]


def test_truncating_the_rows_is_refused(scratch_database):
    """TRUNCATE would skip the triggers: refused, even to the owner (the app's role may
    not truncate at all)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(scratch_database)
    try:
        with engine.connect() as owner:
            owner.execute(text("SET lock_timeout = '10s'"))
            with pytest.raises(DBAPIError, match="rebuild-areas"):
                owner.execute(text("TRUNCATE matter_areas"))
            owner.rollback()
            assert owner.scalar(text("SELECT count(*) FROM matter_areas")) > 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("mostly_overdue", [False, True])
def test_a_towns_overdue_counted_either_way_is_the_same(session, monkeypatch,
                                                        mostly_overdue):
    """A town's overdue matters are counted over the shorter range of its index: those
    due before now, or the open less those due later or never. Both agree with the
    counts of every open matter of the scope, whichever the page took last time."""
    from models import my_matters
    from models.access import Scope
    from models.accounts import Role
    from models.deadlines import Marks

    town, marks = "445302001", Marks(session)
    plain = a_matter(session, "（2026）粤5302执7906号")  # only the court's date counts
    plain.accept_due_at = plain.finish_due_at = None
    late = a_matter(session, "（2026）粤5302执7907号")
    late.accept_due_at = clock.now() - timedelta(days=3)
    session.flush()
    monkeypatch.setitem(my_matters._MOSTLY_OVERDUE, town, mostly_overdue)
    counts = my_matters.grid_page(session, town, 20, marks).counts
    assert counts == my_matters.open_counts(session, Scope(Role.liaison, town).matters(),
                                            marks)
    assert counts["overdue"] > 0 and counts["open"] > counts["overdue"]


def test_a_fold_and_a_writer_at_once_lose_nothing(scratch_database):
    """A change appended by a transaction not committed when the fold runs stays for the
    next fold: the town's figure is right after both commit, and after the next fold."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from models.areas import fold_town_counts

    engine = create_engine(scratch_database)
    town = "445302001"
    with engine.connect() as conn:
        matter_id, state = conn.execute(text(
            "SELECT m.id, m.state FROM matter_areas q JOIN matters m ON m.id = q.matter_id"
            " WHERE q.town_code = :t AND q.open AND q.town_first LIMIT 1"), {"t": town}).one()
    close = text("UPDATE matters SET state = CAST(:s AS matter_state) WHERE id = :m")
    try:
        with Session(engine) as writer, Session(engine) as folder:
            before = town_kept(writer, town)
            writer.rollback()
            writer.execute(close, {"s": "cancelled", "m": matter_id})  # -1, not committed
            fold_town_counts(folder)
            folder.commit()
            writer.commit()
            closed = (before[0], before[1] - 1)
            assert town_kept(folder, town) == closed == towns_counted(folder)[town]
            folder.rollback()
            fold_town_counts(folder)
            folder.commit()
            assert town_kept(folder, town) == closed
            folder.execute(close, {"s": state, "m": matter_id})
            fold_town_counts(folder)
            folder.commit()
            assert town_kept(folder, town) == before
    finally:
        with engine.begin() as conn:  # as it was, whatever failed
            conn.execute(close, {"s": state, "m": matter_id})
        engine.dispose()


def test_the_worker_folds_the_towns_counts_every_minute():
    import admin.town_counts  # noqa: F401 (the worker imports it: admin.jobs.runner)
    from admin.jobs import tasks

    [periodic] = [p for p in tasks.periodic_registry.periodic_tasks.values()
                  if p.task.name.split(":")[-1] == "town_counts"]
    assert periodic.cron == "* * * * *"
