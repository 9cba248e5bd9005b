"""How many rows a list finds, without counting a million of them.

An exact count(*) reads every row the list's filters let through: for an admin's
matter list that is the whole table, a million rows at province scale, on every
page view and growing with the table. A person paging a list needs the exact number
when it is small and only its size when it is large. So a list counts exactly up to
EXACT_UP_TO rows (a LIMIT inside the count, so the cost is bounded whatever the
table's size), and beyond that asks the planner: EXPLAIN's row estimate for the same
query, which comes from the statistics ANALYZE keeps (for a whole table,
pg_class.reltuples scaled to its current size). Pages show it as 约 N.
"""

from __future__ import annotations

import json

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

# Up to this many rows a list's count is exact: a town's or a court's matters, mostly.
EXACT_UP_TO = 10_000


class Estimate(int):
    """A row count that is the planner's estimate, not a count (pages show 约 N). An
    int, so that paging arithmetic (pages = ceil(count / page size)) works unchanged."""


class MoreThan(int):
    """More rows than the cap: the value is the least there are, the cap + 1 (pages show
    "10,000+")."""


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement, its parameters bound as for the statement."""

    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def planned_rows(session, statement) -> int:
    """The planner's estimate of the rows a SELECT returns (nothing is read)."""
    plan = session.execute(_Explain(statement)).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def list_count(session, query, exact_up_to: int | None = None) -> int:
    """The rows a list query (an ORM Query) finds: exact up to `exact_up_to`; beyond
    that the planner's estimate for a whole table (an Estimate, never below what was
    counted), else MoreThan(exact_up_to + 1)."""
    exact_up_to = exact_up_to or EXACT_UP_TO
    unpaged = query.limit(None).offset(None).order_by(None)
    keys = unpaged.with_entities(*inspect(query.column_descriptions[0]["entity"]).primary_key)
    counted = session.scalar(select(func.count()).select_from(
        keys.limit(exact_up_to + 1).subquery()))
    if counted <= exact_up_to:
        return counted
    if not _narrowed(keys):
        return Estimate(max(planned_rows(session, keys.statement), counted))
    return MoreThan(counted)


def _narrowed(query) -> bool:
    """Whether a query has a condition other than `true` (an admin's scope)."""
    where = query.whereclause
    return where is not None and str(where) != "true"
