"""Standard address points (road + number) inside the demo's urban communities.

Each community gets two roads named after it; houses are placed along a line
across the community, odd numbers on one side and even on the other, kept a
little inside the polygon so no demo address falls on a shared boundary.
"""

from __future__ import annotations

import uuid

from geoalchemy2.shape import from_shape
from shapely import LineString, Point
from shapely.geometry.base import BaseGeometry

from seeds.demo_names import community_stem

HOUSES_PER_ROAD = 12
INSET = 0.0008  # degrees (~80 m): points stay this far inside their community
NAMESPACE = uuid.UUID("3d8a1c55-0a7e-4ad9-8d71-5a0c5c6f5300")


def _road_line(area: BaseGeometry, horizontal: bool) -> LineString | None:
    inner = area.buffer(-INSET)
    if inner.is_empty:
        return None
    centre = inner.representative_point()
    minx, miny, maxx, maxy = inner.bounds
    line = (LineString([(minx, centre.y), (maxx, centre.y)]) if horizontal
            else LineString([(centre.x, miny), (centre.x, maxy)]))
    piece = line.intersection(inner)
    if piece.geom_type == "MultiLineString":
        piece = max(piece.geoms, key=lambda g: g.length)
    return piece if piece.geom_type == "LineString" and piece.length > 0 else None


def _houses(area: BaseGeometry, line: LineString):
    """(number, point) pairs along the line, alternating sides, all inside `area`."""
    inner = area.buffer(-INSET)
    for i in range(HOUSES_PER_ROAD):
        number = i + 1
        at = line.interpolate((i // 2 * 2 + 1) / (HOUSES_PER_ROAD + 1), normalized=True)
        side = 0.0002 if number % 2 else -0.0002
        dx, dy = (0, side) if line.coords[0][1] == line.coords[-1][1] else (side, 0)
        point = Point(at.x + dx, at.y + dy)
        yield f"{number}号", (point if inner.contains(point) else at)


def address_points(tree, codes, tiling) -> list[dict]:
    points, seen = [], set()
    for adcode in sorted(tree):
        for town, villages in tree[adcode].items():
            for village in villages:
                stem = community_stem(village)
                if stem is None:
                    continue
                area = tiling.villages[(adcode, town, village)]
                for suffix, horizontal in (("路", True), ("街", False)):
                    road = stem + suffix
                    if (adcode, road) in seen:
                        road = town.removesuffix("街道").removesuffix("镇") + road
                    seen.add((adcode, road))
                    line = _road_line(area, horizontal)
                    if line is None:
                        continue
                    for number, point in _houses(area, line):
                        points.append({
                            "id": uuid.uuid5(NAMESPACE, f"{adcode}/{road}/{number}"),
                            "county_code": adcode, "road": road, "number": number,
                            "geom": from_shape(point, srid=4326),
                        })
    return points
