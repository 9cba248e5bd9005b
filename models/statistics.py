"""The assessment statistics (考核) and the overdue list: what a committee watches.

Which matters a period holds. A period (a year, a quarter, a month) holds the matters
the courts FILED in it (Beijing days), and every figure about them — received,
completed, on time, failed, days, fees — describes those same matters, as they stood
at the period's end (or now, for a period not yet over). So the rates are rates of
one set of matters, a closed year's figures no longer move, and every table's rows
add up to its total.

Where a matter counts. A matter counts at the grid of its last primary assignment
made by then — the grid that answered for it, ended or not (a returned matter stays
with the grid that returned it until someone re-routes it). An assignment points at
a grid ROW, a boundary version, whose code places it in its town and county: a
later redraw of the boundary (a new version, models.grids) neither moves the matter
nor its figures. A matter not yet placed in a grid counts for its court only.

What the figures mean (matter_steps is the history, models.workflow):
  asked / received  filed in the period (received: and placed in a grid)
  completed         the court confirmed it (确认办结), by the period's end
  on time           completed, the grid's outcome recorded by the matter's due moment
                    (finish_by below: the rules' deadline, else the court's own date)
  failed            the grid could not do it (无法完成)
  median days       from its assignment to the grid's outcome, of the completed
  fees paid         labour fees of its ledger lines on statements paid by then

Everything is set-based SQL scoped to the account's area in SQL: a county committee's
queries never read another county's matters (area_prefix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import clock
from models.accounts import Role
from models.deadlines import due_day_sql, due_moment_sql
from models.grids import N_
from models.matters import MatterState

S = MatterState
# The states in which a grid has a matter to work on: overdue is counted for these.
WITH_THE_GRID = (S.assigned, S.accepted, S.dispatched, S.escalated)
del S
# Who sees the statistics and the overdue list.
READERS = {Role.admin, Role.committee}


def finish_by(m: str = "m") -> str:
    """SQL: the moment a matter (alias `m`) must be finished by, for "on time": the
    rules' finish deadline fixed at assignment where there is one, else the end of the
    court's own date (its Beijing day). (Overdue, below, counts the deadline that
    counts now: models.deadlines.)"""
    return (f"coalesce({m}.finish_due_at, "
            f"(({m}.deadline + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))")


class NotAllowed(PermissionError):
    pass


def area_prefix(scope) -> str | None:
    """The code prefix of the area whose statistics the scope reads; None: the city.
    Raises NotAllowed for anyone but admins and committees."""
    if scope.role not in READERS:
        raise NotAllowed(N_("only committees and administrators read the statistics"))
    if scope.role is Role.admin or scope.area_code is None:
        return None
    return scope.area_code


# --- periods -------------------------------------------------------------------------

PARTS = ("", "Q1", "Q2", "Q3", "Q4", *(f"{m:02d}" for m in range(1, 13)))


@dataclass(frozen=True)
class Period:
    year: int
    part: str = ""  # "" the whole year, Q1..Q4, or a month 01..12
    start: date = field(init=False)
    end: date = field(init=False)  # exclusive

    def __post_init__(self):
        if self.part not in PARTS:
            raise ValueError(f"no such part of a year: {self.part!r}")
        first, months = 1, 12
        if self.part.startswith("Q"):
            first, months = 3 * int(self.part[1]) - 2, 3
        elif self.part:
            first, months = int(self.part), 1
        start = date(self.year, first, 1)
        end_month = first + months
        end = date(self.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def label(self) -> str:
        if not self.part:
            return f"{self.year}年"
        if self.part.startswith("Q"):
            return f"{self.year}年第{self.part[1]}季度"
        return f"{self.year}年{int(self.part)}月"

    def moments(self) -> dict:
        """The SQL parameters: the period's first and last moments (Beijing) and the
        moment its figures are taken (its end, or now)."""
        start = datetime.combine(self.start, time(), clock.SITE_ZONE)
        end = datetime.combine(self.end, time(), clock.SITE_ZONE)
        return {"start": start, "end": end, "as_of": min(end, clock.now())}


# --- the matters of a period, with what became of them ----------------------------------

def _facts(prefix: str | None) -> str:
    """SQL CTEs `m` (the period's matters in scope, at their grid) and `f` (with their
    steps and fees up to :as_of). With a prefix, only matters placed in its area.

    `placed` is each matter's last primary assignment made by :as_of, found from the
    assignments' side: for an area, from its county's assignments (their index) less
    those a later assignment elsewhere replaced — a county's year is read without
    visiting the province's other matters."""
    county = "" if prefix is None else """AND s.county_code = :county
    AND NOT EXISTS (SELECT 1 FROM assignments later
                    WHERE later.matter_id = s.matter_id AND later.role = 'primary'
                      AND later.created_at > s.created_at AND later.created_at < :as_of)"""
    join, in_area = ("LEFT JOIN", "") if prefix is None else ("JOIN", "AND g.code LIKE :area")

    def ours(alias: str) -> str:  # an area's few matters: their rows by index
        return "" if prefix is None else f"AND {alias}.matter_id IN (SELECT id FROM m)"

    return f"""
WITH placed AS (
  SELECT DISTINCT ON (s.matter_id) s.matter_id, s.grid_id, s.created_at
  FROM assignments s
  WHERE s.role = 'primary' AND s.created_at < :as_of {county}
  ORDER BY s.matter_id, s.created_at DESC
),
m AS (
  SELECT m.id, m.court_id, m.matter_type::text AS matter_type,
         date_trunc('month', m.created_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
         a.created_at AS assigned_at, g.code AS grid_code, {finish_by('m')} AS due_at
  FROM matters m
  {join} placed a ON a.matter_id = m.id
  LEFT JOIN grids g ON g.id = a.grid_id
  WHERE m.created_at >= :start AND m.created_at < :end {in_area}
),
steps AS (
  SELECT s.matter_id,
         min(s.at) FILTER (WHERE s.step = 'confirm') AS completed_at,
         max(s.at) FILTER (WHERE s.step = 'finish') AS finished_at,
         min(s.at) FILTER (WHERE s.step = 'fail') AS failed_at,
         min(s.at) FILTER (WHERE s.step = 'cancel') AS cancelled_at
  FROM matter_steps s  -- a matter's steps follow its filing: those of the period on
  WHERE s.at >= :start AND s.at < :as_of
    AND s.step IN ('confirm', 'finish', 'fail', 'cancel') {ours('s')}
  GROUP BY s.matter_id
),
fees AS (
  SELECT l.matter_id, sum(l.amount) AS paid
  FROM ledger_lines l JOIN fee_statements st ON st.id = l.statement_id
  WHERE l.created_at >= :start AND l.voided_at IS NULL
    AND st.state = 'paid' AND st.paid_at < :as_of {ours('l')}
  GROUP BY l.matter_id
),
f AS (
  SELECT m.*, steps.completed_at, steps.finished_at, steps.failed_at,
         steps.cancelled_at, fees.paid
  FROM m LEFT JOIN steps ON steps.matter_id = m.id LEFT JOIN fees ON fees.matter_id = m.id
)"""


