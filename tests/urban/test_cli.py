"""Every `eokit urban` command through click's CliRunner, including bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import box

from eokit.cli.main import cli
from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster
from eokit.testing.urban_synthetic import synthetic_country
from eokit.urban.review import clip_to_admin


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    return synthetic_country(tmp_path_factory.mktemp("c"), n_ntl=2, n_ghsl=1)


def invoke(*args):
    return CliRunner().invoke(cli, ["urban", *map(str, args)])


def test_clusters_command(country, tmp_path):
    out = tmp_path / "centres.gpkg"
    r = invoke("clusters", country.population, "--kind", "centre", "--out", out, "--raster", tmp_path / "lab.tif")
    assert r.exit_code == 0, r.output
    gdf = gpd.read_file(out)
    assert {"id", "population", "area_km2", "name"} <= set(gdf.columns)
    assert sorted(gdf.name) == sorted(country.cities.name)
    with rasterio.open(tmp_path / "lab.tif") as ds:
        assert ds.read(1).max() == len(gdf)
    r = invoke("clusters", country.population, "--out", tmp_path / "cl.geojson", "--method", "gost", "--no-names")
    assert r.exit_code == 0, r.output
    assert "name" not in gpd.read_file(tmp_path / "cl.geojson").columns


def test_classify_command(country, tmp_path):
    r = invoke("classify", country.population, "--out", tmp_path / "l2.tif", "--level1", tmp_path / "l1.tif")
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "l2.tif") as a, rasterio.open(tmp_path / "l1.tif") as b:
        np.testing.assert_array_equal(a.read(1) // 10, b.read(1))
        assert 30 in a.read(1)


def test_zonal_command(country, tmp_path):
    r = invoke(
        "zonal",
        country.admin,
        *country.ntl,
        "--stats",
        "sum,mean",
        "--id-col",
        country.admin_id,
        "--out",
        tmp_path / "z.csv",
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "z.csv")
    assert list(df.columns) == [
        country.admin_id,
        "ntl_202001_sum",
        "ntl_202001_mean",
        "ntl_202002_sum",
        "ntl_202002_mean",
    ]
    assert len(df) == 6
    r = invoke("zonal", country.admin, country.ntl[0], "--stats", "sum,bogus", "--out", tmp_path / "bad.csv")
    assert r.exit_code == 3 and "bogus" in r.output


def test_traveltime_command(country, tmp_path):
    pts = gpd.GeoDataFrame(
        {"city": country.cities.name}, geometry=gpd.points_from_xy(country.cities.lon, country.cities.lat), crs=4326
    )
    pts.to_file(tmp_path / "pts.gpkg")
    r = invoke(
        "traveltime",
        country.friction,
        "--origins",
        tmp_path / "pts.gpkg",
        "--id-col",
        "city",
        "--out",
        tmp_path / "tt.csv",
        "--distance-out",
        tmp_path / "km.csv",
        "--nonpositive",
        "impassable",
    )
    assert r.exit_code == 0, r.output
    tt = pd.read_csv(tmp_path / "tt.csv", index_col=0)
    assert list(tt.index) == list(country.cities.name) and list(tt.columns) == list(country.cities.name)
    assert (pd.read_csv(tmp_path / "km.csv", index_col=0).to_numpy() >= 0).all()
    far = gpd.GeoDataFrame({"city": ["Nowhere"]}, geometry=gpd.points_from_xy([100.0], [0.0]), crs=4326)
    far.to_file(tmp_path / "far.gpkg")
    r = invoke(
        "traveltime",
        country.friction,
        "--origins",
        tmp_path / "far.gpkg",
        "--id-col",
        "city",
        "--out",
        tmp_path / "x.csv",
    )
    assert r.exit_code == 3 and "outside" in r.output


def test_places_command(tmp_path):
    r = invoke("places", "KAZ", "--min-population", "500000", "--out", tmp_path / "p.csv")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "p.csv", comment="#")
    assert "Almaty" in set(df.name)
    assert (tmp_path / "p.csv").read_text().startswith("# Place names: GeoNames")


def test_population_without_crs(tmp_path):
    p = write_test_raster(
        tmp_path / "nocrs.tif", np.ones((4, 4), "float32"), crs=None, transform=Affine(1, 0, 0, 0, -1, 0)
    )
    r = invoke("clusters", p, "--out", tmp_path / "x.gpkg")
    assert r.exit_code == 3 and "coordinate reference system" in r.output


def test_zero_friction_is_an_error(tmp_path, country):
    f = np.ones((5, 5), "float32")
    f[2, 2] = 0
    p = write_test_raster(tmp_path / "f.tif", f, crs="EPSG:3857", transform=Affine(100, 0, 0, 0, -100, 500))
    pts = gpd.GeoDataFrame({"k": [1]}, geometry=gpd.points_from_xy([50.0], [450.0]), crs=3857)
    pts.to_file(tmp_path / "o.gpkg")
    r = invoke("traveltime", p, "--origins", tmp_path / "o.gpkg", "--id-col", "k", "--out", tmp_path / "t.csv")
    assert r.exit_code == 3 and "zero or negative" in r.output


def test_raster_not_overlapping_admin(country, tmp_path):
    admin = gpd.GeoDataFrame({"k": [1]}, geometry=[box(100, 10, 101, 11)], crs=4326)
    with pytest.raises(InvalidInputError, match="overlap"):
        clip_to_admin(country.population, admin, tmp_path / "x.tif")


def test_label_command(tmp_path):
    from scipy import ndimage

    rng = np.random.default_rng(4)
    data = rng.random((70, 90)).astype("float32")
    p = write_test_raster(tmp_path / "v.tif", data, crs="EPSG:3857", transform=Affine(10, 0, 0, 0, -10, 0))
    r = invoke(
        "label",
        p,
        "--min",
        "0.6",
        "--connectivity",
        "4",
        "--block-size",
        "16",
        "--workers",
        "2",
        "--out",
        tmp_path / "l.tif",
    )
    assert r.exit_code == 0, r.output
    want, n = ndimage.label(data >= 0.6)
    with rasterio.open(tmp_path / "l.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), want)
    assert f"{n} components" in r.output
