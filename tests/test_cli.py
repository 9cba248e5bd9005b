"""Each `gridlink` command, through Flask's CLI runner against the test database."""

import json
import os
import shutil

import pytest
from alembic import command
from shapely import equals, union_all
from shapely.geometry import shape

from models import db
from models.database import Cluster
from models.migrate import alembic_config


def test_export_villages_tile_their_towns(runner, tmp_path):
    villages_file, towns_file = tmp_path / "villages.geojson", tmp_path / "towns.geojson"
    result = runner.invoke(args=["grids", "export", str(villages_file), "--level", "village"])
    assert result.exit_code == 0, result.output
    assert "975 features" in result.output
    runner.invoke(args=["grids", "export", str(towns_file), "--level", "town"])

    villages = json.loads(villages_file.read_text(encoding="utf-8"))
    towns = json.loads(towns_file.read_text(encoding="utf-8"))
    assert villages["type"] == "FeatureCollection" and "crs" not in villages
    assert len(villages["features"]) == 975 and len(towns["features"]) == 72
    first = villages["features"][0]
    assert set(first["properties"]) == {"code", "name", "level", "parent_code"}
    assert first["geometry"]["type"] == "MultiPolygon"

    by_town = {}
    for f in villages["features"]:
        by_town.setdefault(f["properties"]["parent_code"], []).append(shape(f["geometry"]))
    for town in towns["features"]:
        pieces = by_town[town["properties"]["code"]]
        assert all(p.is_valid for p in pieces)
        assert equals(union_all(pieces), shape(town["geometry"])), town["properties"]["name"]
        assert sum(p.area for p in pieces) == pytest.approx(shape(town["geometry"]).area,
                                                            rel=1e-9)


def test_export_writes_exterior_rings_counter_clockwise(runner, tmp_path):
    out = tmp_path / "counties.geojson"
    runner.invoke(args=["grids", "export", str(out), "--level", "county"])
    for feature in json.loads(out.read_text(encoding="utf-8"))["features"]:
        for polygon in shape(feature["geometry"]).geoms:
            assert polygon.exterior.is_ccw
            assert all(not ring.is_ccw for ring in polygon.interiors)


def test_export_everything_by_default(runner, tmp_path):
    out = tmp_path / "all.geojson"
    result = runner.invoke(args=["grids", "export", str(out)])
    assert "1052 features" in result.output
    levels = {f["properties"]["level"] for f in json.loads(out.read_text())["features"]}
    assert levels == {"county", "town", "village"}


def test_export_rejects_an_unknown_level(runner, tmp_path):
    result = runner.invoke(args=["grids", "export", str(tmp_path / "x.geojson"),
                                 "--level", "province"])
    assert result.exit_code == 2 and "province" in result.output


def test_seed_demo_twice_duplicates_nothing(runner):
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0
    assert "demo not loaded: the database already has 1052 grids" in result.output


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "newest migration" in result.output


def test_migrations_match_the_models(app, session):
    """`alembic check`: the models and the migrations describe the same schema."""
    cfg = alembic_config()
    with app.app_context(), db.engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.check(cfg)


def test_db_url_follows_database_url(runner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/grid")
    result = runner.invoke(args=["db", "url"])
    assert result.output.strip() == "postgresql+psycopg://u:p@db.example:5432/grid"


def test_db_url_without_a_started_cluster_says_how_to_start(runner, monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDLINK_VAR", str(tmp_path / "never-started"))
    result = runner.invoke(args=["db", "url"])
    assert result.exit_code == 1
    assert "gridlink db start" in result.output


def test_db_start_status_stop_an_embedded_cluster(runner, monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("GRIDLINK_VAR", str(var))
    try:
        started = runner.invoke(args=["db", "start"])
        assert started.exit_code == 0, started.output
        assert "embedded PostGIS running on 127.0.0.1:" in started.output
        status = runner.invoke(args=["db", "status"])
        assert status.exit_code == 0 and "running on 127.0.0.1" in status.output
        again = runner.invoke(args=["db", "start"])  # a second start is harmless
        assert again.exit_code == 0
        url = runner.invoke(args=["db", "url"]).output.strip()
        assert url.endswith(f":{Cluster(var).port()}/gridlink")
    finally:
        stopped = runner.invoke(args=["db", "stop"])
    assert stopped.exit_code == 0
    status = runner.invoke(args=["db", "status"])
    assert status.exit_code == 1 and "not running" in status.output
    shutil.rmtree(Cluster(var).home, ignore_errors=True)  # /var/tmp/… when postgres can't reach tmp


def test_db_status_with_database_url(runner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "postgresql://x/y"))
    result = runner.invoke(args=["db", "status"])
    assert "DATABASE_URL is set" in result.output
