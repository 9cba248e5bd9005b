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


def init_app(app: Flask) -> None:
    @app.context_processor
    def basemap():
        return {"gridlink_basemap": basemap_layers(app.config)}
