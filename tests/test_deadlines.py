"""Deadlines by the rules: working days on the holiday calendar, fixed when a matter is
assigned, never moved by a later change of rule or calendar, and marked."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from geo.assign import assign_stored_points, file_matter, pick_grid, reroute, return_matter
from models import CalendarDay, Court, DeadlineRule, Grid, Matter, MatterState, Urgency, clock
from models.deadlines import (
    DayKind,
    DeadlineError,
    Marks,
    Unit,
    counting_due,
    deadlines_at,
    due,
    rule_in_force,
    set_rule,
    unknown_years,
)
from models.filing import AddressInput, MatterInput, build_matter
from models.matter_types import MatterType

BEIJING = clock.SITE_ZONE
HOUSEHOLD = "云城区云城街道丰收村委会三组"


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def end_of(day: date) -> datetime:
    """The last second of a Beijing day: how "by the end of the day" is stored."""
    return bj(day.year, day.month, day.day, 23, 59, 59)


@pytest.fixture
def at():
    """at(moment): the app's clock shows that moment (for this test only)."""
    def move(moment: datetime):
        clock.reset()
        clock.move((moment - clock.now()).total_seconds())
    yield move
    clock.reset()


@pytest.fixture
def court(session):
    return session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))


def filing(court, n: int, **changes) -> MatterInput:
    data = MatterInput(
        court=court, officer_name="李明", case_number=f"（2026）粤5302执{900 + n}号",
        matter_type="find_property", request={"property_kinds": ["house"]},
        credentials=["enforcement_basis", "work_id"], debtor_kind="person",
        debtor_name="王五", addresses=[AddressInput("household", HOUSEHOLD)])
    for name, value in changes.items():
        setattr(data, name, value)
    return data


# --- the arithmetic ------------------------------------------------------------------------

def test_a_holiday_moves_a_deadline(session):
    """Assigned the day before 国庆节: one working day is the first day after the week off."""
    start = bj(2026, 9, 30, 10, 0)
    assert due(session, start, 1, Unit.working_days) == end_of(date(2026, 10, 8))
    session.execute(delete(CalendarDay).where(CalendarDay.day.between(date(2026, 10, 1),
                                                                      date(2026, 10, 7))))
    assert due(session, start, 1, Unit.working_days) == end_of(date(2026, 10, 1))


def test_an_adjusted_working_saturday_counts(session):
    """10月10日 is a Saturday worked (调休): a Friday's next working day."""
    start = bj(2026, 10, 9, 16, 30)
    assert due(session, start, 1, Unit.working_days) == end_of(date(2026, 10, 10))
    session.execute(delete(CalendarDay).where(CalendarDay.day == date(2026, 10, 10)))
    assert due(session, start, 1, Unit.working_days) == end_of(date(2026, 10, 12))


def test_the_day_of_assignment_never_counts(session):
    monday_morning, sunday = bj(2026, 11, 30, 0, 1), bj(2026, 11, 29, 15, 0)
    assert due(session, monday_morning, 1, "working_days") == end_of(date(2026, 12, 1))
    assert due(session, sunday, 1, "working_days") == end_of(date(2026, 11, 30))
    # Seven working days from a Friday: the second Tuesday after.
    assert due(session, bj(2026, 11, 27, 9), 7, "working_days") == end_of(date(2026, 12, 8))
    # Beijing's day, not the server's: 23:30 UTC on Sunday is Monday 07:30 in Beijing.
    assert due(session, bj(2026, 11, 30, 7, 30), 1, "working_days") == end_of(date(2026, 12, 1))


def test_hours_run_through_nights_and_holidays(session):
    eve = bj(2026, 9, 30, 23, 0)  # the eve of 国庆节
    assert due(session, eve, 2, Unit.hours) == bj(2026, 10, 1, 1, 0)
    saturday = bj(2026, 11, 28, 22, 0)
    assert due(session, saturday, 12, Unit.hours) == bj(2026, 11, 29, 10, 0)