def _params(period: Period, prefix: str | None) -> dict:
    params = period.moments()
    if prefix is not None:
        params.update(area=prefix + "%", county=prefix[:6])
    return params


# Every table in one pass over the period's matters (GROUPING SETS): a county, a town,
# the total (the area figures, of the matters placed in a grid), and a court by matter
# type or by month (the court figures, of all its matters). GROUPING() says which set a
# row belongs to, a bit per key left out, the first key the highest bit.
SETS = {"county": 0b01111, "town": 0b10111, "total": 0b11111, "by_type": 0b11001,
        "by_month": 0b11010}
PLACED = "FILTER (WHERE grid_code IS NOT NULL"
TABLES = f""",
keyed AS (SELECT f.*, rpad(left(grid_code, 6), 12, '0') AS county,
                 rpad(left(grid_code, 9), 12, '0') AS town FROM f),
sets AS (
  SELECT GROUPING(county, town, court_id, matter_type, month) AS kind,
         county, town, court_id, matter_type, month,
         count(*) {PLACED}) AS received,
         count(*) {PLACED} AND completed_at IS NOT NULL) AS completed,
         count(*) {PLACED} AND completed_at IS NOT NULL AND finished_at <= due_at) AS on_time,
         count(*) {PLACED} AND failed_at IS NOT NULL) AS failed,
         round((percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM finished_at - assigned_at) / 86400)
           {PLACED} AND completed_at IS NOT NULL))::numeric, 1) AS median_days,
         coalesce(sum(paid) {PLACED}), 0) AS fees_paid,
         count(*) AS asked, count(completed_at) AS asked_completed,
         count(failed_at) AS asked_failed, count(cancelled_at) AS cancelled
  FROM keyed
  GROUP BY GROUPING SETS ((county), (town), (), (court_id, matter_type), (court_id, month))
),
kept AS (  -- an area's sets without the matters placed nowhere
  SELECT * FROM sets WHERE NOT (kind IN (:county_set, :town_set) AND coalesce(county, town)
                                IS NULL)
)
SELECT kept.kind, coalesce(kept.town, kept.county) AS code, n.name, cn.name AS county_name,
       c.name AS court, coalesce(kept.matter_type, kept.month::text) AS key, kept.received,
       kept.completed, kept.on_time, kept.failed, kept.median_days, kept.fees_paid,
       kept.asked, kept.asked_completed, kept.asked_failed, kept.cancelled,
       CASE WHEN kept.kind IN (:county_set, :town_set) THEN rank() OVER (
         PARTITION BY kept.kind
         ORDER BY kept.completed::numeric / nullif(kept.received, 0) DESC NULLS LAST,
                  kept.on_time::numeric / nullif(kept.completed, 0) DESC NULLS LAST,
                  kept.median_days ASC NULLS LAST) END AS rank
FROM kept
LEFT JOIN courts c ON c.id = kept.court_id
LEFT JOIN LATERAL (SELECT name FROM grids WHERE code = coalesce(kept.town, kept.county)
                   ORDER BY generation_low DESC LIMIT 1) n ON true
LEFT JOIN LATERAL (SELECT name FROM grids WHERE code = rpad(left(kept.town, 6), 12, '0')
                      OR code = kept.county
                   ORDER BY generation_low DESC LIMIT 1) cn ON true
ORDER BY 1, rank, code, court, key"""


