"""Where each matter is now, for an area's lists: one row per current assignment, with
the area codes of its grid and the matter's sort keys (open or not, when it is due,
when it was filed).

An area's people (a grid's liaison and workers, a town centre, a county committee) read
the matters with a current assignment to a grid of their area (models.access). Found
through the assignments, every one of an area's matters had to be looked up in the
matters table to sort them: for the busiest town of the synthetic province 3,293 matters,
13,000 pages, on every home page and list page (bench/RESULTS.md, parts (i) and (k)).
Here the area's newest or nearest come in order from an index, and its counts from the
index alone.

Kept by the database itself (migration 0021), whatever path writes: an assignment made
adds its row, an assignment ended (re-routed, returned, reassigned) removes it, and a
matter's step that changes whether it is open or when it is due updates its rows. The
ladder's escalation (assigned → escalated) changes neither, so it writes nothing here.
Derived data: `gridlink db rebuild-areas` (`rebuild`) makes it again from the sources.

Each town's matters and open matters are counted by the database as they change
(migration 0024): the counts at the last fold (`town_counts`) plus the changes the
statements on these rows appended since (`town_count_changes`), folded every minute by
the worker (`fold_town_counts`). `TOWN_KEPT_SQL` reads them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    false,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import TextualSelect

from models.base import db


class MatterArea(db.Model):
    __tablename__ = "matter_areas"
    __table_args__ = (
        Index("ix_matter_areas_matter", "matter_id"),
        # An area's matters, newest first, with what its counts need (index-only).
        Index("ix_matter_areas_county", "county_code", "created_at", "matter_id",
              postgresql_include=["open", "due_at"]),
        Index("ix_matter_areas_town", "town_code", "created_at", "matter_id",
              postgresql_include=["open", "due_at", "town_first"]),
        Index("ix_matter_areas_village", "village_code", "created_at", "matter_id",
              postgresql_include=["open", "due_at", "grid_code"]),
        # A town's open matters, each once, nearest due first (我的事项 of a town's people).
        Index("ix_matter_areas_town_due", "town_code", "due_at", "created_at", "matter_id",
              postgresql_where=text("open AND town_first")),
    )

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True)
    matter_id: Mapped[uuid.UUID] = mapped_column()
    county_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str] = mapped_column(String(9))
    village_code: Mapped[str] = mapped_column(String(12))
    grid_code: Mapped[str] = mapped_column(String(15))
    open: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Exactly one row of a matter in each town carries it (migration 0023): a town's
    # matters counted and listed each once without sorting out the others.
    town_first: Mapped[bool] = mapped_column(Boolean)


# An area's code is the leading digits of its grid's code: which column holds them. A
# micro-grid's rows are found through its village's index, then by the full code.
_LEVEL_COLUMN = {6: "county_code", 9: "town_code", 12: "village_code", 15: "grid_code"}


def in_area(area_code: str | None) -> ColumnElement[bool]:
    """Filter on MatterArea: the rows of an area (a county's 6 digits, a town's 9, a
    village's 12, a micro-grid's 15)."""
    if not area_code or len(area_code) not in _LEVEL_COLUMN:
        return false()
    found = getattr(MatterArea, _LEVEL_COLUMN[len(area_code)]) == area_code
    if len(area_code) == 15:
        return (MatterArea.village_code == area_code[:12]) & found
    return found


def in_area_sql(area_code: str | None, rows: str) -> str | None:
    """`in_area` as SQL text on the rows aliased `rows`, with the parameters :area (the
    code) and :village (its first 12 digits); None for what is not an area's code."""
    if not area_code or len(area_code) not in _LEVEL_COLUMN:
        return None
    found = f"{rows}.{_LEVEL_COLUMN[len(area_code)]} = :area"
    if len(area_code) == 15:
        return f"{rows}.village_code = :village AND {found}"
    return found


# The towns' kept counts (migration 0024): as of the last fold, and the changes each
# statement appended since (no key: appended, summed, folded).
town_counts = Table("town_counts", db.metadata,
                    Column("town_code", String(9), primary_key=True),
                    Column("matters", Integer, nullable=False),
                    Column("open", Integer, nullable=False))
town_count_changes = Table("town_count_changes", db.metadata,
                           Column("town_code", String(9), nullable=False),
                           Column("matters", Integer, nullable=False),
                           Column("open", Integer, nullable=False),
                           Index("ix_town_count_changes_town", "town_code",
                                 postgresql_include=["matters", "open"]))

# A town's matters (each once) or open matters, as kept (migration 0024): the count at
# the last fold plus the changes since. SQL text with the parameter :area (the town's
# code): in 我的事项's statement (models.my_matters), and as a statement of its own.
TOWN_KEPT_SQL = """(coalesce((SELECT k.{column} FROM town_counts k
                              WHERE k.town_code = :area), 0)
                  + coalesce((SELECT sum(c.{column}) FROM town_count_changes c
                              WHERE c.town_code = :area), 0))::integer"""


