"""Boundary import: GCJ-02 conversion, the per-feature report of a dry run, and a
commit that makes exactly one new generation and keeps the old boundaries.

The test file is the kind a town would send: villages of 云城街道 traced on a web map
(so in GCJ-02), some unchanged, some redrawn, one split in two, and the usual
mistakes. It is built here from the demo's own polygons, so the test shows what is
inside it; the same features are also written as Shapefile, GeoPackage and KML.
"""

import json
import re
import warnings
import zipfile

import numpy as np
import pyogrio
import pytest
import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from sqlalchemy import func, select, text

from geo.gcj02 import gcj02_to_wgs84, geometry_to_gcj02, wgs84_to_gcj02
from geo.importer import REJECTED, FeatureRejected, ImportOptions, prepare_import, repair
from models import AuditRecord, Generation, Grid

TOWN = "445302001000"  # 云城街道
NANSHAN, TIANMA, XINGYAN, JINLONG = "445302001001", "445302001002", "445302001003", "445302001007"
MAPING, YUHUA, MAGANG = "445302001008", "445302001005", "445302001009"
CHENGBEI, XINZHONG, PENGSHI, MUYANG, XUNCHANG = ("445302001204", "445302001211",
                                                 "445302001215", "445302001212", "445302001210")
GANGDONG = "445302001216"  # new: the eastern half of 马岗社区
METRES_PER_DEGREE = 111195.0


# ------------------------------------------------------------------ GCJ-02

