"""Maps that work with no internet.

All JavaScript and CSS come from this server (Leaflet and Leaflet.draw as
shipped inside Flask-Admin, our own widget in static/gridlink). The base map is
configurable and optional: none by default (the grids themselves are the map),
an intranet XYZ tile server (GRIDLINK_TILE_URL), or Tianditu with a key
(GRIDLINK_TIANDITU_KEY). Both are 256-pixel tile schemes; Flask-Admin's own
widget hard-codes Mapbox's 512-pixel tiles (tileSize 512, zoomOffset -1), which
shows such servers at the wrong scale, so our maps never use that code.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from admin.i18n import once_per_locale

TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}")


def basemap_layers(config) -> list[dict]:
    """The tile layers every map of the app draws under the grids, in order."""
    url = config.get("TILE_URL")
    if url:
        # Values come from the environment: empty means "not set", and Flask parses
        # GRIDLINK_TILE_SUBDOMAINS=0123 as a number, so read each defensively.
        return [{
            "url": url,
            "subdomains": str(config.get("TILE_SUBDOMAINS") or "abc"),
            "tileSize": int(config.get("TILE_SIZE") or 256),
            "maxZoom": int(config.get("TILE_MAX_ZOOM") or 18),
            "attribution": str(config.get("TILE_ATTRIBUTION") or ""),
        }]
    key = config.get("TIANDITU_KEY")
    if key:
        return [{
            "url": TIANDITU.format(s="{s}", layer=layer, key=key),
            "subdomains": "01234567",
            "tileSize": 256,
            "maxZoom": 18,
            "attribution": "天地图" if layer == "vec" else "",
        } for layer in ("vec", "cva")]
    return []


@once_per_locale
def map_texts_json() -> Markup:
    """map_texts as the page's JSON, made once per language."""
    return htmlsafe_json_dumps(map_texts())


def map_texts() -> dict:
    """The words Leaflet and Leaflet.draw put on a map (their titles, buttons and
    drawing hints), in the reader's language: merged into L.drawLocal and the zoom
    control by grid-map.js. Only the tools gridlink's maps offer."""
    return {
        "zoomIn": _("Zoom in"), "zoomOut": _("Zoom out"),
        "draw": {
            "draw": {
                "toolbar": {
                    "actions": {"title": _("Cancel drawing"), "text": _("Cancel")},
                    "finish": {"title": _("Finish drawing"), "text": _("Finish")},
                    "undo": {"title": _("Delete the last point drawn"),
                             "text": _("Delete the last point")},
                    "buttons": {"polygon": _("Draw a polygon"),
                                "rectangle": _("Draw a rectangle"),
                                "marker": _("Place a point")},
                },
                "handlers": {
                    "marker": {"tooltip": {"start": _("Click the map to place the point.")}},
                    "polygon": {"tooltip": {
                        "start": _("Click to start drawing the boundary."),
                        "cont": _("Click to continue drawing the boundary."),
                        "end": _("Click the first point to close the boundary.")}},
                    "polyline": {"error": _("Error: the edges cannot cross!"),
                                 "tooltip": {"start": _("Click to start drawing the line."),
                                             "cont": _("Click to continue drawing the line."),
                                             "end": _("Click the last point to finish.")}},
                    "rectangle": {"tooltip": {"start": _("Click and drag to draw a rectangle.")}},
                    "simpleshape": {"tooltip": {"end": _("Release the mouse to finish.")}},
                },
            },
            "edit": {
                "toolbar": {
                    "actions": {
                        "save": {"title": _("Keep the changes"), "text": _("Done")},
                        "cancel": {"title": _("Cancel editing and discard the changes"),
                                   "text": _("Cancel")},
                        "clearAll": {"title": _("Remove every shape"), "text": _("Clear all")},
                    },
                    "buttons": {"edit": _("Edit the boundary"),
                                "editDisabled": _("Nothing to edit"),
                                "remove": _("Delete shapes"),
                                "removeDisabled": _("Nothing to delete")},
                },
                "handlers": {
                    "edit": {"tooltip": {"text": _("Drag the handles to move the boundary."),
                                         "subtext": _("Cancel undoes the changes.")}},
                    "remove": {"tooltip": {"text": _("Click a shape to remove it.")}},
                },
            },
        },
    }


def init_app(app: Flask) -> None:
    @app.context_processor
    def basemap():
        return {"gridlink_basemap": basemap_layers(app.config),
                "gridlink_map_texts": map_texts_json}
