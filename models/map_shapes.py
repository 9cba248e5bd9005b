"""The committee maps' shapes: every county, town and village outline, precomputed
for each zoom band (geo.map_shapes builds them; a job refreshes them when
boundaries change, never a request).

A province has 26,000 villages of a few hundred vertices each: drawn at full detail
that is hundreds of megabytes, and uniting villages into towns takes half a minute.
So towns and counties are united from the villages once, and each level is
simplified once per zoom band, as a coverage: every edge shared by two neighbours
is simplified once, so neighbours still meet exactly (no gaps, no overlaps) at
every zoom. A map asks for the band of its zoom, inside the box it shows.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import DateTime, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db

# Zoom bands: (the first zoom of the band, the simplification tolerance in degrees,
# the GeoJSON digits). About one to two screen pixels at the band's first zoom (a
# pixel is 0.0055° at zoom 8, 0.0014° at 10, 0.00034° at 12): finer detail cannot be
# seen there, and every vertex more is bytes on each pan.
BANDS = (
    (0, 0.01, 4),
    (8, 0.004, 4),
    (10, 0.0015, 4),
    (12, 0.0004, 5),
)
LEVELS = ("county", "town", "village")


def band_of(zoom: float) -> int:
    """The band a map at this zoom draws."""
    return max(i for i, (first, _, _) in enumerate(BANDS) if zoom >= first)


class MapShape(db.Model):
    __tablename__ = "map_shapes"

    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326,
                                                      spatial_index=True))
    # Where a count or a cluster of the area is drawn: a point inside it.
    label_point: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326,
                                                             spatial_index=False))
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                               server_default=func.now())