def metres_between(a, b):
    """Local approximation, fine for offsets of a few hundred metres."""
    (lon1, lat1), (lon2, lat2) = a, b
    dx = (lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return float(np.hypot(dx, lat2 - lat1) * METRES_PER_DEGREE)


def test_gcj02_forward_then_inverse_returns_the_point():
    rng = np.random.default_rng(2026)
    lon, lat = rng.uniform(73.5, 135, 20000), rng.uniform(18, 53.5, 20000)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-6 and np.abs(back_lat - lat).max() < 1e-6
    assert np.abs(back_lon - lon).max() < 1e-9  # in fact: the iteration goes to 0.1 mm


@pytest.mark.parametrize("place, wgs84, expected_gcj02, low_m, high_m", [
    ("Tiananmen, Beijing", (116.391, 39.907), (116.3972, 39.9084), 500, 700),
    ("云城街道, Yunfu", (112.19, 22.91), None, 300, 900),
])
def test_gcj02_offset_is_hundreds_of_metres(place, wgs84, expected_gcj02, low_m, high_m):
    gcj = tuple(float(v) for v in wgs84_to_gcj02(*wgs84))
    if expected_gcj02:
        assert gcj == pytest.approx(expected_gcj02, abs=1e-4)
    assert low_m < metres_between(wgs84, gcj) < high_m, place


def test_gcj02_leaves_places_outside_china_alone():
    assert [float(v) for v in wgs84_to_gcj02(2.3522, 48.8566)] == [2.3522, 48.8566]
    assert [float(v) for v in gcj02_to_wgs84(-74.006, 40.7128)] == [-74.006, 40.7128]


# ------------------------------------------------------------ repairing polygons

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
# The square's bottom edge with a small knot: out to (6, -1), across to (4, -1) and back,
# the two legs crossing at (5, -0.5).
KNOTTED_SQUARE = [(0, 0), (4, 0), (6, -1), (4, -1), (6, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
BOW_TIE = [(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)]  # two equal lobes: which one was meant?
LOPSIDED_BOW_TIE = [(0, 0), (10, 10), (10, 0), (0, 4), (0, 0)]
FLAT = [(0, 0), (5, 0), (10, 0), (0, 0)]


def test_a_valid_polygon_is_kept_as_it_is():
    fixed, template, _ = repair(Polygon(SQUARE))
    assert fixed.equals(MultiPolygon([Polygon(SQUARE)])) and template == ""


def test_a_knot_is_repaired_and_said_so():
    fixed, template, params = repair(Polygon(KNOTTED_SQUARE))
    assert fixed.is_valid and len(fixed.geoms) == 2
    assert template % params == ("self-intersection at (5.000000 -0.500000) split into 2 "
                                 "polygons; area change 1.00%")


@pytest.mark.parametrize("ring, reason", [
    (BOW_TIE, "as drawn its parts cancel out to no area, so any repair would be a guess"),
    (LOPSIDED_BOW_TIE, "repairing it would change its area by 38%, more than 5%"),
    (FLAT, "nothing of it is left as a polygon once repaired"),
])
def test_a_repair_that_would_be_a_guess_is_refused(ring, reason):
    with pytest.raises(FeatureRejected) as refused:
        repair(Polygon(ring))
    assert reason in refused.value.template % refused.value.params


# ------------------------------------------------------------- the town's file

def shape_of(session, code):
    return shape(json.loads(session.scalar(
        select(func.ST_AsGeoJSON(Grid.geom, 15)).where(Grid.code == code,
                                                       Grid.generation_high.is_(None)))))


def halves(geometry):
    """West and east halves, split at the middle of the bounding box."""
    west, south, east, north = geometry.bounds
    middle = (west + east) / 2
    return [MultiPolygon([p for p in shapely.get_parts(geometry.intersection(box))
                          if p.geom_type == "Polygon"])
            for box in (shapely.box(west, south, middle, north),
                        shapely.box(middle, south, east, north))]


def with_knot(geometry, size=0.0005):
    """The first edge of the exterior ring with a small self-crossing knot in it."""
    ring = np.array(geometry.geoms[0].exterior.coords)
    a, b = ring[0], ring[1]
    along = (b - a) / np.linalg.norm(b - a)
    across = np.array([-along[1], along[0]])
    middle = (a + b) / 2
    knot = [middle - size * along, middle + size * (along + across),
            middle + size * (across - along), middle + size * along]
    return Polygon([a, *knot, *ring[1:]])


def town_features(session):
    """(code, name, WGS84 geometry) as the town means them, in file order."""
    west, east = halves(shape_of(session, MAGANG))
    return [
        (NANSHAN, "南山社区", shape_of(session, NANSHAN)),  # sent again, unchanged
        (TIANMA, "天马社区", affinity.translate(shape_of(session, TIANMA), xoff=0.0001)),
        (XINGYAN, "星岩新区社区", shape_of(session, XINGYAN)),  # renamed
        (MAGANG, "马岗社区", west),  # split: 马岗 keeps the west...
        (GANGDONG, "岗东村", east),  # ...and a new village takes the east
        (JINLONG, "金龙社区", with_knot(shape_of(session, JINLONG))),
        (MAPING, "马坪社区", shape_of(session, MAPING)),
        (MAPING, "育华社区", shape_of(session, YUHUA)),  # a copy-paste slip: 马坪's code
        (CHENGBEI, "城北村", affinity.translate(shape_of(session, CHENGBEI), yoff=-0.003)),
        (XINZHONG, "新中村", None),
        (None, "鹏石村", shape_of(session, PENGSHI)),
        ("44530200121", "牧羊村", shape_of(session, MUYANG)),
        # Last, because a Shapefile holds one geometry type: its copy leaves this out.
        (XUNCHANG, "循常村", shape_of(session, XUNCHANG).representative_point()),
    ]


# (code, name, status, change, reason as a regular expression)
EXPECTED = [
    (NANSHAN, "南山社区", "unchanged", "", ""),
    (TIANMA, "天马社区", "ok", "redrawn", r"boundary moved up to 10 m, area -0\.0%"),
    (XINGYAN, "星岩新区社区", "ok", "renamed", ""),
    (MAGANG, "马岗社区", "ok", "redrawn", r"boundary moved up to \d+ m, area -\d\d\.\d%"),
    (GANGDONG, "岗东村", "ok", "new", ""),
    (JINLONG, "金龙社区", "repaired", "redrawn", r"self-intersection at \(112\.\d{6} 22\.\d{6}\) "
     r"split into 2 polygons; area change 0\.\d\d%"),
    (MAPING, "马坪社区", "rejected", "",
     r"duplicate code: 445302001008 is on 2 features \(also 8\)"),
    (MAPING, "育华社区", "rejected", "", r"duplicate code: 445302001008, as on feature 7"),
    (CHENGBEI, "城北村", "rejected", "", r"outside its parent: 19\.\d% of its area lies outside "
     r"云城街道 445302001000, near \(112\.\d+ 22\.\d+\)"),
    (XINZHONG, "新中村", "rejected", "", r"empty geometry"),
    (None, "鹏石村", "rejected", "", r"no code"),
    ("44530200121", "牧羊村", "rejected", "", r"bad code: cannot tell the level of 44530200121 "
     r"\(division codes have 12 digits, micro-grid codes 15\)"),
    (XUNCHANG, "循常村", "rejected", "", r"not a polygon but a Point"),
]


def write_geojson(path, features, to_gcj02=True):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": name},
         "geometry": None if geometry is None else
         mapping(geometry_to_gcj02(geometry) if to_gcj02 else geometry)}
        for code, name, geometry in features]}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def town_file(session, tmp_path):
    return write_geojson(tmp_path / "云城街道村界.geojson", town_features(session))