@dataclass
class AreaRow:
    code: str
    name: str
    county: str  # the county's name (for a county row, its own)
    received: int
    completed: int
    on_time: int
    failed: int
    median_days: Decimal | None
    fees_paid: Decimal
    rank: int | None = None

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.received if self.received else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None


@dataclass
class CourtRow:
    court: str
    key: object  # the matter type's value, or the month (a date)
    asked: int
    completed: int
    failed: int
    cancelled: int
    unfinished: int


@dataclass
class Statistics:
    period: Period
    as_of: datetime
    area: str | None  # the prefix read; None the city
    area_name: str  # its name (全市: the whole city)
    counties: list[AreaRow]
    towns: list[AreaRow]
    total: AreaRow
    courts_by_type: list[CourtRow]
    courts_by_month: list[CourtRow]
    court_total: CourtRow


def _tables(session: Session, period: Period, prefix: str | None) -> dict[str, list]:
    """The rows of every table, by set name (SETS), in one query."""
    params = _params(period, prefix) | {"county_set": SETS["county"], "town_set": SETS["town"]}
    kinds = {bits: name for name, bits in SETS.items()}
    tables: dict[str, list] = {name: [] for name in SETS}
    for row in session.execute(text(_facts(prefix) + TABLES), params):
        name = kinds[row.kind]
        if name in ("by_type", "by_month"):
            key = date.fromisoformat(row.key) if name == "by_month" else row.key
            tables[name].append(CourtRow(
                row.court, key, row.asked, row.asked_completed, row.asked_failed,
                row.cancelled,
                row.asked - row.asked_completed - row.asked_failed - row.cancelled))
        else:
            tables[name].append(AreaRow(
                row.code or "", row.name or row.code or "合计", row.county_name or "",
                row.received, row.completed, row.on_time, row.failed, row.median_days,
                row.fees_paid, row.rank))
    return tables


def area_name(session: Session, prefix: str | None) -> str:
    if prefix is None:
        return "全市"
    return session.scalar(text(
        "SELECT name FROM grids WHERE code = rpad(:prefix, 12, '0') "
        "ORDER BY generation_low DESC LIMIT 1"), {"prefix": prefix}) or prefix


def statistics(session: Session, scope, period: Period) -> Statistics:
    """Every table of the assessment for the scope's area and the period."""
    prefix = area_prefix(scope)
    tables = _tables(session, period, prefix)
    by_type = tables["by_type"]
    court_total = CourtRow("合计", None, *(sum(getattr(r, f) for r in by_type) for f in
                                         ("asked", "completed", "failed", "cancelled",
                                          "unfinished")))
    total = tables["total"][0]
    total.code, total.name = "", "合计"
    return Statistics(
        period=period, as_of=period.moments()["as_of"], area=prefix,
        area_name=area_name(session, prefix), counties=tables["county"],
        towns=tables["town"], total=total, courts_by_type=by_type,
        courts_by_month=tables["by_month"], court_total=court_total)


