"""Divisions and grids, with boundary history.

Every administrative division of the city is also a grid of the governance
system (镇、村微网格): county (区/县/市) → town or street (镇/街道) → village or
community (村/社区) → optional micro-grid (微网格). Each carries the national
statistical division code: the 6-digit county adcode, 3 digits of town and 3 of
village (12 digits), and 3 more for a micro-grid (15).

Boundaries change, and a court matter must keep the grid it was assigned under,
so boundaries are versioned the way mySociety MapIt does it. A *generation* is
one edition of the boundary set (the demo load, an import, a redraw), with the
date it takes effect. Each row of `grids` is one version of one division's
boundary, valid from `generation_low` through `generation_high` (inclusive);
`generation_high IS NULL` marks the current version. A redraw does not update
history away: the old boundary is kept as a closed row and the current row
takes the new one. At most one current row exists per code.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, uuid_pk


class GridLevel(enum.StrEnum):
    county = "county"
    town = "town"
    village = "village"
    microgrid = "microgrid"

    @property
    def parent(self) -> GridLevel | None:
        order = list(GridLevel)
        i = order.index(self)
        return order[i - 1] if i else None

    @property
    def code_length(self) -> int:
        return 15 if self is GridLevel.microgrid else 12


def N_(message: str) -> str:
    """Marks a message for translation; it is translated where it is shown."""
    return message


class GridCodeError(ValueError):
    """A division code that does not fit its level or its parent. `template` and
    `params` let the interface say it in the reader's language."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


# How many leading digits a level shares with its parent, and where its own end.
_OWN_DIGITS = {
    GridLevel.county: (0, 6),
    GridLevel.town: (6, 9),
    GridLevel.village: (9, 12),
    GridLevel.microgrid: (12, 15),
}


def check_code(code: str, level: GridLevel, parent_code: str | None) -> None:
    """Raise GridCodeError saying exactly what is wrong with a division code."""
    if not re.fullmatch(r"[0-9]+", code or ""):
        raise GridCodeError(N_("code %(code)s must contain digits only"), code=code)
    if len(code) != level.code_length:
        raise GridCodeError(N_("this level's codes have %(n)d digits; %(code)s has %(got)d"),
                            n=level.code_length, code=code, got=len(code))
    start, end = _OWN_DIGITS[level]
    if set(code[end:12]) - {"0"}:
        raise GridCodeError(N_("%(code)s must end in zeros after digit %(end)d"),
                            code=code, end=end)
    if set(code[start:end]) == {"0"}:
        raise GridCodeError(N_("digits %(first)d–%(end)d of %(code)s identify this division "
                               "and cannot all be zero"), first=start + 1, end=end, code=code)
    if level is GridLevel.county:
        return
    if parent_code is None:
        raise GridCodeError(N_("%(code)s needs a parent division"), code=code)
    if code[:start] != parent_code[:start]:
        raise GridCodeError(N_("%(code)s does not start with its parent's digits %(prefix)s"),
                            code=code, prefix=parent_code[:start])


class Generation(db.Model):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def __str__(self) -> str:
        return f"#{self.id} {self.label} ({self.valid_from:%Y-%m-%d})"

    @classmethod
    def current(cls) -> Select:
        return select(cls).order_by(cls.id.desc()).limit(1)


class Grid(db.Model):
    __tablename__ = "grids"
    __table_args__ = (
        CheckConstraint(
            "code ~ '^[0-9]+$' AND char_length(code) = "
            "CASE WHEN level = 'microgrid' THEN 15 ELSE 12 END",
            name="code_fits_level",
        ),
        CheckConstraint("generation_high IS NULL OR generation_high >= generation_low",
                        name="generation_range"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        # One current version per code; history rows may repeat it.
        Index("uq_grids_current_code", "code", unique=True,
              postgresql_where="generation_high IS NULL"),
        Index("ix_grids_parent_id", "parent_id"),
        Index("ix_grids_county_level", "county_code", "level"),
        # An area's grids by code prefix (Scope.matters: LIKE '4453020%'): migration 0012.
        Index("ix_grids_code_prefix", "code", postgresql_ops={"code": "text_pattern_ops"}),
        # Point-in-polygon asks for current villages: see migration 0005.
        Index("ix_grids_current_village_geom", "geom", postgresql_using="gist",
              postgresql_where="generation_high IS NULL AND level = 'village'"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[GridLevel] = mapped_column(
        Enum(GridLevel, name="grid_level", values_callable=lambda e: [m.value for m in e])
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("grids.id", ondelete="RESTRICT")
    )
    # The distribution key of the design (Citus shards by county); kept by the database.
    county_code: Mapped[str] = mapped_column(String(6), Computed("left(code, 6)", persisted=True))
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
    )
    generation_low: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    generation_high: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))

    parent: Mapped[Grid | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Grid]] = relationship(back_populates="parent")
    first_generation: Mapped[Generation] = relationship(foreign_keys=[generation_low])

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent else None

    @property
    def is_current(self) -> bool:
        return self.generation_high is None

    def path(self) -> list[Grid]:
        """County first, self last."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    @classmethod
    def current(cls) -> Select:
        return select(cls).where(cls.generation_high.is_(None))

    @classmethod
    def in_generation(cls, generation_id: int) -> Select:
        return select(cls).where(
            cls.generation_low <= generation_id,
            (cls.generation_high.is_(None)) | (cls.generation_high >= generation_id),
        )

    @classmethod
    def covering(cls, lon: float, lat: float, level: GridLevel) -> Select:
        """Current grids of a level whose polygon covers the point. ST_Covers, not
        ST_Contains, so a point on a boundary still finds its grids (both of them,
        when it lies on a shared edge: the caller decides, never the database)."""
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        return cls.current().where(cls.level == level, func.ST_Covers(cls.geom, point))

    @classmethod
    def neighbours_of(cls, grid: Grid) -> Select:
        """Current grids of the same level that share a boundary with (or overlap) grid."""
        return cls.current().where(
            cls.level == grid.level,
            cls.id != grid.id,
            func.ST_Intersects(cls.geom, grid.geom),
        ).order_by(cls.code)

    def keep_history(self, session, old_geom: WKBElement, generation: Generation) -> Grid:
        """Record that this grid was redrawn: `self.geom` already holds the new
        boundary, valid from `generation`; `old_geom` is kept in a closed copy that
        ends with the generation before it. The current row keeps its id, so roster,
        courts and matters that point at it follow the grid."""
        previous = select(func.max(Generation.id))
        if generation.id is not None:
            previous = previous.where(Generation.id < generation.id)
        with session.no_autoflush:
            last = session.scalar(previous)
        history = Grid(
            code=self.code, name=self.name, level=self.level, parent_id=self.parent_id,
            geom=old_geom, generation_low=self.generation_low, generation_high=last,
        )
        self.first_generation = generation
        session.add(history)
        session.flush()
        return history