def town_kept(town_code: str, column: str = "matters") -> TextualSelect:
    """A town's matters ("matters") or open matters ("open"), as the database keeps
    them, as a statement (its scalar subquery may ride along another statement)."""
    return (text(f"SELECT {TOWN_KEPT_SQL.format(column=column)} AS kept")
            .bindparams(area=town_code).columns(kept=Integer))


def fold_town_counts(session: Session) -> int:
    """Move the changes appended since the last fold into the towns' counts, in one
    statement (a reader sees every count before it or after it). A change appended by
    a transaction not yet committed stays for the next fold. Returns the towns folded."""
    return session.execute(text("""
        WITH gone AS (DELETE FROM town_count_changes RETURNING town_code, matters, open),
        summed AS (SELECT town_code, sum(matters) AS matters, sum(open) AS open
                   FROM gone GROUP BY town_code)
        INSERT INTO town_counts AS k (town_code, matters, open)
        SELECT town_code, matters, open FROM summed
        ON CONFLICT (town_code) DO UPDATE
        SET matters = k.matters + excluded.matters, open = k.open + excluded.open""")).rowcount


def rebuild(session: Session) -> int:
    """Make every row again from the assignments and the matters, and the towns' counts
    from the rows (the triggers keep both in step; this is for repair). Returns the
    rows written."""
    session.flush()
    session.execute(text("DELETE FROM matter_areas"))
    written = session.execute(text("""
        INSERT INTO matter_areas (assignment_id, matter_id, county_code, town_code,
                                  village_code, grid_code, open, due_at, created_at,
                                  town_first)
        SELECT a.id, a.matter_id, left(g.code, 6), left(g.code, 9), left(g.code, 12), g.code,
               gridlink_matter_open(m.state),
               gridlink_matter_due(m.state, m.accept_due_at, m.finish_due_at, m.deadline),
               m.created_at,
               row_number() OVER (PARTITION BY a.matter_id, left(g.code, 9)
                                  ORDER BY a.id) = 1
        FROM assignments a JOIN grids g ON g.id = a.grid_id JOIN matters m ON m.id = a.matter_id
        WHERE a.ended_at IS NULL""")).rowcount
    session.execute(text("DELETE FROM town_count_changes"))
    session.execute(text("DELETE FROM town_counts"))
    session.execute(text("""
        INSERT INTO town_counts (town_code, matters, open)
        SELECT town_code, count(*), count(*) FILTER (WHERE open) FROM matter_areas
        WHERE town_first GROUP BY town_code"""))
    return written


# The levels whose rows mark each matter's one (migration 0023): a town's.
_MARK_COLUMN = {9: "town_first"}


def _mark(area_code: str | None) -> str | None:
    return _MARK_COLUMN.get(len(area_code)) if area_code else None


def once_sql(area_code: str | None, rows: str) -> str | None:
    """SQL text on the rows aliased `rows` keeping one row of each matter, when the
    area's level marks one (a town: `town_first`); None where a DISTINCT must."""
    column = _mark(area_code)
    return f"{rows}.{column}" if column else None


def once(area_code: str | None) -> ColumnElement[bool] | None:
    """`once_sql` on MatterArea: a town's rows, one per matter (None below a town)."""
    column = _mark(area_code)
    return getattr(MatterArea, column) if column else None


def newest(area_code: str | None, limit: int, offset: int = 0):
    """A page of an area's matters, newest filed first, as a subquery (matter_id,
    created_at): each matter once, though it may have several assignments in the area,
    read in the order of the level's index instead of sorting all of the area's (a
    town's marked rows are each matter's one; elsewhere DISTINCT ON sorts them out)."""
    page = select(MatterArea.matter_id, MatterArea.created_at).where(in_area(area_code))
    if (marked := once(area_code)) is not None:
        page = page.where(marked)
    else:
        page = page.ext(distinct_on(MatterArea.created_at, MatterArea.matter_id))
    # The limit and the offset written in, whole numbers: as parameters, the server's
    # generic plan assumed a tenth of the rows for them, was never chosen, and the page's
    # statement was planned anew on every request (25 custom plans of 25).
    return (page.order_by(MatterArea.created_at.desc(), MatterArea.matter_id.desc())
            .limit(literal_column(str(int(limit))))
            .offset(literal_column(str(int(offset))))).subquery()


def counted(area_code: str | None):
    """How many matters the area has (each once) as a statement (its scalar subquery
    may ride along another statement): a town's as kept (migration 0024), elsewhere
    from the level's index alone."""
    if once(area_code) is not None:
        return town_kept(area_code)
    each = (select(MatterArea.created_at, MatterArea.matter_id).distinct()
            .where(in_area(area_code)).subquery())  # in index order: no sort
    return select(func.count()).select_from(each).correlate(None)


def count(session: Session, area_code: str | None) -> int:
    """How many matters the area has (each once): `counted` asked."""
    return session.scalar(counted(area_code))