def assert_report(output_lines, expected):
    rows = [line for line in output_lines if re.match(r"\s*\d+  ", line)]
    assert len(rows) == len(expected), "\n".join(output_lines)
    for number, (line, (code, name, status, change, reason)) in enumerate(
            zip(rows, expected, strict=True), start=1):
        fields = line.split(maxsplit=5)
        assert fields[:4] == [str(number), code or "-", name, status], line
        rest = line.split(status, 1)[1].strip()
        assert rest.startswith(change), line
        assert re.fullmatch(reason, rest[len(change):].strip()), line


def database_state(session):
    return (session.scalar(select(func.count()).select_from(Grid)),
            session.scalar(select(func.count()).select_from(Generation)),
            session.scalar(select(func.count()).select_from(AuditRecord)),
            session.scalar(select(func.sum(func.ST_Area(Grid.geom)))))


def test_a_dry_run_reports_every_feature_and_writes_nothing(session, runner, town_file):
    before = database_state(session)
    result = runner.invoke(args=["grids", "import", str(town_file), "--crs", "gcj02"])
    assert result.exit_code == 1, result.output  # something was rejected
    lines = result.output.splitlines()
    assert_report(lines, EXPECTED)
    assert ("云城街道村界.geojson: 13 features — 4 ok, 1 repaired, 1 unchanged, "
            "7 rejected (1 new, 3 redrawn, 1 renamed); coordinates EPSG:4326 in "
            "the file, read as GCJ-02 and converted to WGS84 (--crs)") in lines
    # The town's villages as they would be: the redrawn ones no longer tile it.
    topology = lines.index(next(li for li in lines if li.startswith("topology after")))
    assert all(TOWN[:9] in li for li in lines[topology + 1:-1])
    assert lines[-1] == "dry run: nothing written (add --commit to write)"
    assert database_state(session) == before


def test_the_report_as_json_lines(runner, town_file):
    result = runner.invoke(args=["grids", "import", str(town_file), "--crs", "gcj02", "--json"])
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    rows = [o for o in objects if "status" in o]
    (summary,) = [o for o in objects if "summary" in o]
    assert all(o["kind"] in ("gap", "overlap") for o in objects if "kind" in o)
    assert [(r["code"], r["status"], r["change"]) for r in rows[:3]] == [
        (NANSHAN, "unchanged", None), (TIANMA, "ok", "redrawn"), (XINGYAN, "ok", "renamed")]
    assert rows[4]["parent_code"] == TOWN and rows[4]["level"] == "village"
    assert summary["summary"]["rejected"] == 7 and summary["generation"] is None


