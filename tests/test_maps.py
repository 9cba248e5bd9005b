"""The base map settings: none by default, an intranet XYZ server, or Tianditu."""

import pytest

from admin.maps import basemap_layers


def test_no_base_map_by_default():
    assert basemap_layers({}) == []


def test_xyz_server_with_256_pixel_tiles():
    (layer,) = basemap_layers({"TILE_URL": "http://tiles.intranet/{z}/{x}/{y}.png"})
    assert layer["tileSize"] == 256 and layer["subdomains"] == "abc" and layer["maxZoom"] == 18


@pytest.mark.parametrize(("setting", "value", "key", "expected"), [
    ("TILE_SIZE", "", "tileSize", 256),  # empty in the environment means "not set"
    ("TILE_SIZE", 512, "tileSize", 512),
    ("TILE_SUBDOMAINS", 1234, "subdomains", "1234"),  # Flask parses digits as a number
    ("TILE_MAX_ZOOM", "", "maxZoom", 18),
])
def test_settings_from_the_environment_are_read_defensively(setting, value, key, expected):
    (layer,) = basemap_layers({"TILE_URL": "http://t/{z}/{x}/{y}.png", setting: value})
    assert layer[key] == expected


def test_tianditu_with_a_key_gives_map_and_labels():
    layers = basemap_layers({"TIANDITU_KEY": "abc123"})
    assert [("LAYER=vec" in la["url"], "LAYER=cva" in la["url"]) for la in layers] == [
        (True, False), (False, True)]
    assert all(la["subdomains"] == "01234567" and la["url"].endswith("tk=abc123")
               and "{z}" in la["url"] for la in layers)


def test_own_tile_server_wins_over_tianditu():
    layers = basemap_layers({"TILE_URL": "http://t/{z}/{x}/{y}.png", "TIANDITU_KEY": "k"})
    assert [la["url"] for la in layers] == ["http://t/{z}/{x}/{y}.png"]
