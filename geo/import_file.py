"""Reading the file a boundary import starts from: GeoJSON, a zipped Shapefile,
GeoPackage or KML, through pyogrio (GDAL), into plain features — code, name,
parent code and the geometry as WKB in lon/lat — whatever the format called its
fields and whichever coordinate system it was written in. geo.importer checks them.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import GridLevel

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".zip": "zipped Shapefile",
           ".gpkg": "GeoPackage", ".kml": "KML"}
CODE_FIELDS = ("code", "adcode", "区划代码")
NAME_FIELDS = ("name", "名称")  # also KML's <name>, which GDAL calls "Name"
PARENT_FIELDS = ("parent_code", "parent_cod", "parent")  # a Shapefile cuts names at 10 letters
CRS_CHOICES = ("wgs84", "cgcs2000", "gcj02")
# Taken as they are. CGCS2000 and WGS84 are different realisations of the same
# geocentric frame: they differ by a few centimetres, far below drawing accuracy.
LONLAT_CRS = {"EPSG:4326": "WGS84", "OGC:CRS84": "WGS84", "EPSG:4490": "CGCS2000"}
# Projected coordinates are brought to lon/lat by PostGIS (ST_Transform: PROJ inside
# the database; the app itself has no PROJ, i.e. no pyproj). Only projections of
# these datums: for Beijing 1954 or Xian 1980 there are no public parameters, and
# PROJ would silently ignore a datum shift of tens of metres.
TRANSFORMABLE_DATUMS = {"WGS_1984", "China_2000"}

# What one file may hold, so that no import (command or page) needs more than about
# 500 MB of memory (bench/limits.py measures it). A town's or a county's boundaries
# are far below: the synthetic province's 26,000 villages average 285 vertices, and a
# county of 300 villages of 1,000 vertices each is 300,000 vertices, about 10 MB.
MAX_FILE_BYTES = 50 * 2**20  # as stored: the upload page's request limit is the same
MAX_UNZIPPED_BYTES = 100 * 2**20  # what a zipped Shapefile may expand to
# What checking costs: some 0.5 KB a vertex and 10 KB a feature (its row, its parent,
# its grid written and rolled back for the topology check), so a feature counts as
# FEATURE_VERTICES vertices more. A city's micro-grids (10,000) fit.
MAX_VERTICES = 500_000
FEATURE_VERTICES = 20
MAX_FEATURES = MAX_VERTICES // FEATURE_VERTICES
# GDAL builds each GeoJSON feature as a tree of JSON objects, some 500 bytes a vertex,
# before anything is checked: a feature whose tree would pass this many MB is refused
# as soon as it does (about 200,000 vertices; other formats are read without the tree).
GEOJSON_FEATURE_MB = 50


class ImportRefused(Exception):
    """The file as a whole cannot be imported (unreadable, unknown coordinates, no
    code field), or a commit was asked for while features were rejected."""


@dataclass
class ImportOptions:
    level: GridLevel | None = None  # default: each feature's level from its code
    crs: str = "wgs84"  # wgs84 | cgcs2000 | gcj02 (AMap/Tencent lon/lat, converted later)
    code_field: str | None = None
    name_field: str | None = None
    parent_field: str | None = None
    layer: str | None = None  # default: the first layer
    encoding: str | None = None  # for a Shapefile without .cpg (often GBK in China)


@dataclass
class Feature:
    number: int  # 1 for the file's first feature
    code: str | None
    name: str | None
    parent_code: str | None
    wkb: bytes | None  # lon/lat (GCJ-02 ones still as drawn)


@dataclass
class FileContents:
    features: list[Feature]
    coordinates: str  # where the coordinates came from, in words
    notes: list[str] = field(default_factory=list)  # what GDAL warned about


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def _check_size(path: Path) -> None:
    """Refuse a file that is, or unpacks to, more than the limits, before GDAL reads it
    (a zip's members are measured by its directory, without unpacking anything)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(f"{path.name} is {_mb(size)}, more than the {_mb(MAX_FILE_BYTES)} "
                            "a boundary file may have: split it, e.g. one county per file")
    if path.suffix.lower() != ".zip":
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise ImportRefused(f"cannot read {path.name}: not a zip file") from e
    if unzipped > MAX_UNZIPPED_BYTES:
        raise ImportRefused(f"{path.name} unpacks to {_mb(unzipped)}, more than the "
                            f"{_mb(MAX_UNZIPPED_BYTES)} a boundary file may have: split it")


