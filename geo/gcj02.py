"""GCJ-02 (the "Mars coordinates" of AMap/高德, Tencent and other Chinese web maps)
to WGS84, for boundaries drawn on those maps.

GCJ-02 is WGS84 with a deliberate, smoothly varying offset of a few hundred metres
(about 500–700 m around Beijing, several hundred metres around Yunfu). The official
algorithm is not published. What everybody uses, and what is used here, is the
public forward formula (WGS84 → GCJ-02) that circulates in open-source code
(eviltransform, coordtransform and many more): a polynomial-and-sine series
(`_lon_shift`, `_lat_shift`) scaled onto the Krasovsky 1940 ellipsoid. Compared
with the official obfuscation it is generally reported to agree to about a metre
or better; nobody outside can measure that exactly, so treat one metre as the
honest error bar of any GCJ-02 conversion, this one included.

There is no closed-form inverse. `gcj02_to_wgs84` inverts the forward formula by
fixed-point iteration, w ← w − (forward(w) − g): the offset changes slowly across
space, so each step shrinks the error several hundredfold, and three or four steps
bring it under 1e-9° (0.1 mm) — far inside the promise of 1 cm relative to the
forward formula. The error that matters is the forward formula's own, above.

The offset is applied only inside the rectangle the public formula uses for China
(`in_china`); outside it coordinates pass through unchanged. The rectangle is rough
(it takes in parts of neighbouring countries), which does not matter for grids
inside China.
"""

from __future__ import annotations

import numpy as np
import shapely

KRASOVSKY_A = 6378245.0  # semi-major axis, metres
KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # west, south, east, north
INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_STEPS = 10


def in_china(lon, lat) -> np.ndarray:
    west, south, east, north = CHINA_BOX
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _lat_shift(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    s += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    s += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    s += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return s


def _lon_shift(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    s += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    s += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    s += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return s


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 position, in degrees (zero outside China)."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    d_lat = _lat_shift(x, y) * 180.0 / (
        KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (magic * np.sqrt(magic)) * np.pi)
    d_lon = _lon_shift(x, y) * 180.0 / (KRASOVSKY_A / np.sqrt(magic) * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The public forward formula, over arrays (or scalars) of coordinates."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The WGS84 position whose forward GCJ-02 image is (lon, lat), by iteration."""
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(INVERSE_MAX_STEPS):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if max(np.max(np.abs(e_lon), initial=0.0),
               np.max(np.abs(e_lat), initial=0.0)) < INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def _on_coords(convert):
    def apply(coords: np.ndarray) -> np.ndarray:
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
    return apply


def geometry_to_wgs84(geometry):
    """A shapely geometry (or array of them) drawn in GCJ-02, moved to WGS84."""
    return shapely.transform(geometry, _on_coords(gcj02_to_wgs84))


def geometry_to_gcj02(geometry):
    """A shapely geometry in WGS84 as a Chinese web map would draw it."""
    return shapely.transform(geometry, _on_coords(wgs84_to_gcj02))
