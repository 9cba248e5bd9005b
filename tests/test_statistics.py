"""The assessment statistics (考核), their workbook and the overdue list, on the demo's
year: the dashboard, the Excel report and a direct SQL count agree; a county
committee sees its county only (attacks); a redraw does not move a closed period."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from models import Generation, Grid, GridLevel, clock
from models.access import Scope
from models.accounts import Role
from models.statistics import NotAllowed, Period, overdue, statistics

YUNCHENG = "445302"
LUODING = "445381"  # another county of the demo
ADMIN = Scope(Role.admin)
YUNCHENG_COMMITTEE = Scope(Role.committee, YUNCHENG)

# The direct counts: the same questions asked of the matters' states (as of now), not of
# their steps, over each matter's newest primary assignment.
DIRECT = """
WITH m AS (
  SELECT m.*, (SELECT g.code FROM assignments a JOIN grids g ON g.id = a.grid_id
               WHERE a.matter_id = m.id AND a.role = 'primary'
               ORDER BY a.created_at DESC LIMIT 1) AS code
  FROM matters m
  WHERE extract(year FROM m.created_at AT TIME ZONE 'Asia/Shanghai') = :year)
SELECT count(*) AS asked,
       count(code) AS received,
       count(*) FILTER (WHERE state IN ('confirmed', 'paid')) AS completed,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       (SELECT coalesce(sum(l.amount), 0) FROM ledger_lines l
          JOIN fee_statements s ON s.id = l.statement_id AND s.state = 'paid'
        WHERE l.voided_at IS NULL AND l.matter_id IN (SELECT id FROM m WHERE code IS NOT NULL
                                                       AND code LIKE :area)) AS fees_paid