def _without_paths(message: str, path: Path) -> str:
    """GDAL's message with the file's name where it names the server's path."""
    message = message.replace(f"/vsizip/{path}", path.name).replace(str(path), path.name)
    return message.replace(str(path.parent) + "/", "")


def _refused(path: Path, error: Exception) -> ImportRefused:
    if "too complex/large" in str(error):  # GEOJSON_FEATURE_MB, in GDAL's words
        return ImportRefused(f"{path.name} has a feature too large to read (about 200,000 "
                             "vertices at most in one GeoJSON feature): simplify it, or send "
                             "the file as a GeoPackage or zipped Shapefile")
    return ImportRefused(f"cannot read {path.name}: {_without_paths(str(error), path)}")


def _open(path: Path, options: ImportOptions) -> tuple[str, list[str]]:
    if path.suffix.lower() not in FORMATS:
        raise ImportRefused(f"cannot read {path.name}: expected GeoJSON, a zipped "
                            "Shapefile (.zip), GeoPackage (.gpkg) or KML (.kml)")
    _check_size(path)
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        layers = [name for name, _ in pyogrio.list_layers(source)]
    except (DataSourceError, DataLayerError) as e:
        raise _refused(path, e) from e
    if not layers:
        raise ImportRefused(f"{path.name} has no layer of features")
    if options.layer and options.layer not in layers:
        raise ImportRefused(f"{path.name} has no layer {options.layer!r}; it has "
                            + ", ".join(layers))
    return source, layers


def _source_srid(session: Session, crs: str | None, options: ImportOptions
                 ) -> tuple[int | None, str]:
    """The SRID to reproject from in PostGIS (None: lon/lat already), and a note."""
    if crs is None:
        return None, f"not stated in the file, taken as {options.crs.upper()} (--crs)"
    if crs in LONLAT_CRS:
        if options.crs == "gcj02":
            return None, f"{crs} in the file, read as GCJ-02 and converted to WGS84 (--crs)"
        return None, f"{crs} ({LONLAT_CRS[crs]})"
    match = re.fullmatch(r"EPSG:(\d+)", crs)
    srtext = match and session.scalar(text(
        "SELECT srtext FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = :n"),
        {"n": int(match.group(1))})
    datum = re.search(r'DATUM\["([^"]+)"', srtext or "")
    if not (srtext and srtext.startswith("PROJCS") and datum
            and datum.group(1) in TRANSFORMABLE_DATUMS):
        raise ImportRefused(
            f"the file's coordinate system is {crs[:80]}; gridlink reads lon/lat in WGS84 or "
            "CGCS2000, and projections of those: reproject it to EPSG:4490 (CGCS2000) or "
            "EPSG:4326 first, e.g. `ogr2ogr -t_srs EPSG:4490 out.gpkg in.shp`")
    if options.crs == "gcj02":
        raise ImportRefused(f"--crs gcj02, but the file is projected ({crs}): "
                            "GCJ-02 is a lon/lat system")
    return int(match.group(1)), f"{crs}, projected, converted to lon/lat by PostGIS"


def _reproject(session: Session, wkbs: list, srid: int) -> list:
    rows = session.execute(text(
        "SELECT ST_AsBinary(ST_Transform(ST_GeomFromWKB(w, :srid), 4326)) "
        "FROM unnest(CAST(:w AS bytea[])) WITH ORDINALITY AS t(w, n) ORDER BY n"),
        {"w": [None if w is None else bytes(w) for w in wkbs], "srid": srid})
    return [None if w is None else bytes(w) for (w,) in rows]


