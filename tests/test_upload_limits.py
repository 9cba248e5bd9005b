"""Files that would eat the machine, and where uploads wait: a code shared by
thousands of features, coordinates that are not numbers, requests and files over the
limits, and uploads kept private, removed when done, never named by their path."""

import io
import json
import os
import stat
import time
import zipfile

import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import text

import geo.import_file
from admin import uploads
from geo.importer import REJECTED, prepare_import

XINGYAN = "445302001003"
SQUARE = shapely.box(112.03, 22.92, 112.031, 22.921)


def feature_collection(features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}
        for code, name, geometry in features]}, ensure_ascii=False)


def polygon_with(value: str) -> str:
    """A village's square with one longitude written as `value` (JSON as a file has it)."""
    return ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
            f'{{"code":"{XINGYAN}","name":"星岩社区"}},"geometry":{{"type":"Polygon",'
            '"coordinates":[[[112.03,22.92],[' + value + ',22.92],[112.031,22.921],'
            '[112.03,22.92]]]}}]}')


@pytest.fixture
def upload_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def upload(client, data: bytes, name="村界.geojson"):
    return client.post("/admin/import/", data={
        "file": (io.BytesIO(data), name), "crs": "wgs84", "level": ""},
        content_type="multipart/form-data")


# ------------------------------------------------------------ duplicate codes

def test_a_code_shared_by_thousands_of_features_gives_a_short_line_each(session, tmp_path):
    """The report grew with the square of the features (each named all the others):
    590 MB for a 52 KB file. Now each line is short, the first says how many."""
    path = tmp_path / "same-code.geojson"
    count = 2000
    path.write_text(feature_collection([(XINGYAN, f"村{i}", mapping(SQUARE))
                                        for i in range(count)]), encoding="utf-8")
    rows = prepare_import(session, path).rows
    assert all(row.status == REJECTED for row in rows)
    assert rows[0].reason == (f"duplicate code: {XINGYAN} is on {count} features "
                              "(also 2, 3, 4, 5, 6, …)")
    assert {row.reason for row in rows[1:]} == {f"duplicate code: {XINGYAN}, as on feature 1"}
    assert sum(len(row.reason) for row in rows) < 100 * count


# ------------------------------------------------------------ non-finite coordinates