# --- the overdue list --------------------------------------------------------------------

@dataclass
class OverdueRow:
    id: object
    case_number: str
    court: str
    grid_code: str
    grid: str  # town and village
    liaison: str | None
    due_at: datetime
    days_overdue: int
    escalation_level: int
    state: str


# Sortable columns: the name a page uses → the SQL (a whitelist: nothing else is sorted by).
OVERDUE_SORTS = {
    "case_number": "case_number", "court": "court", "grid": "grid_code",
    "liaison": "liaison", "days_overdue": "days_overdue",
    "escalation_level": "escalation_level",
}
# The grid's liaison today (the roster's), else the one on duty when it was assigned.
LIAISON = """
LEFT JOIN people la ON la.id = o.liaison_id
LEFT JOIN LATERAL (
  SELECT p.name FROM roster_entries r JOIN people p ON p.id = r.person_id
  WHERE r.grid_id = o.grid_id AND r.role = 'liaison' AND r.valid_from <= :today
    AND (r.valid_to IS NULL OR r.valid_to > :today)
  ORDER BY r.valid_from DESC LIMIT 1) lr ON true"""


def _overdue_sql(prefix: str | None) -> str:
    """The overdue matters with what they are sorted by; names are joined to the page's
    rows only (a province has hundreds of thousands of them)."""
    in_area = "" if prefix is None else "AND a.county_code = :county AND g.code LIKE :area"
    return f"""
SELECT m.id, m.case_number, m.court_id, a.grid_id, a.liaison_id, g.code AS grid_code,
       g.name AS grid_name, {due_moment_sql('m')} AS due_at,
       :today - {due_day_sql('m')} AS days_overdue,
       m.escalation_level, m.state::text AS state
FROM matters m
JOIN assignments a ON a.matter_id = m.id AND a.role = 'primary' AND a.ended_at IS NULL
JOIN grids g ON g.id = a.grid_id
WHERE m.state::text = ANY(:open) AND {due_day_sql('m')} < :today {in_area}"""


def overdue(session: Session, scope, *, sort: str = "days_overdue", descending: bool = True,
            limit: int | None = 100, offset: int = 0) -> tuple[int, list[OverdueRow]]:
    """(how many, one page of them): the open matters past their due day in the
    scope's area, sorted by a column of OVERDUE_SORTS. No debtor's name or number."""
    prefix = area_prefix(scope)
    now = clock.now()
    params = {"now": now, "today": now.date(), "open": [s.value for s in WITH_THE_GRID]}
    if prefix is not None:
        params.update(area=prefix + "%", county=prefix[:6])
    core = _overdue_sql(prefix)
    count = session.scalar(text(f"SELECT count(*) FROM ({core}) o"), params)
    sort = sort if sort in OVERDUE_SORTS else "days_overdue"
    order = (f"{OVERDUE_SORTS[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, "
             "case_number, id")
    page = ""
    if limit is not None:
        page = "LIMIT :limit OFFSET :offset"
        params.update(limit=limit, offset=offset)
    # Sorted by liaison, every row needs its liaison first; otherwise only the page's.
    liaison_first = sort == "liaison"
    sql = f"""
WITH page AS (
  SELECT o.*, c.name AS court{", coalesce(lr.name, la.name) AS liaison" if liaison_first else ""}
  FROM ({core}) o JOIN courts c ON c.id = o.court_id {LIAISON if liaison_first else ""}
  ORDER BY {order} {page})
SELECT o.id, o.case_number, o.court, o.grid_code,
       CASE WHEN t.id IS NULL OR t.code = o.grid_code THEN o.grid_name
            ELSE t.name || o.grid_name END,
       {"o.liaison" if liaison_first else "coalesce(lr.name, la.name) AS liaison"},
       o.due_at, o.days_overdue, o.escalation_level, o.state
FROM page o
LEFT JOIN grids t ON t.code = left(o.grid_code, 9) || '000' AND t.generation_high IS NULL
{"" if liaison_first else LIAISON}
ORDER BY {order}"""
    rows = [OverdueRow(*row) for row in session.execute(text(sql), params)]
    return count, rows


ESCALATION_LABELS = {0: N_("With the grid"), 1: N_("Town centre"), 2: N_("County committee")}