def _field(fields: list[str], chosen: str | None, defaults: tuple[str, ...],
           what: str, option: str) -> str | None:
    if chosen:
        if chosen not in fields:
            raise ImportRefused(f"no field {chosen!r} in the file; it has: {', '.join(fields)}")
        return chosen
    by_lower = {f.lower(): f for f in fields}
    found = next((by_lower[d.lower()] for d in defaults if d.lower() in by_lower), None)
    if found is None and what != "parent":
        raise ImportRefused(f"no {what} field (looked for {', '.join(defaults)}; the file "
                            f"has: {', '.join(fields) or 'no fields'}): name it with {option}")
    return found


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        if float(value).is_integer():
            value = int(value)  # a code stored as a number
    return str(value).strip() or None


def _too_many_features(path: Path, count: int) -> ImportRefused:
    return ImportRefused(f"{path.name} has {count:,} features, more than the "
                         f"{MAX_FEATURES:,} one import may have: split it")


def _check_counts(path: Path, wkbs) -> None:
    """Refuse a file with more features or vertices than an import may check (counted
    one feature at a time: the shapes of the whole file are made once it is accepted)."""
    if len(wkbs) > MAX_FEATURES:  # when the format could not tell beforehand
        raise _too_many_features(path, len(wkbs))
    vertices = 0
    for wkb in wkbs:
        if wkb is not None:
            with np.errstate(invalid="ignore"):  # NaN coordinates: geo.importer says so
                shape = shapely.from_wkb(wkb, on_invalid="ignore")
            vertices += int(shapely.get_num_coordinates(shape))
    if vertices + FEATURE_VERTICES * len(wkbs) > MAX_VERTICES:
        raise ImportRefused(f"{path.name} is too large to check in one import: {vertices:,} "
                            f"vertices in {len(wkbs):,} features, more than {MAX_VERTICES:,} "
                            f"(each feature counting as {FEATURE_VERTICES} vertices more): "
                            "split it, or simplify the boundaries (to a metre is enough)")


def read_features(session: Session, path: Path, options: ImportOptions) -> FileContents:
    """The features of the file's layer, in file order. Raises ImportRefused."""
    if options.crs not in CRS_CHOICES:
        raise ImportRefused(f"unknown --crs {options.crs!r}: one of {', '.join(CRS_CHOICES)}")
    pyogrio.set_gdal_config_options({"OGR_GEOJSON_MAX_OBJ_SIZE": GEOJSON_FEATURE_MB})
    source, layers = _open(path, options)
    layer = options.layer or layers[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info = pyogrio.read_info(source, layer=layer, encoding=options.encoding)
            if info["features"] > MAX_FEATURES:
                raise _too_many_features(path, info["features"])
            srid, coordinates = _source_srid(session, info["crs"], options)
            meta, _, wkbs, values = pyogrio.raw.read(source, layer=layer,
                                                     encoding=options.encoding)
        except (DataSourceError, DataLayerError) as e:
            raise _refused(path, e) from e
    _check_counts(path, wkbs)
    notes = list(dict.fromkeys(_without_paths(str(w.message), path) for w in caught))
    if len(layers) > 1 and not options.layer:
        notes.insert(0, f"read layer {layer!r} of {', '.join(layers)} (choose with --layer)")
    fields = [str(f) for f in meta["fields"]]
    columns = dict(zip(fields, values, strict=True))
    chosen = [_field(fields, options.code_field, CODE_FIELDS, "code", "--code-field"),
              _field(fields, options.name_field, NAME_FIELDS, "name", "--name-field"),
              _field(fields, options.parent_field, PARENT_FIELDS, "parent", "--parent-field")]
    wkbs = [None if w is None else bytes(w) for w in wkbs]
    if srid is not None:
        wkbs = _reproject(session, wkbs, srid)
    features = [Feature(i + 1, *(_text(columns[f][i]) if f else None for f in chosen), wkb)
                for i, wkb in enumerate(wkbs)]
    return FileContents(features, coordinates, notes)