@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN"])
def test_coordinates_that_are_not_numbers_have_their_own_reason(session, runner, tmp_path,
                                                                value):
    path = tmp_path / "broken.geojson"
    path.write_text(polygon_with(value))
    (row,) = prepare_import(session, path).rows
    assert (row.status, row.reason) == (
        REJECTED, "coordinates that are not numbers (Infinity or NaN)")
    result = runner.invoke(args=["grids", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert "coordinates that are not numbers" in result.output


@pytest.mark.parametrize("value", ["Infinity", "1e999"])
def test_the_preview_says_why_instead_of_failing(client, upload_folder, value):
    response = upload(client, polygon_with(value).encode())
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    text_ = page.get_data(as_text=True)
    assert "坐标不是数字" in text_ or "cannot read" in text_
    assert str(upload_folder) not in text_


# ------------------------------------------------------------ size limits

def test_an_upload_over_the_request_limit_is_refused_plainly(client, app, monkeypatch,
                                                             upload_folder):
    # Small: the test client keeps a body over 500 kB in a file it never closes.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2**18)
    response = upload(client, b" " * (2**18 + 1))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "文件太大" in page and "0.25 MB" in page
    assert not upload_folder.exists() or not any(upload_folder.rglob("*.geojson"))


def test_the_api_answers_an_oversized_request_in_json(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/api/v1/locate", data="x" * 2000,
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "request too large"


def test_the_request_limit_is_set_by_default():
    from admin import create_app
    assert create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://x/y"}).config[
        "MAX_CONTENT_LENGTH"] == 50 * 2**20


def test_a_zip_bomb_is_refused_before_it_is_unpacked(session, tmp_path, monkeypatch):
    monkeypatch.setattr(geo.import_file, "MAX_UNZIPPED_BYTES", 2**20)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("villages.shp", b"\0" * (2 * 2**20))  # 2 MB of zeros: a 2 KB zip
    assert path.stat().st_size < 20_000
    with pytest.raises(geo.import_file.ImportRefused, match="unpacks to 2 MB, more than the 1 MB"):
        prepare_import(session, path)


def test_a_file_over_the_size_limit_is_refused_by_the_command(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(geo.import_file, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.geojson"
    path.write_text(feature_collection([(XINGYAN, "星岩社区", mapping(SQUARE))] * 20))
    result = runner.invoke(args=["grids", "import", str(path)])
    assert result.exit_code == 1
    assert "big.geojson is 0 MB, more than the 0 MB" in result.output
    assert str(tmp_path) not in result.output


def test_too_many_vertices_or_features_are_refused(session, tmp_path, monkeypatch):
    monkeypatch.setattr(geo.import_file, "MAX_VERTICES", 1000)
    path = tmp_path / "detailed.geojson"
    detailed = shapely.Point(112.03, 22.92).buffer(0.001, quad_segs=300)  # 1,201 vertices
    path.write_text(feature_collection([(XINGYAN, "星岩社区", mapping(detailed))]))
    with pytest.raises(geo.import_file.ImportRefused,
                       match="1,201 vertices in 1 features, more than 1,000"):
        prepare_import(session, path)
    # Many small features: each counts as FEATURE_VERTICES (20) more.
    path.write_text(feature_collection([(XINGYAN, "星岩社区", mapping(SQUARE))] * 41))
    with pytest.raises(geo.import_file.ImportRefused, match="205 vertices in 41 features"):
        prepare_import(session, path)
    monkeypatch.setattr(geo.import_file, "MAX_FEATURES", 3)
    path.write_text(feature_collection([(XINGYAN, "星岩社区", mapping(SQUARE))] * 4))
    with pytest.raises(geo.import_file.ImportRefused, match="has 4 features, more than the 3"):
        prepare_import(session, path)


# ------------------------------------------------------------ where uploads wait

def test_uploads_are_private_and_removed_once_written(client, session, upload_folder):
    square = shapely.from_wkb(bytes(session.scalar(text(
        "SELECT ST_AsBinary(geom) FROM grids WHERE code = :c AND generation_high IS NULL"),
        {"c": XINGYAN})))
    data = feature_collection([(XINGYAN, "星岩新社区", mapping(square))]).encode()
    preview = upload(client, data).headers["Location"]
    (stored,) = upload_folder.rglob("*.geojson")
    for folder in (upload_folder, stored.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stored.name in preview and str(upload_folder) not in preview
    done = client.post(preview, data={"keep_good": "y", "accept_topology": "y"},
                       follow_redirects=True)
    assert "已写入新的边界版本" in done.get_data(as_text=True)
    assert not stored.exists()


def test_a_refused_file_is_removed_and_its_path_never_shown(client, upload_folder):
    response = upload(client, b"{not json", name="坏文件.geojson")
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(
        as_text=True)
    assert "坏文件.geojson" in page
    assert str(upload_folder) not in page and "/vsi" not in page
    assert not any(upload_folder.rglob("*.geojson"))


def test_the_spreadsheet_page_keeps_its_uploads_private_too(client, upload_folder):
    response = client.post("/admin/matter_import/", data={
        "file": (io.BytesIO(b"a,b\n1,2\n"), "事项.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    (stored,) = upload_folder.rglob("*.csv")
    assert stored.is_relative_to(upload_folder / "matters")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


def test_abandoned_uploads_are_swept_after_the_age_limit(app, upload_folder):
    with app.test_request_context():
        folder = uploads.folder("boundaries")
        old, fresh = folder / ("a" * 32 + ".zip"), folder / ("b" * 32 + ".zip")
        old.write_bytes(b"old")
        fresh.write_bytes(b"fresh")
        a_day_ago = time.time() - app.config["UPLOAD_MAX_AGE"] - 60
        os.utime(old, (a_day_ago, a_day_ago))
        assert uploads.sweep() == 1
    assert not old.exists() and fresh.exists()


def test_a_token_cannot_reach_outside_the_folder(app, upload_folder):
    with app.test_request_context():
        uploads.folder("boundaries")
        assert uploads.find("../../etc/passwd", "boundaries") is None
        assert uploads.find("0" * 32 + ".geojson", "boundaries") is None


def test_a_geojson_feature_too_large_for_gdal_is_refused_plainly(session, tmp_path,
                                                                 monkeypatch):
    """GDAL builds a GeoJSON feature as a tree of some 500 bytes a vertex: past the
    limit it stops reading, and the reason says what to do."""
    monkeypatch.setattr(geo.import_file, "GEOJSON_FEATURE_MB", 1)
    path = tmp_path / "detailed.geojson"
    detailed = shapely.Point(112.03, 22.92).buffer(0.001, quad_segs=5000)  # 20,001 vertices
    path.write_text(feature_collection([(XINGYAN, "星岩社区", mapping(detailed))]))
    with pytest.raises(geo.import_file.ImportRefused, match="has a feature too large to read"):
        prepare_import(session, path)


def test_the_preview_of_a_large_file_lists_the_first_rows(client, upload_folder, monkeypatch):
    import admin.views.imports
    monkeypatch.setattr(admin.views.imports, "SHOWN_ROWS", 2)
    circle = shapely.Point(112.03, 22.92).buffer(0.001)  # 65 vertices
    data = feature_collection([(XINGYAN, f"村{i}", mapping(circle)) for i in range(3)])
    page = client.get(upload(client, data.encode()).headers["Location"]).get_data(
        as_text=True)
    assert "3 features" in page
    assert page.count('data-status="rejected"') == 2
    assert "gridlink-import-more" in page


def test_the_map_of_a_large_file_is_simplified_until_a_browser_can_draw_it(monkeypatch):
    import admin.views.imports
    monkeypatch.setattr(admin.views.imports, "MAP_VERTICES", 100)
    circles = [shapely.Point(112.03 + i / 100, 22.92).buffer(0.001, quad_segs=64)
               for i in range(3)]  # 257 vertices each
    simplified = admin.views.imports._simplified(circles)
    assert shapely.get_num_coordinates(simplified).sum() <= 100
    assert all(s.area > 0.9 * c.area for s, c in zip(simplified, circles, strict=True))


def test_the_old_world_readable_upload_folder_is_removed(app, upload_folder, tmp_path,
                                                         monkeypatch):
    legacy = tmp_path / "gridlink-uploads"
    (legacy / "matters" / "1").mkdir(parents=True)
    (legacy / ("c" * 32 + ".geojson")).write_text("{}")
    monkeypatch.setattr(uploads, "LEGACY", legacy)
    with app.test_request_context():
        uploads.sweep()
    assert not legacy.exists()
