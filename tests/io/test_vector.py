import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError
from eokit.io import read_vector, write_vector


@pytest.mark.parametrize("name", ["pts.gpkg", "pts.geojson", "pts.shp", "pts.fgb"])
def test_vector_roundtrip(tmp_path, name):
    gdf = gpd.GeoDataFrame({"id": [1, 2], "name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4326")
    path = write_vector(gdf, tmp_path / name)
    back = pyogrio.read_dataframe(path)
    assert sorted(back["name"]) == ["a", "b"] and back.crs.to_epsg() == 4326
    if name.endswith(".gpkg"):
        assert pyogrio.list_layers(path)[0][0] == "pts"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_vector_errors(tmp_path):
    with pytest.raises(InputNotFoundError):
        read_vector(tmp_path / "none.gpkg")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(UnreadableInputError):
        read_vector(bad)
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(InvalidInputError):
        write_vector(gdf, tmp_path / "x.xyz")