def test_commit_refuses_while_features_are_rejected(session, runner, town_file):
    before = database_state(session)
    result = runner.invoke(args=["grids", "import", str(town_file), "--crs", "gcj02",
                                 "--commit"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == ("7 features were rejected: nothing written. "
                                              "Fix them, or keep the 5 good ones (--keep-good)")
    assert database_state(session) == before


def test_commit_keeping_the_good_features(session, runner, town_file):
    intended = {code: geometry for code, _, geometry in town_features(session)}
    old_tianma = shape_of(session, TIANMA)
    previous = session.scalar(select(func.max(Generation.id)))
    untouched = session.scalar(Grid.current().where(Grid.code == NANSHAN))
    nanshan_since, nanshan_audits = untouched.generation_low, audits_of(session, untouched)

    refused = runner.invoke(args=["grids", "import", str(town_file), "--crs", "gcj02",
                                  "--commit", "--keep-good"])
    assert refused.exit_code == 1 and "would break the tiling" in refused.output
    result = runner.invoke(args=["grids", "import", str(town_file), "--crs", "gcj02",
                                 "--commit", "--keep-good", "--valid-from", "2026-12-01",
                                 "--accept-topology"])
    assert result.exit_code == 0, result.output
    assert_report(result.output.splitlines(), EXPECTED)
    session.expire_all()

    (generation,) = session.scalars(select(Generation).where(Generation.id > previous)).all()
    assert generation.label == "import: 云城街道村界.geojson"
    assert str(generation.valid_from) == "2026-12-01"
    assert result.output.splitlines()[-1] == f"written as generation {generation}"

    def current(code):
        return session.scalar(Grid.current().where(Grid.code == code))

    for code in (TIANMA, MAGANG, JINLONG):  # redrawn: the current row holds the new shape
        assert current(code).generation_low == generation.id
        assert distance_m(session, current(code).geom, intended[code]) < 1, code
    old = session.scalar(Grid.in_generation(previous).where(Grid.code == TIANMA))
    assert old.generation_high == previous and old.id != current(TIANMA).id
    assert session.scalar(select(func.ST_Equals(old.geom, func.ST_GeomFromText(
        old_tianma.wkt, 4326))))

    new = current(GANGDONG)
    assert new.name == "岗东村" and new.parent.code == TOWN
    assert new.generation_low == generation.id and new.generation_high is None
    assert current(XINGYAN).name == "星岩新区社区"
    assert current(XINGYAN).generation_low < generation.id  # a new name is not a new boundary

    assert current(NANSHAN).generation_low == nanshan_since  # unchanged: not touched at all
    assert audits_of(session, current(NANSHAN)) == nanshan_audits
    for code in (MAPING, YUHUA, CHENGBEI, XUNCHANG):  # rejected: as they were
        assert current(code).generation_low < generation.id

    records = session.execute(select(AuditRecord.action, AuditRecord.actor).where(
        AuditRecord.entity == "generation", AuditRecord.entity_id == str(generation.id))).all()
    assert sorted(action for action, _ in records) == ["create", "topology_override"]
    assert all(actor.startswith("cli:") for _, actor in records)


def audits_of(session, grid):
    return session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.entity_id == str(grid.id)))


def distance_m(session, a, b):
    """Hausdorff distance in metres between two boundaries (shapely, or as stored), on
    the spheroid: the farthest vertex of either from the other."""
    a, b = (to_shape(g) if isinstance(g, WKBElement) else g for g in (a, b))
    return session.scalar(text("""
        WITH g AS (SELECT ST_GeomFromWKB(:a, 4326) AS a, ST_GeomFromWKB(:b, 4326) AS b)
        SELECT greatest(
          (SELECT max(ST_Distance(d.geom::geography, g.b::geography))
           FROM g, ST_DumpPoints(g.a) d),
          (SELECT max(ST_Distance(d.geom::geography, g.a::geography))
           FROM g, ST_DumpPoints(g.b) d))"""), {"a": shapely.to_wkb(a), "b": shapely.to_wkb(b)})