FROM m WHERE code LIKE :area OR (:area = '%' )"""


def direct(session, year: int, area: str = "") -> dict:
    return dict(session.execute(text(DIRECT), {"year": year, "area": area + "%"})
                .mappings().one())


def this_year() -> Period:
    return Period(clock.today().year)


def totals_on_page(html: str) -> dict:
    return {k: int(v) for k, v in re.findall(r'data-total="(\w+)">(\d+)<', html)}


def workbook(data: bytes):
    return load_workbook(BytesIO(data))


def sheet_rows(ws) -> tuple[list[tuple], tuple]:
    """(the rows under the headings, the totals row)."""
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    return rows[:-1], rows[-1]


def headed(ws, heading: str) -> int:
    return [c.value for c in ws[2]].index(heading)


# --- the numbers agree ---------------------------------------------------------------------

def test_dashboard_workbook_and_sql_agree(session, client):
    period = this_year()
    expected = direct(session, period.year)
    assert expected["completed"] > 100  # the demo's lived year

    page = client.get(f"/admin/statistics/?year={period.year}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = totals_on_page(html)
    assert shown == {"asked": expected["asked"], "received": expected["received"],
                     "completed": expected["completed"],
                     "on_time": shown["on_time"], "failed": expected["failed"]}

    book = workbook(client.get(f"/admin/statistics/excel/?year={period.year}").data)
    assert book.sheetnames == ["各县（市、区）", "各镇（街）", "各法院按类型", "各法院按月", "说明"]
    for name in ("各县（市、区）", "各镇（街）"):
        ws = book[name]
        body, total = sheet_rows(ws)
        for heading, key in (("受理事项", "received"), ("办结", "completed"),
                             ("无法完成", "failed")):
            i = headed(ws, heading)
            assert sum(r[i] for r in body) == total[i] == expected[key], (name, heading)
        i = headed(ws, "按期办结")
        assert sum(r[i] for r in body) == total[i] == shown["on_time"]
        i = headed(ws, "已付劳务费（元）")
        assert Decimal(str(sum(r[i] for r in body))) == Decimal(str(total[i])) \
            == expected["fees_paid"]
    for name in ("各法院按类型", "各法院按月"):
        ws = book[name]
        body, total = sheet_rows(ws)
        for heading, key in (("委托事项", "asked"), ("办结", "completed"),
                             ("无法完成", "failed")):
            i = headed(ws, heading)
            assert sum(r[i] for r in body) == total[i] == expected[key], (name, heading)
        asked, parts = headed(ws, "委托事项"), [headed(ws, h) for h in
                                            ("办结", "无法完成", "撤回", "未结")]
        assert all(r[asked] == sum(r[p] for p in parts) for r in body)


def test_on_time_means_finished_by_the_due_moment(session):
    """On time, counted once in SQL: the completed matters whose grid recorded the
    outcome by the rules' deadline, else by the end of the court's own date."""
    period = this_year()
    on_time = session.scalar(text("""
        SELECT count(*) FROM matters m
        JOIN LATERAL (SELECT max(at) AS finished FROM matter_steps s
                      WHERE s.matter_id = m.id AND s.step = 'finish') f ON true
        WHERE m.state IN ('confirmed', 'paid')
          AND extract(year FROM m.created_at AT TIME ZONE 'Asia/Shanghai') = :year
          AND CASE WHEN m.finish_due_at IS NOT NULL THEN f.finished <= m.finish_due_at
                   ELSE (f.finished AT TIME ZONE 'Asia/Shanghai')::date <= m.deadline END"""),
                          {"year": period.year})
    stats = statistics(session, ADMIN, period)
    assert stats.total.on_time == on_time
    assert 0 < stats.total.on_time < stats.total.completed


def test_per_county_rows_match_a_direct_count(session):
    period = this_year()
    stats = statistics(session, ADMIN, period)
    assert len(stats.counties) == 5
    for row in stats.counties:
        expected = direct(session, period.year, row.code[:6])
        assert (row.received, row.completed, row.failed, row.fees_paid) == (
            expected["received"], expected["completed"], expected["failed"],
            expected["fees_paid"]), row.name
    assert sorted(r.rank for r in stats.counties) == [1, 2, 3, 4, 5]
    rates = [r.completion_rate for r in sorted(stats.counties, key=lambda r: r.rank)]
    assert rates == sorted(rates, reverse=True)


def test_the_annual_report_command_writes_the_same_tables(session, runner, tmp_path):
    period = this_year()
    out = tmp_path / "annual.xlsx"
    result = runner.invoke(args=["report", "annual", "--year", str(period.year),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = direct(session, period.year)
    book = load_workbook(out)
    ws = book["各县（市、区）"]
    _, total = sheet_rows(ws)
    assert total[headed(ws, "受理事项")] == expected["received"]
    assert total[headed(ws, "办结")] == expected["completed"]
    ws = book["各法院按类型"]
    _, total = sheet_rows(ws)
    assert total[headed(ws, "委托事项")] == expected["asked"]

    result = runner.invoke(args=["report", "annual", "--year", str(period.year),
                                 "--out", str(out), "--county", "云城区"])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out)["各镇（街）"]
    body, total = sheet_rows(ws)
    assert {r[0] for r in body} == {"云城区"}
    assert total[headed(ws, "受理事项")] == direct(session, period.year, YUNCHENG)["received"]
    bad = runner.invoke(args=["report", "annual", "--year", "2026", "--out", str(out),
                              "--county", "no such county"])
    assert bad.exit_code != 0 and "no county" in bad.output


# --- a county committee sees its county only (attacks) ---------------------------------------

def _other_county_names(session) -> set[str]:
    return set(session.scalars(select(Grid.name).where(
        Grid.generation_high.is_(None), Grid.level == GridLevel.town,
        Grid.code.startswith(LUODING))))


def test_a_county_committee_sees_its_county_only(session, client_as):
    period = this_year()
    committee = client_as("demo_yuncheng_committee")
    others = _other_county_names(session)
    expected = direct(session, period.year, YUNCHENG)
    for query in (f"?year={period.year}", f"?year={period.year}&area={LUODING}",
                  f"?year={period.year}&county={LUODING}&scope=city"):
        html = committee.get("/admin/statistics/" + query).get_data(as_text=True)
        codes = re.findall(r'<tr data-code="(\d+)"', html)
        assert codes and all(c.startswith(YUNCHENG) for c in codes)
        assert not [name for name in others if name in html]
        shown = totals_on_page(html)
        assert (shown["asked"], shown["received"], shown["completed"]) == (
            expected["received"], expected["received"], expected["completed"])

    book = workbook(committee.get(f"/admin/statistics/excel/?year={period.year}").data)
    for ws in book:
        cells = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
        assert not [name for name in others if name in cells], ws.title
    ws = book["各县（市、区）"]
    body, _ = sheet_rows(ws)
    assert [r[0] for r in body] == ["云城区"]

    html = committee.get("/admin/overdue/?sort=grid").get_data(as_text=True)
    grids = re.findall(r'data-grid="(\d+)"', html)
    assert grids and all(g.startswith(YUNCHENG) for g in grids)
    ws = workbook(committee.get("/admin/overdue/excel/").data).active
    body, _ = sheet_rows(ws)
    assert body and all(str(r[4]).startswith(YUNCHENG) for r in body)


def test_the_city_committee_and_admins_see_every_county(session, client_as):
    period = this_year()
    city = client_as("demo_city_committee")
    html = city.get(f"/admin/statistics/?year={period.year}").get_data(as_text=True)
    assert totals_on_page(html)["asked"] == direct(session, period.year)["asked"]
    assert len(set(re.findall(r'<tr data-code="(\d{6})000000"', html))) == 5


@pytest.mark.parametrize("username", ["demo_court_yuncheng", "demo_liaison", "demo_worker",
                                      "demo_town_centre"])
def test_other_roles_are_refused(client_as, username):
    other = client_as(username)
    for path in ("/admin/statistics/", "/admin/statistics/excel/", "/admin/overdue/",
                 "/admin/overdue/excel/"):
        assert other.get(path).status_code == 403, path


def test_nobody_signed_in_is_sent_to_sign_in(anonymous):
    response = anonymous.get("/admin/statistics/excel/")
    assert response.status_code == 302 and "/admin/auth/" in response.location


def test_the_model_refuses_other_roles(session):
    with pytest.raises(NotAllowed):
        statistics(session, Scope(Role.court_staff), this_year())
    with pytest.raises(NotAllowed):
        overdue(session, Scope(Role.liaison, "445302001003"))


# --- a redraw does not move a closed period ------------------------------------------------

def _closed_month() -> Period:
    day = clock.today().replace(day=1) - timedelta(days=40)
    return Period(day.year, f"{day.month:02d}")


def _figures(stats) -> tuple:
    return ([(r.code, r.name, r.received, r.completed, r.on_time, r.failed, r.median_days,
              r.fees_paid) for r in stats.counties + stats.towns],
            [(r.court, r.key, r.asked, r.completed) for r in stats.courts_by_type])


def test_a_redraw_does_not_move_a_closed_periods_statistics(session):
    """The busiest village of a closed month is redrawn (a new boundary version) and then
    abolished, its area given to a new village of ANOTHER town: the month's figures stay
    where its matters were assigned."""
    period = _closed_month()
    before = statistics(session, ADMIN, period)
    assert before.total.received > 50
    code = session.scalar(text("""
        SELECT g.code FROM assignments a JOIN grids g ON g.id = a.grid_id
        JOIN matters m ON m.id = a.matter_id
        WHERE a.role = 'primary' AND g.level = 'village'
          AND m.created_at >= :start AND m.created_at < :end
        GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1"""), period.moments())
    village = session.scalars(Grid.current().where(Grid.code == code)).one()
    other_town = session.scalars(Grid.current().where(
        Grid.level == GridLevel.town, Grid.county_code == village.county_code,
        Grid.code != code[:9] + "000")).first()

    redraw = Generation(label="test redraw", valid_from=clock.today())
    session.add(redraw)
    session.flush()
    old_geom = village.geom
    village.geom = session.scalar(select(func_shrunk(village.geom)))
    village.keep_history(session, old_geom, redraw)
    session.flush()
    assert _figures(statistics(session, ADMIN, period)) == _figures(before)

    abolish = Generation(label="test abolish", valid_from=clock.today() + timedelta(days=1))
    session.add(abolish)
    session.flush()
    village.generation_high = redraw.id
    session.add(Grid(code=other_town.code[:9] + "999", name="新设村", level=GridLevel.village,
                     parent_id=other_town.id, geom=old_geom, generation_low=abolish.id))
    session.flush()
    after = statistics(session, ADMIN, period)
    assert _figures(after) == _figures(before)
    assert statistics(session, YUNCHENG_COMMITTEE, period).total.received == sum(
        r.received for r in before.towns if r.code.startswith(YUNCHENG))


def func_shrunk(geom):
    from sqlalchemy import func

    return func.ST_Multi(func.ST_Buffer(geom, -0.0005))


# --- the overdue list -----------------------------------------------------------------------

def test_overdue_list_is_sorted_and_shows_no_debtor(session, client):
    total, rows = overdue(session, ADMIN, limit=None)
    assert total == len(rows) > 0
    assert [r.days_overdue for r in rows] == sorted((r.days_overdue for r in rows),
                                                    reverse=True)
    assert all(r.days_overdue >= 0 and r.state in ("assigned", "accepted", "dispatched",
                                                   "escalated") for r in rows)
    html = client.get("/admin/overdue/").get_data(as_text=True)
    assert len(re.findall(r"data-days=", html)) == min(total, 100)
    debtors = session.scalars(text(
        "SELECT d.name FROM matters m JOIN debtors d ON d.id = m.debtor_id WHERE m.id = ANY(:ids)"
    ), {"ids": [r.id for r in rows]}).all()
    assert debtors and not [d for d in debtors if re.search(f"[>\"]{d}[<\"]", html)]

    html = client.get("/admin/overdue/?sort=case_number&desc=0").get_data(as_text=True)
    cases = re.findall(r"<td>(（\d{4}）[^<]+)</td>", html)
    assert cases == sorted(r.case_number for r in rows)[:100]

    _, by_liaison = overdue(session, ADMIN, sort="liaison", descending=False, limit=None)
    assert sorted(r.id for r in by_liaison) == sorted(r.id for r in rows)
    names = [r.liaison for r in by_liaison]
    assert None not in names and names == sorted(names)

    ws = workbook(client.get("/admin/overdue/excel/").data).active
    body, total_row = sheet_rows(ws)
    assert len(body) == total and total_row[1] == f"{total} 件"
    assert [c.value for c in ws[2]][:4] == ["序号", "案号", "委托法院", "网格"]
    cells = {str(v) for r in body for v in r if v}
    assert not [d for d in debtors if d in cells]


def test_overdue_follows_the_rules_deadline_where_there_is_one(session):
    """A matter due later by the court's date but past the rules' deadline is overdue;
    one past the court's date but not the rules' deadline is not."""
    _, rows = overdue(session, ADMIN, limit=None)
    late = rows[0]
    now = clock.now()
    early = session.scalar(text("""
        SELECT m.id FROM matters m JOIN assignments a ON a.matter_id = m.id
          AND a.role = 'primary' AND a.ended_at IS NULL
        WHERE m.state = 'dispatched' AND m.deadline > :today + 3 ORDER BY m.case_number LIMIT 1"""),
                           {"today": clock.today()})
    session.execute(text("UPDATE matters SET accept_due_at = :at, finish_due_at = :at "
                         "WHERE id = :id"), {"at": now + timedelta(days=5), "id": late.id})
    session.execute(text("UPDATE matters SET finish_due_at = :at WHERE id = :id"),
                    {"at": now - timedelta(days=2), "id": early})
    _, rows = overdue(session, ADMIN, limit=None)
    ids = {r.id: r for r in rows}
    assert late.id not in ids
    assert ids[early].days_overdue == 2


def test_a_matter_nobody_accepted_is_overdue_by_its_accept_deadline(session):
    """Escalated for want of an answer, its finish deadline still ahead: the committee's
    list shows it, by the day its acceptance was due; accepted, the finish day counts."""
    matter = session.scalar(text("""
        SELECT m.id FROM matters m JOIN assignments a ON a.matter_id = m.id
          AND a.role = 'primary' AND a.ended_at IS NULL
        WHERE m.state = 'assigned' ORDER BY m.case_number LIMIT 1"""))
    now = clock.now()
    session.execute(text("UPDATE matters SET state = 'escalated', escalation_level = 2, "
                         "accept_due_at = :late, finish_due_at = :ahead, deadline = :later "
                         "WHERE id = :id"),
                    {"late": now - timedelta(days=3), "ahead": now + timedelta(days=4),
                     "later": clock.today() + timedelta(days=30), "id": matter})
    rows = {r.id: r for r in overdue(session, ADMIN, limit=None)[1]}
    assert rows[matter].days_overdue == 3 and rows[matter].escalation_level == 2
    session.execute(text("UPDATE matters SET state = 'accepted' WHERE id = :id"),
                    {"id": matter})
    assert matter not in {r.id for r in overdue(session, ADMIN, limit=None)[1]}


def test_period_bounds():
    assert (Period(2026).start, Period(2026).end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert (Period(2026, "Q4").start, Period(2026, "Q4").end) == (date(2026, 10, 1),
                                                                  date(2027, 1, 1))
    assert (Period(2026, "02").start, Period(2026, "02").end) == (date(2026, 2, 1),
                                                                  date(2026, 3, 1))
    with pytest.raises(ValueError):
        Period(2026, "Q5")