def test_the_python_wrapper_the_set_based_sql_and_the_calendar_agree(session):
    """Over every day of 2026 (and either side): the wrapper, one set-based statement
    and a plain reading of the calendar (skip the day itself, count working days) give
    the same days."""
    exceptions = dict(session.execute(select(CalendarDay.day, CalendarDay.kind)).all())

    def working(day: date) -> bool:
        kind = exceptions.get(day)
        return kind is DayKind.workday if kind else day.isoweekday() < 6

    def oracle(start: datetime, n: int) -> datetime:
        day = start.astimezone(BEIJING).date()
        while n:
            day += timedelta(days=1)
            n -= working(day)
        return end_of(day)

    starts = [bj(2025, 12, 1, 9) + timedelta(days=d, hours=7 * d % 24) for d in range(420)]
    rows = session.execute(text("""
        SELECT s, n, gridlink_due(s, n, 'working_days') FROM unnest(CAST(:starts AS
        timestamptz[])) s, generate_series(1, 25, 4) n"""), {"starts": starts}).all()
    assert len(rows) == len(starts) * 7
    for start, n, by_sql in rows:
        assert by_sql == oracle(start, n), (start, n)
    for start in starts[::20]:
        assert due(session, start, 7, "working_days") == oracle(start, 7)


# --- the rules -----------------------------------------------------------------------------

def test_the_default_rules_are_the_issues(session):
    on = date(2026, 12, 1)
    normal = rule_in_force(session, MatterType.service, Urgency.normal, on)
    urgent = rule_in_force(session, MatterType.service, Urgency.urgent, on)
    assert (normal.accept_amount, normal.accept_unit, normal.finish_amount,
            normal.finish_unit) == (1, "working_days", 7, "working_days")
    assert (urgent.accept_amount, urgent.accept_unit, urgent.finish_amount,
            urgent.finish_unit) == (2, "hours", 3, "working_days")


def test_a_new_rule_ends_the_old_one_and_a_type_rule_beats_the_any_type_rule(session):
    old = rule_in_force(session, MatterType.find_property, Urgency.normal, date(2026, 12, 1))
    assert old.matter_type is None
    typed = set_rule(session, MatterType.find_property, Urgency.normal,
                     (2, Unit.working_days), (10, Unit.working_days), date(2027, 1, 1))
    assert rule_in_force(session, MatterType.find_property, Urgency.normal,
                         date(2027, 1, 1)) == typed
    assert rule_in_force(session, MatterType.service, Urgency.normal,
                         date(2027, 1, 1)) == old  # other types keep the rule for any type
    newer = set_rule(session, None, Urgency.normal, (2, "working_days"), (5, "working_days"),
                     date(2027, 3, 1))
    session.refresh(old)
    assert old.valid_to == date(2027, 3, 1) and newer.valid_to is None
    assert rule_in_force(session, MatterType.service, Urgency.normal, date(2027, 2, 28)) == old
    with pytest.raises(DeadlineError, match="must start later"):
        set_rule(session, None, Urgency.normal, (1, "hours"), (1, "hours"), date(2027, 2, 1))
    with pytest.raises(DeadlineError, match="between 1 and 60"):
        set_rule(session, None, Urgency.urgent, (1, "hours"), (61, "working_days"),
                 date(2027, 3, 1))


def test_the_database_refuses_to_rewrite_a_rule(session):
    rule = rule_in_force(session, MatterType.service, Urgency.normal, date(2026, 12, 1))
    session.flush()
    with pytest.raises(DBAPIError, match="never changed"), session.begin_nested():
        session.execute(update(DeadlineRule).where(DeadlineRule.id == rule.id)
                        .values(accept_amount=5))


# --- fixed when assigned ---------------------------------------------------------------------

def test_a_filed_matter_gets_its_deadlines_by_the_rule_in_force(session, court, at):
    at(bj(2026, 9, 30, 10, 0))
    normal, _ = file_matter(session, filing(court, 1))
    assert normal.state is MatterState.assigned
    assert normal.accept_due_at == end_of(date(2026, 10, 8))  # 国庆节 in between
    assert normal.finish_due_at == end_of(date(2026, 10, 15))  # 8, 9, 10 (worked), 12…15
    urgent, _ = file_matter(session, filing(court, 2, urgency="urgent"))
    assert urgent.accept_due_at == bj(2026, 9, 30, 12, 0)
    assert urgent.finish_due_at == end_of(date(2026, 10, 10))  # 10月10日 worked: 8, 9, 10


