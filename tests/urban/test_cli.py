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
    df = pd.read_csv(tmp_path / "p.csv")  # a plain CSV: the header comes first
    assert "Almaty" in set(df.name)
    assert (tmp_path / "p.csv").read_text().startswith("name,")
    assert set(df.source) == {"GeoNames (www.geonames.org), CC BY 4.0"}


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
    with pytest.raises(InvalidInputError) as exc:
        clip_to_admin(country.population, admin, tmp_path / "x.tif")
    assert exc.value.path == str(country.population)


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


def test_exposure_command(tmp_path):
    pop = np.full((20, 20), 4.0, dtype="float32")
    tr = Affine(1000.0, 0, 0, 0, -1000.0, 20_000.0)
    p = write_test_raster(tmp_path / "pop.tif", pop, crs="ESRI:54009", transform=tr)
    depth = np.zeros((20, 20), dtype="float32")
    depth[:, :5] = 0.4  # 100 cells in 0.4 m of water
    f = write_test_raster(tmp_path / "rp.tif", depth, crs="ESRI:54009", transform=tr)
    pm = write_test_raster(tmp_path / "pm.tif", np.full((20, 20), 12.0, "float32"), crs="ESRI:54009", transform=tr)
    for y in (2000, 2001, 2002):
        write_test_raster(
            tmp_path / f"t_{y}.tif", np.full((20, 20), y - 1990.0, "float32"), crs="ESRI:54009", transform=tr
        )
    halves = gpd.GeoDataFrame(
        {"d": ["a", "b"]}, geometry=[box(0, 0, 10_000, 20_000), box(10_000, 0, 20_000, 20_000)], crs="ESRI:54009"
    )
    halves.to_file(tmp_path / "d.gpkg")
    r = invoke(
        "exposure", p, "--zones", f"districts={tmp_path / 'd.gpkg'}", "--zones-id", "districts=d",
        "--flood", f"RP5={f}", "--air", f"pm25={pm}", "--climate", f"temp={tmp_path / 't_*.tif'}",
        "--baseline", "2000/2001", "-o", tmp_path / "out",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    fl = pd.read_csv(tmp_path / "out" / "flood_exposure.csv").set_index(["zones", "zone", "depth_gt_m"])
    assert fl.loc[("all", "all", 0.15), "people"] == pytest.approx(400.0)
    assert fl.loc[("districts", "a", 0.15), "people"] == pytest.approx(400.0)
    assert fl.loc[("all", "all", 0.5), "people"] == 0.0
    air = pd.read_csv(tmp_path / "out" / "air_quality.csv").set_index(["zones", "zone"])
    assert air.loc[("all", "all"), "share_above_IT-4"] == 1.0 and air.loc[("all", "all"), "share_above_IT-3"] == 0.0
    cl = pd.read_csv(tmp_path / "out" / "climate_summary.csv")
    assert cl[(cl.zones == "all") & (cl.weight == "area")].trend_per_decade.item() == pytest.approx(10.0)
    # polygon zones without an id column, and a malformed NAME=RASTER, are refused with the option named
    r = invoke(
        "exposure", p, "--zones", f"districts={tmp_path / 'd.gpkg'}", "--air", f"pm25={pm}", "-o", tmp_path / "x"
    )
    assert r.exit_code != 0 and r.output.startswith("eokit: error:") and r.output.count("\n") == 1
    r = invoke("exposure", p, "--flood", str(f), "-o", tmp_path / "x")
    assert r.exit_code != 0 and r.output.startswith("eokit: error:")
    from eokit.urban.hazards import parse_named

    with pytest.raises(InvalidInputError) as exc:
        parse_named([str(f)], param="flood")
    assert exc.value.param == "flood"


def test_zonal_band_by_name_and_zones_outside_the_raster(tmp_path):
    from eokit.urban.zonal import ZonesOutsideRasterWarning, resolve_band, zonal_stats

    tr = Affine(10.0, 0, 0, 0, -10.0, 100.0)
    with rasterio.open(
        tmp_path / "two.tif",
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=2,
        dtype="float32",
        crs="EPSG:3857",
        transform=tr,
    ) as ds:
        ds.write(np.ones((10, 10), "float32"), 1)
        ds.write(np.full((10, 10), 2.0, "float32"), 2)
        ds.set_band_description(2, "nir")
    zones = gpd.GeoDataFrame(
        {"z": ["in", "far", "also_far"]},
        geometry=[box(0, 0, 50, 50), box(500, 500, 600, 600), box(-90, -90, -80, -80)],
        crs="EPSG:3857",
    )
    zones.to_file(tmp_path / "z.gpkg")
    with pytest.warns(ZonesOutsideRasterWarning) as rec:
        t = zonal_stats(zones, tmp_path / "two.tif", stats=("mean",), band="NIR", id_col="z")
    assert "far" in str(rec[0].message) and "also_far" in str(rec[0].message)
    assert t.set_index("zone").loc["in", "value"] == 2.0
    r = invoke(
        "zonal",
        tmp_path / "z.gpkg",
        tmp_path / "two.tif",
        "--band",
        "nir",
        "--id-col",
        "z",
        "--stats",
        "mean",
        "--out",
        tmp_path / "o.csv",
    )
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "o.csv", index_col=0).loc["in"].item() == 2.0
    for bad in ("swir", "3", "0"):
        with pytest.raises(InvalidInputError) as exc:
            resolve_band(tmp_path / "two.tif", bad)
        assert exc.value.param == "band"
    r = invoke("zonal", tmp_path / "z.gpkg", tmp_path / "two.tif", "--band", "swir", "--out", tmp_path / "o.csv")
    assert r.exit_code != 0 and r.output.startswith("eokit: error:") and "Traceback" not in r.output
    r = invoke(
        "zonal", tmp_path / "z.gpkg", tmp_path / "two.tif", "--scheduler", "processes", "--out", tmp_path / "o.csv"
    )
    assert r.exit_code != 0 and r.output.startswith("eokit: error:")


def test_traveltime_rejects_nonpositive_max_time_and_keeps_the_old_unit_option(country, tmp_path):
    pts = gpd.GeoDataFrame(
        {"id": ["a", "b"]}, geometry=gpd.points_from_xy(country.cities.lon[:2], country.cities.lat[:2]), crs="EPSG:4326"
    )
    pts.to_file(tmp_path / "p.gpkg")
    base = [
        "traveltime",
        country.friction,
        "--origins",
        tmp_path / "p.gpkg",
        "--id-col",
        "id",
        "--out",
        tmp_path / "t.csv",
    ]
    for bad in ("0", "-3"):
        r = invoke(*base, "--max-time", bad)
        assert r.exit_code != 0 and r.output.startswith("eokit: error:")
    r = invoke(*base, "--unit", "min_per_km")
    assert r.exit_code == 0, r.output
    old = pd.read_csv(tmp_path / "t.csv", index_col=0)
    r = invoke(*base, "--friction-units", "min_per_km")
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(old, pd.read_csv(tmp_path / "t.csv", index_col=0))
    assert "--unit" not in invoke("traveltime", "--help").output
