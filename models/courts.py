"""Courts: the city's intermediate court, its base courts and their people's tribunals.

Each court serves some grids (a base court its county, a tribunal a few towns);
the contact person and phone are what the attachment of the source document
lists (各县（市、区）人民法院、人民法庭联系人员名单).
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import Column, Enum, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, uuid_pk
from models.grids import Grid


class CourtKind(enum.StrEnum):
    intermediate = "intermediate"  # 中级人民法院
    base = "base"  # 基层人民法院
    tribunal = "tribunal"  # 人民法庭


court_grids = Table(
    "court_grids",
    db.metadata,
    Column("court_id", ForeignKey("courts.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
)


class Court(db.Model):
    __tablename__ = "courts"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[CourtKind] = mapped_column(
        Enum(CourtKind, name="court_kind", values_callable=lambda e: [m.value for m in e])
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courts.id"))
    # The court's code in case numbers, e.g. 粤5302 in （2026）粤5302执123号.
    case_code: Mapped[str | None] = mapped_column(String(10))
    # County adcode of the court's seat (the city's 445300 for the intermediate court).
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))

    parent: Mapped[Court | None] = relationship(remote_side=[id], back_populates="tribunals")
    tribunals: Mapped[list[Court]] = relationship(back_populates="parent")
    grids: Mapped[list[Grid]] = relationship(secondary=court_grids, order_by=Grid.code)

    def __str__(self) -> str:
        return self.name