# ------------------------------------------------------------ other file formats

def write_as(source, path, driver, skip_last=False):
    meta, _, geometries, values = pyogrio.raw.read(source)
    if skip_last:
        geometries, values = geometries[:-1], [v[:-1] for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns about the knot it is asked to write
        pyogrio.raw.write(path, geometries, values, meta["fields"], driver=driver,
                          crs="EPSG:4326", encoding="UTF-8",
                          geometry_type="Polygon" if skip_last else "Unknown")
    return path


def as_zipped_shapefile(source, folder):
    shp = write_as(source, folder / "villages.shp", "ESRI Shapefile", skip_last=True)
    archive = folder / "villages.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.glob("villages.*"):
            if part != archive:
                z.write(part, part.name)
    assert shp.exists()
    return archive


@pytest.mark.parametrize("kind", ["zip", "gpkg", "kml"])
def test_shapefile_geopackage_and_kml_give_the_same_report(session, town_file, tmp_path, kind):
    folder = tmp_path / kind
    folder.mkdir()
    path = {"zip": lambda: as_zipped_shapefile(town_file, folder),
            "gpkg": lambda: write_as(town_file, folder / "villages.gpkg", "GPKG"),
            "kml": lambda: write_as(town_file, folder / "villages.kml", "KML")}[kind]()
    report = prepare_import(session, path, ImportOptions(crs="gcj02"))
    expected = EXPECTED[:-1] if kind == "zip" else EXPECTED
    assert_report([row.line() for row in report.rows], expected)


# ------------------------------------------------------------ coordinates

def test_a_gcj02_file_lands_within_a_metre_of_the_wgs84_shape(session, tmp_path):
    original = shape_of(session, NANSHAN)
    path = write_geojson(tmp_path / "nanshan.geojson", [(NANSHAN, "南山社区", original)])

    (as_sent,) = prepare_import(session, path).rows  # the web map's offset, unconverted
    assert as_sent.change == "redrawn"
    assert 300 < as_sent.params["moved"] < 900

    (converted,) = prepare_import(session, path, ImportOptions(crs="gcj02")).rows
    assert converted.status == "unchanged"
    assert distance_m(session, converted.geometry, original) < 1


def test_projected_cgcs2000_is_converted_and_xian_1980_is_refused(session, runner, tmp_path):
    """CGCS2000 / 3-degree Gauss-Krüger CM 114E (EPSG:4547), as surveys deliver it."""
    features = [(NANSHAN, "南山社区", shape_of(session, NANSHAN)),
                (TIANMA, "天马社区", affinity.translate(shape_of(session, TIANMA), xoff=0.0001))]
    projected = [shapely.from_wkb(bytes(session.scalar(text(
        "SELECT ST_AsBinary(ST_Transform(ST_GeomFromText(:g, 4326), 4547))"),
        {"g": g.wkt}))) for _, _, g in features]
    for epsg, name in ((4547, "cgcs2000.gpkg"), (2383, "xian1980.gpkg")):
        pyogrio.raw.write(tmp_path / name, np.array([shapely.to_wkb(g) for g in projected]),
                          [np.array([c for c, _, _ in features], dtype=object),
                           np.array([n for _, n, _ in features], dtype=object)],
                          ["code", "name"], driver="GPKG", crs=f"EPSG:{epsg}",
                          geometry_type="MultiPolygon")

    result = runner.invoke(args=["grids", "import", str(tmp_path / "cgcs2000.gpkg")])
    assert result.exit_code == 0, result.output
    assert_report(result.output.splitlines(), [
        (NANSHAN, "南山社区", "unchanged", "", ""),
        (TIANMA, "天马社区", "ok", "redrawn", r"boundary moved up to 10 m, area -0\.0%")])
    assert "EPSG:4547, projected, converted to lon/lat by PostGIS" in result.output

    result = runner.invoke(args=["grids", "import", str(tmp_path / "xian1980.gpkg")])
    assert result.exit_code == 1
    assert "Error: the file's coordinate system is EPSG:2383; gridlink reads lon/lat in " \
           "WGS84 or CGCS2000, and projections of those: reproject it" in result.output


# ------------------------------------------------------------ parents

def square_in(session, code, half=0.002):
    centre = shapely.from_wkb(bytes(session.scalar(select(func.ST_AsBinary(
        func.ST_PointOnSurface(Grid.geom))).where(Grid.code == code,
                                                  Grid.generation_high.is_(None)))))
    return centre.buffer(half, cap_style="square")


def test_parents_named_in_a_field(session, tmp_path):
    path = tmp_path / "microgrids.geojson"
    inside_nanshan = square_in(session, NANSHAN)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(inside_nanshan),
         "properties": {"code": code, "name": name, "parent_code": parent}}
        for code, name, parent in [
            (NANSHAN + "001", "南山一网格", NANSHAN),
            (NANSHAN + "002", "南山二网格", "445302001099"),
            (TIANMA + "001", "天马一网格", TIANMA),
        ]]}, ensure_ascii=False), encoding="utf-8")
    first, second, third = prepare_import(session, path).rows
    assert (first.status, first.change, first.parent_code) == ("ok", "new", NANSHAN)
    assert (second.status, second.reason) == (
        REJECTED, "parent missing: no current village has the code 445302001099")
    assert third.status == REJECTED
    assert third.reason.startswith("outside its parent: 100.0% of its area lies outside "
                                   "天马社区 445302001002")


