"""The matter list's rows, read as plain values instead of ORM objects.

A list row shows a dozen values of a matter, its debtor, its current grid's path and
that grid's liaison. Loaded as ORM objects (the matter, the debtor, every assignment,
the grid and its three parents, the liaison) a page of 50 rows was about 500 objects
put in the session's identity map: a third of the page's time, for objects nobody
changes. Here the page's query (Flask-Admin's: scope, filters, search, sort, paging)
selects only the matter's own columns the row needs, and one more query brings the
rest for the page's matters together: two queries whatever the page's size.

A grid's path (its name and its parents' up to the county) is the same for every reader
and changes only when a grid is renamed: kept a minute per grid (GRID_PATHS) instead of
joined to the page's rows. Joined, the grid and its three parents made the second query
eight tables, 1.3 ms each time it is planned (every page, before admin/transactions.py
let read-only requests keep their prepared statements); four tables plan in 0.4 ms, and
the paths not kept yet come in one more small query.

The rows look like matters to the list's column formatters (admin.views.
matter_formatters, deadline_marks): the same attribute names, so each cell is still
decided in one place.
"""

from __future__ import annotations

from itertools import pairwise

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased, defer, joinedload, selectinload

from admin.kept import Kept
from models import Assignment, Grid, Matter, Person
from models.assignments import AssignmentRole
from models.matters import Debtor

# The matter's own columns a list row shows (or its deadline marks read).
ROW_COLUMNS = (Matter.id, Matter.case_number, Matter.matter_type, Matter.state,
               Matter.deadline, Matter.urgency, Matter.bounty, Matter.chases,
               Matter.accept_due_at, Matter.finish_due_at)
_NAMES = tuple(c.key for c in ROW_COLUMNS)
# A grid's path: itself and up to three parents (microgrid → village → town → county).
PATH_DEPTH = 4


class Named:
    """A person or grid as a row shows it: a name (and a debtor's ID number)."""

    __slots__ = ("id_number", "name")

    def __init__(self, name: str | None, id_number: str | None = None):
        self.name, self.id_number = name, id_number


class GridPath:
    """A grid as a row shows it: the names of its path, county first."""

    __slots__ = ("names",)

    def __init__(self, names: list[str]):
        self.names = names

    def path(self) -> list[Named]:
        return [Named(n) for n in self.names]


class PrimaryAssignment:
    __slots__ = ("grid", "liaison")

    def __init__(self, grid: GridPath, liaison: Named | None):
        self.grid, self.liaison = grid, liaison


class MatterRow:
    """One matter of a list page, with what its row shows."""

    __slots__ = (*_NAMES, "debtor", "primary_assignment")

    def __init__(self, values, debtor: Named | None, primary: PrimaryAssignment | None):
        for name, value in zip(_NAMES, values, strict=True):
            setattr(self, name, value)
        self.debtor, self.primary_assignment = debtor, primary

    def values(self) -> tuple:
        """Everything the row shows, as one hashable value (a kept row's key)."""
        debtor, primary = self.debtor, self.primary_assignment
        return (*(getattr(self, name) for name in _NAMES),
                (debtor.name, debtor.id_number) if debtor else None,
                (tuple(primary.grid.names), primary.liaison.name if primary.liaison else None)
                if primary else None)


def _grid_path_options(depth: int = 3):
    """A grid and its parents up to the county (grid_path), without their polygons."""
    option = joinedload(Grid.parent).options(defer(Grid.geom))
    if depth > 1:
        option = joinedload(Grid.parent).options(defer(Grid.geom),
                                                 _grid_path_options(depth - 1))
    return option


def row_options():
    """What a row shows, for ORM matters (the list's export): the debtor, and the
    current grid's path and liaison (the grids without their polygons), loaded for the
    rows asked for, a fixed number of queries however many rows (selectin)."""
    return (selectinload(Matter.debtor),
            selectinload(Matter.assignments).options(
                joinedload(Assignment.grid).options(defer(Grid.geom), _grid_path_options()),
                joinedload(Assignment.liaison)))


# What a row shows besides the matter's own columns: the debtor's name and ID number, the
# current primary assignment (its id, its grid's id) and its liaison's name.
DETAIL_COLUMNS = (Debtor.name, Debtor.id_number, Assignment.id, Assignment.grid_id,
                  Person.name)


def with_details(statement):
    """`statement` (a select from matters) joined to what its rows show besides
    (DETAIL_COLUMNS, added after its own columns)."""
    return (statement.join(Debtor, Debtor.id == Matter.debtor_id)
            .outerjoin(Assignment, (Assignment.matter_id == Matter.id)
                       & (Assignment.role == AssignmentRole.primary)
                       & Assignment.ended_at.is_(None))
            .outerjoin(Person, Person.id == Assignment.liaison_id)
            .add_columns(*DETAIL_COLUMNS))


def _details_query():
    """matter id, then DETAIL_COLUMNS, of the matters `ids`."""
    return with_details(select(Matter.id).where(Matter.id.in_(bindparam("ids",
                                                                        expanding=True))))


def _paths_query():
    """grid id, then its path's names (county first, NULL above the root) of the grids
    `ids`: built once (aliases made anew per request would be compiled anew)."""
    grids = [aliased(Grid, name=f"path_{i}") for i in range(PATH_DEPTH)]
    query = (select(grids[0].id, *(g.name for g in reversed(grids)))
             .where(grids[0].id.in_(bindparam("ids", expanding=True))))
    for child, parent in pairwise(grids):
        query = query.outerjoin(parent, parent.id == child.parent_id)
    return query


DETAILS, PATHS = _details_query(), _paths_query()
GRID_PATHS = Kept(ttl=60.0, size=20_000)  # grid id → its path's names, county first


def grid_paths(session, grid_ids) -> dict:
    """grid id → the names of its path (county first), kept a minute per grid."""
    found = {}
    for grid_id in set(grid_ids):
        names = GRID_PATHS.get((grid_id,), lambda: None, keep=lambda _: False)
        if names is not None:
            found[grid_id] = names
    missing = [g for g in set(grid_ids) if g not in found]
    if missing:
        for grid_id, *path in session.execute(PATHS, {"ids": missing}):
            found[grid_id] = names = tuple(n for n in path if n is not None)
            GRID_PATHS.put((grid_id,), names)
    return found


def _with_paths(session, details: list) -> list[tuple]:
    """(debtor, current primary assignment) for each row of DETAIL_COLUMNS."""
    paths = grid_paths(session, [d[3] for d in details if d[3] is not None])
    return [(Named(debtor, id_number), None if assignment is None else PrimaryAssignment(
        GridPath(list(paths.get(grid_id, ()))), Named(liaison) if liaison is not None
        else None)) for debtor, id_number, assignment, grid_id, liaison in details]


def matter_rows(session, rows) -> list[MatterRow]:
    """MatterRows for a page's rows of ROW_COLUMNS (in the page's order): what they show
    besides in one more query."""
    if not rows:
        return []
    details = session.execute(DETAILS, {"ids": [r[0] for r in rows]}).all()
    found = dict(zip((d[0] for d in details), _with_paths(session, [d[1:] for d in details]),
                     strict=True))
    return [MatterRow(r, *found.get(r[0], (None, None))) for r in rows]


def rows_with_details(session, rows) -> list[MatterRow]:
    """MatterRows for rows of ROW_COLUMNS followed by DETAIL_COLUMNS (a page's statement
    passed through with_details)."""
    n = len(ROW_COLUMNS)
    return [MatterRow(r[:n], *d) for r, d in zip(
        rows, _with_paths(session, [r[n:] for r in rows]), strict=True)]
