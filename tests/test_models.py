"""Grids, versions, courts and the roster: the rules the models keep."""

from datetime import date

import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely import MultiPolygon, box
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Generation, Grid, GridLevel, Person, RosterEntry, RosterRole
from models.grids import GridCodeError, check_code

SQUARE_A = box(112.00, 22.00, 112.01, 22.01)  # far south of the demo's grids
SQUARE_B = box(112.01, 22.00, 112.02, 22.01)  # shares SQUARE_A's east edge
POINT_ON_SHARED_EDGE = (112.01, 22.005)
POINT_IN_A = (112.005, 22.005)


def multi(shape):
    return from_shape(MultiPolygon([shape]), srid=4326)


@pytest.fixture
def generation(session):
    g = Generation(label="test", valid_from=date(2026, 6, 1))
    session.add(g)
    session.flush()
    return g


@pytest.fixture
def county(session, generation):
    c = Grid(code="445399000000", name="测试县", level=GridLevel.county,
             geom=multi(box(112.0, 22.0, 112.02, 22.01)), generation_low=generation.id)
    session.add(c)
    session.flush()
    return c


def town(session, county, code, name, shape, generation):
    t = Grid(code=code, name=name, level=GridLevel.town, parent=county, geom=multi(shape),
             generation_low=generation.id)
    session.add(t)
    session.flush()
    return t


@pytest.mark.parametrize(("code", "level", "parent", "fragment"), [
    ("44530200000", GridLevel.county, None, "12 digits"),
    ("4453020010x0", GridLevel.town, "445302000000", "digits only"),
    ("445302001001", GridLevel.town, "445302000000", "zeros after digit 9"),
    ("445302000000", GridLevel.town, "445302000000", "cannot all be zero"),
    ("445303001000", GridLevel.town, "445302000000", "parent's digits 445302"),
    ("445302001001", GridLevel.village, None, "needs a parent"),
    ("445302001001001", GridLevel.village, "445302001000", "12 digits"),
])
def test_bad_codes_say_what_is_wrong(code, level, parent, fragment):
    with pytest.raises(GridCodeError, match=fragment):
        check_code(code, level, parent)


@pytest.mark.parametrize(("code", "level", "parent"), [
    ("445302000000", GridLevel.county, None),
    ("445302101000", GridLevel.town, "445302000000"),
    ("445302101201", GridLevel.village, "445302101000"),
    ("445302101201003", GridLevel.microgrid, "445302101201"),
])
def test_good_codes_pass(code, level, parent):
    check_code(code, level, parent)


def test_point_on_shared_edge_is_covered_by_both_grids(session, county, generation):
    town(session, county, "445399001000", "甲镇", SQUARE_A, generation)
    town(session, county, "445399002000", "乙镇", SQUARE_B, generation)
    on_edge = session.scalars(Grid.covering(*POINT_ON_SHARED_EDGE, GridLevel.town)).all()
    inside = session.scalars(Grid.covering(*POINT_IN_A, GridLevel.town)).all()
    assert sorted(g.name for g in on_edge) == ["乙镇", "甲镇"]
    assert [g.name for g in inside] == ["甲镇"]


def test_redraw_keeps_the_old_boundary_as_history(session, county, generation):
    a = town(session, county, "445399001000", "甲镇", SQUARE_A, generation)
    old = a.geom
    redraw = Generation(label="redraw", valid_from=date(2026, 9, 1))
    session.add(redraw)
    session.flush()
    a.geom = multi(box(112.00, 22.00, 112.015, 22.01))
    history = a.keep_history(session, old, redraw)

    assert a.generation_low == redraw.id and a.is_current
    assert history.generation_high == generation.id and not history.is_current
    assert to_shape(history.geom).equals(SQUARE_A)
    at_first = session.scalars(Grid.in_generation(generation.id)
                               .where(Grid.code == "445399001000")).all()
    assert [to_shape(g.geom).area for g in at_first] == [pytest.approx(SQUARE_A.area)]
    now = session.scalars(Grid.current().where(Grid.code == "445399001000")).all()
    assert [g.id for g in now] == [a.id]


def test_only_one_current_version_per_code(session, county, generation):
    town(session, county, "445399001000", "甲镇", SQUARE_A, generation)
    with pytest.raises(IntegrityError, match="uq_grids_current_code"):
        town(session, county, "445399001000", "甲镇二", SQUARE_B, generation)


def test_database_refuses_an_invalid_polygon(session, county, generation):
    bow_tie = "SRID=4326;MULTIPOLYGON(((112 22,112.01 22.01,112.01 22,112 22.01,112 22)))"
    session.add(Grid(code="445399003000", name="丙镇", level=GridLevel.town, parent=county,
                     geom=bow_tie, generation_low=generation.id))
    with pytest.raises(IntegrityError, match="ck_grids_geom_valid"):
        session.flush()


def test_county_code_is_kept_by_the_database(session, county):
    assert county.county_code == "445399"
    assert session.scalar(select(Grid.county_code).where(Grid.id == county.id)) == "445399"


def test_a_grid_has_one_current_liaison(session, county):
    first = Person(name="陈一", phone="10007660001")
    second = Person(name="李二", phone="10007660002")
    session.add_all([first, second])
    session.add(RosterEntry(person=first, grid=county, role=RosterRole.liaison,
                            valid_from=date(2026, 1, 1)))
    session.flush()
    session.add(RosterEntry(person=second, grid=county, role=RosterRole.liaison,
                            valid_from=date(2026, 2, 1)))
    with pytest.raises(IntegrityError, match="uq_roster_current_liaison"):
        session.flush()


def test_roster_answers_who_was_liaison_on_a_day(session, county):
    first = Person(name="陈一")
    second = Person(name="李二")
    session.add_all([
        RosterEntry(person=first, grid=county, role=RosterRole.liaison,
                    valid_from=date(2026, 1, 1), valid_to=date(2026, 7, 1)),
        RosterEntry(person=second, grid=county, role=RosterRole.liaison,
                    valid_from=date(2026, 7, 1)),
    ])
    session.flush()

    def liaison_on(day):
        q = RosterEntry.current(day).where(RosterEntry.grid_id == county.id)
        return [e.person.name for e in session.scalars(q)]

    assert liaison_on(date(2026, 3, 1)) == ["陈一"]
    assert liaison_on(date(2026, 7, 1)) == ["李二"]
    assert session.scalar(select(func.count()).select_from(RosterEntry)
                          .where(RosterEntry.grid_id == county.id)) == 2
