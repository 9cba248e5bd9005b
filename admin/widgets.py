"""Form widgets of our own."""

from __future__ import annotations

from flask import url_for
from wtforms.widgets import TextArea


class GridMapWidget(TextArea):
    """A boundary editor drawn by static/gridlink/grid-map.js: the grid being edited
    on top of its neighbours (fetched from the shapes endpoint), on the configured
    base map. The textarea keeps the GeoJSON, so nothing is lost without JavaScript."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("data-role", "gridlink-map")
        kwargs.setdefault("data-geometry-type", getattr(field, "geometry_type", "MULTIPOLYGON"))
        kwargs.setdefault("data-shapes-url", url_for("grid.shapes"))
        kwargs.setdefault("rows", 6)
        return super().__call__(field, **kwargs)