def test_a_new_town_and_its_village_in_one_file(session, runner, tmp_path):
    """The village's parent is the town of the same file, not the old town it also
    lies in: of two parents that hold it, the one its code belongs to."""
    town_shape, village_shape = square_in(session, NANSHAN, 0.004), square_in(session, NANSHAN)
    path = write_geojson(tmp_path / "new-town.geojson", [
        ("445302005000", "新城街道", town_shape),
        ("445302005001", "新城社区", village_shape)], to_gcj02=False)
    result = runner.invoke(args=["grids", "import", str(path), "--commit",
                                 "--accept-topology"])
    assert result.exit_code == 0, result.output
    village = session.scalar(Grid.current().where(Grid.code == "445302005001"))
    assert village.parent.code == "445302005000"
    assert village.parent.parent.code == "445302000000"


def with_spike(session, village_code, town_code, length=0.002, width=0.00002):
    """The village with a thread-thin spike pushed out across its town's boundary."""
    village, town = shape_of(session, village_code), shape_of(session, town_code)
    edge = village.boundary.intersection(town.boundary)
    start = np.array(edge.interpolate(0.5, normalized=True).coords[0])
    outward = start - np.array(town.centroid.coords[0])
    outward /= np.linalg.norm(outward)
    spike = shapely.LineString([start - 0.0002 * outward, start + length * outward])
    return village.union(spike.buffer(width))


@pytest.mark.parametrize("how, status, reason", [
    ("shifted 3 m", "ok", r"boundary moved up to 3 m, area [+-]0\.0%"),
    ("with a spike", REJECTED, r"outside its parent: part of it reaches more than 50 m beyond "
     r"云城街道 445302001000, near \(112\.\d+ 22\.\d+\)"),
])
def test_a_little_drawing_noise_outside_the_parent_is_tolerated(session, tmp_path, how,
                                                                 status, reason):
    if how == "shifted 3 m":
        geometry = affinity.translate(shape_of(session, CHENGBEI), yoff=-0.000027)
    else:
        geometry = with_spike(session, CHENGBEI, TOWN)
    path = write_geojson(tmp_path / "chengbei.geojson", [(CHENGBEI, "城北村", geometry)],
                         to_gcj02=False)
    (row,) = prepare_import(session, path).rows
    assert row.status == status and re.fullmatch(reason, row.reason), row.reason