def test_changing_a_rule_or_the_calendar_never_moves_a_fixed_deadline(session, court, at):
    at(bj(2026, 9, 30, 10, 0))
    matter, _ = file_matter(session, filing(court, 3))
    fixed = (matter.accept_due_at, matter.finish_due_at)
    set_rule(session, None, Urgency.normal, (3, "working_days"), (20, "working_days"),
             date(2026, 10, 1))
    session.execute(delete(CalendarDay))
    session.flush()
    session.expire_all()
    again = session.get(Matter, matter.id)
    assert (again.accept_due_at, again.finish_due_at) == fixed


def test_a_move_to_another_grid_restarts_the_clocks_by_the_rule_of_that_day(session, court, at):
    at(bj(2026, 11, 2, 9, 0))  # a Monday
    matter, _ = file_matter(session, filing(court, 4))
    assert matter.accept_due_at == end_of(date(2026, 11, 3))
    set_rule(session, None, Urgency.normal, (2, "working_days"), (7, "working_days"),
             date(2026, 11, 5))
    at(bj(2026, 11, 6, 15, 0))  # Friday, under the new rule
    other = session.scalar(Grid.current().where(Grid.name == "下坪社区"))
    reroute(session, matter, other, "经核实现居下坪社区")
    assert matter.accept_due_at == end_of(date(2026, 11, 10))  # Mon, Tue
    assert matter.finish_due_at == end_of(date(2026, 11, 17))
    # Returned, then placed by a person from the queue: the clocks start again.
    return_matter(session, matter, "该户已迁出")
    at(bj(2026, 11, 9, 9, 0))
    pick_grid(session, matter, other, method="map")
    assert matter.accept_due_at == end_of(date(2026, 11, 11))


def test_matters_assigned_set_based_get_their_deadlines_in_the_same_statement(session, court,
                                                                             at):
    at(bj(2026, 10, 9, 16, 0))
    target = session.scalar(Grid.current().where(Grid.name == "丰收村"))
    lon, lat = session.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                      func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                               .where(Grid.id == target.id)).one()
    matters = []
    for i, urgency in enumerate(("normal", "urgent")):
        data = filing(court, 10 + i, urgency=urgency,
                      addresses=[AddressInput("household", None, lon, lat)])
        matters.append(build_matter(session, data)[0])
    session.flush()
    assert assign_stored_points(session)["assigned"] == 2
    for matter in matters:
        session.refresh(matter)
    assert matters[0].accept_due_at == end_of(date(2026, 10, 10))  # the worked Saturday
    assert matters[1].accept_due_at == bj(2026, 10, 9, 18, 0)
    assert [deadlines_at(session, bj(2026, 10, 9, 16, 0), MatterType.find_property,
                         m.urgency)
            for m in matters] == [(m.accept_due_at, m.finish_due_at) for m in matters]


def test_the_demo_has_matters_overdue_and_due_soon(session):
    marks = Marks(session)
    overdue = session.scalar(select(func.count()).where(marks.overdue()))
    soon = session.scalar(select(func.count()).where(marks.due_soon()))
    assert overdue > 0 and soon > 0
    assert session.scalar(select(func.count()).select_from(Matter).where(
        Matter.state == MatterState.assigned, Matter.accept_due_at.is_(None))) == 0


# --- marks -----------------------------------------------------------------------------------

def test_on_a_saturday_what_is_due_on_monday_is_due_soon(session):
    marks = Marks(session, bj(2026, 12, 5, 10, 0))
    assert marks.soon == end_of(date(2026, 12, 7))


@pytest.mark.parametrize(("state", "accept", "finish", "expected"), [
    (MatterState.assigned, -1, 100, ("accept", "overdue")),
    (MatterState.escalated, 5, 100, ("accept", "due_soon")),
    (MatterState.escalated, 35, 100, ("accept", "due_soon")),  # before Thursday's end
    (MatterState.assigned, 48, -100, ("accept", None)),
    (MatterState.accepted, -100, 20, ("finish", "due_soon")),
    (MatterState.dispatched, -100, -1, ("finish", "overdue")),
    (MatterState.done, -100, -100, None),
    (MatterState.returned, -100, -100, None),
])
def test_the_mark_follows_the_deadline_that_counts_now(session, state, accept, finish,
                                                       expected):
    marks = Marks(session, bj(2026, 12, 2, 10, 0))  # a Wednesday: due soon is a day ahead
    now = marks.now
    matter = session.scalar(select(Matter).limit(1))
    matter.state = state
    matter.accept_due_at = now + timedelta(hours=accept)
    matter.finish_due_at = now + timedelta(hours=finish)
    found = marks.of(matter)
    assert (found and (found.which, found.state)) == (expected or None)
    session.flush()
    in_sql = session.scalar(select(counting_due()).where(Matter.id == matter.id))
    assert in_sql == (found.due_at if found else None)


