"""Standard address points (标准地址): a road and a house number at a point.

They are the first rung of geocoding: an address that names a road and number
becomes this point, and the point finds its grid by point-in-polygon. No grid
is stored with the point: grids are redrawn, points stay where they are.
"""

from __future__ import annotations

import uuid

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, uuid_pk


class AddressPoint(db.Model):
    __tablename__ = "address_points"
    __table_args__ = (
        Index("uq_address_points_county_road_number", "county_code", "road", "number",
              unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    county_code: Mapped[str] = mapped_column(String(6))
    road: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(20))  # house number as written: 12号, 12-3号
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))

    def __str__(self) -> str:
        return f"{self.road}{self.number}"
