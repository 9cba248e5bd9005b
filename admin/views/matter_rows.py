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
eight tables, 1.3 ms of planning on every page (no statement stays prepared: each request
ends in a rollback, and psycopg forgets its prepared statements on a rollback); four
tables plan in 0.4 ms, and the paths not kept yet come in one more small query.

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


def _details_query():
    """matter id, debtor's name and ID number, current primary assignment's id, its grid's
    id and its liaison's name, of the matters `ids`."""
    return (
        select(Matter.id, Debtor.name, Debtor.id_number, Assignment.id, Assignment.grid_id,
               Person.name)
        .join(Debtor, Debtor.id == Matter.debtor_id)
        .outerjoin(Assignment, (Assignment.matter_id == Matter.id)
                   & (Assignment.role == AssignmentRole.primary)
                   & Assignment.ended_at.is_(None))
        .outerjoin(Person, Person.id == Assignment.liaison_id)
        .where(Matter.id.in_(bindparam("ids", expanding=True))))


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


def _details(session, matter_ids: list) -> dict:
    """matter id → (debtor, current primary assignment) for the page's matters."""
    rows = session.execute(DETAILS, {"ids": matter_ids}).all()
    paths = grid_paths(session, [r[4] for r in rows if r[4] is not None])
    found = {}
    for key, debtor, id_number, assignment, grid_id, liaison in rows:
        primary = None if assignment is None else PrimaryAssignment(
            GridPath(list(paths.get(grid_id, ()))),
            Named(liaison) if liaison is not None else None)
        found[key] = (Named(debtor, id_number), primary)
    return found


def matter_rows(session, rows) -> list[MatterRow]:
    """MatterRows for a page's rows of ROW_COLUMNS (in the page's order)."""
    if not rows:
        return []
    found = _details(session, [r[0] for r in rows])
    return [MatterRow(r, *found.get(r[0], (None, None))) for r in rows]