def test_the_official_calendar_is_loaded_once_and_keeps_an_admins_days(session, runner):
    session.execute(delete(CalendarDay).where(CalendarDay.day >= date(2026, 10, 1)))
    session.add(CalendarDay(day=date(2026, 10, 8), kind=DayKind.holiday, name="本地调整"))
    session.flush()
    first = runner.invoke(args=["seed", "calendar"])
    assert first.exit_code == 0 and first.output.strip() == "8 calendar days added"
    assert session.get(CalendarDay, date(2026, 10, 8)).name == "本地调整"
    assert session.get(CalendarDay, date(2026, 10, 10)).kind is DayKind.workday
    assert runner.invoke(args=["seed", "calendar"]).output.strip() == "0 calendar days added"


def test_a_year_the_calendar_does_not_know_yet_is_said_on_both_pages(session, at, client_as):
    """The demo's calendar holds 2026 only: from mid-November deadlines may fall in
    2027, whose holidays would count as working days — both pages say so, until an
    admin enters a day of it."""
    assert unknown_years(session, date(2026, 6, 1)) == []
    assert unknown_years(session, date(2026, 12, 4)) == [2027]
    at(bj(2026, 12, 4, 9, 0))
    for page in ("/admin/calendar/", "/admin/deadline_rule/"):
        html = client_as("demo_admin").get(page).get_data(as_text=True)
        assert "节假日安排尚未录入2027年" in html, page
    court = client_as("demo_court_yuncheng").get("/admin/calendar/").get_data(as_text=True)
    assert "节假日安排尚未录入2027年" in court  # those who read the marks, told why
    session.add(CalendarDay(day=date(2027, 1, 1), kind=DayKind.holiday, name="元旦"))
    session.flush()
    assert unknown_years(session, date(2026, 12, 4)) == []
    html = client_as("demo_admin").get("/admin/calendar/").get_data(as_text=True)
    assert "尚未录入" not in html


def test_the_town_centres_redispatch_restarts_the_clocks_and_taking_it_does_not(session, at):
    """Through the workflow's steps, as the pages take them."""
    from test_workflow import NEIGHBOUR, a_matter, go

    at(bj(2026, 11, 2, 9, 0))  # Monday
    matter = a_matter(session, "（2026）粤5302执7801号")
    first = (matter.accept_due_at, matter.finish_due_at)
    assert first == (end_of(date(2026, 11, 3)), end_of(date(2026, 11, 11)))
    at(bj(2026, 11, 4, 9, 0))
    go(session, matter, "demo_court_yuncheng", "escalate", note="联系不上网格长")
    go(session, matter, "demo_town_centre", "take")
    assert (matter.accept_due_at, matter.finish_due_at) == first
    at(bj(2026, 11, 5, 16, 0))  # Thursday
    neighbour = session.scalar(Grid.current().where(Grid.code == NEIGHBOUR))
    go(session, matter, "demo_town_centre", "redispatch", grid=neighbour, note="实际居住在丰收村")
    assert (matter.accept_due_at, matter.finish_due_at) == (
        end_of(date(2026, 11, 6)), end_of(date(2026, 11, 16)))


def test_the_sql_text_twins_say_what_the_expressions_say(session):
    """models.statistics writes SQL text; the maps and pages use the expressions: for
    every matter of the demo, in every state, the same due moment and due day."""
    from models.deadlines import due_day, due_day_sql, due_moment, due_moment_sql

    by_expression = dict(session.execute(select(Matter.id, func.row(due_moment(), due_day()))
                                         .select_from(Matter)).all())
    by_text = dict(session.execute(text(
        f"SELECT m.id, row({due_moment_sql('m')}, {due_day_sql('m')}) FROM matters m")).all())
    assert len(by_expression) > 1000 and by_expression == by_text
