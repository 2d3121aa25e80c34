"""Zonal statistics against rasterstats (cell-centre and all-touched) to 1e-9."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import Point, box

from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster
from eokit.urban.zonal import ZoneIndex, to_wide, write_zonal_csv, zonal_stats

rasterstats = pytest.importorskip("rasterstats")

STATS = ["sum", "min", "max", "mean", "count", "std", "median", "majority", "minority", "unique", "range"]
TR = Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("zonal")
    rng = np.random.default_rng(11)
    data = np.round(rng.random((150, 200)) * 50, 1)
    data[rng.random(data.shape) < 0.05] = -9999.0
    data[10:20, 10:20] = np.nan
    path = write_test_raster(d / "r.tif", data, crs="EPSG:32633", transform=TR, nodata=-9999.0)
    geoms = [
        Point(500000 + rng.random() * 6000, 4000000 - rng.random() * 4500).buffer(200 + rng.random() * 900)
        for _ in range(25)
    ]
    geoms.append(box(500000 - 600, 4000000 - 900, 500000 + 450, 4000000 + 300))  # partly outside
    geoms.append(box(400000, 3000000, 400100, 3000100))  # fully outside
    zones = gpd.GeoDataFrame({"zid": [f"z{i}" for i in range(len(geoms))]}, geometry=geoms, crs=32633)
    return path, zones, data


@pytest.mark.parametrize("all_touched", [False, True])
def test_matches_rasterstats(scene, all_touched):
    path, zones, _ = scene
    tidy = zonal_stats(zones, [path], stats=STATS, all_touched=all_touched, id_col="zid", names=["r"])
    wide = to_wide(tidy)
    want = rasterstats.zonal_stats(zones, str(path), stats=STATS, all_touched=all_touched)
    for zid, ref in zip(zones.zid, want):
        for s in STATS:
            got = wide.loc[zid, f"r_{s}"]
            if ref[s] is None or (s == "count" and ref[s] == 0):
                assert np.isnan(got) if s != "count" else got == 0, (zid, s, got)
            else:
                assert got == pytest.approx(ref[s], rel=1e-9, abs=1e-9), (zid, s, got, ref[s])


def test_reprojected_zones_match_rasterstats(scene):
    path, zones, _ = scene
    z4326 = zones.iloc[:10].to_crs(4326)
    wide = to_wide(zonal_stats(z4326, path, stats=["sum", "count"], names=["r"]))
    want = rasterstats.zonal_stats(z4326.to_crs(32633), str(path), stats=["sum", "count"])
    np.testing.assert_array_equal(wide["r_count"].to_numpy(), [w["count"] for w in want])
    np.testing.assert_allclose(wide["r_sum"].to_numpy(), [w["sum"] or np.nan for w in want], rtol=1e-9)


def test_many_rasters_one_index_and_tidy_shape(scene, tmp_path):
    _path, zones, data = scene
    paths = []
    for k in range(3):
        paths.append(
            write_test_raster(
                tmp_path / f"m{k}.tif",
                np.where(data == -9999, -9999, data * (k + 1)),
                crs="EPSG:32633",
                transform=TR,
                nodata=-9999.0,
            )
        )
    tidy = zonal_stats(zones, paths, stats=["sum", "mean"], block_rows=7, max_memory=0)
    assert list(tidy.columns) == ["zone", "raster", "stat", "value"]
    assert len(tidy) == len(zones) * 3 * 2
    wide = to_wide(tidy)
    np.testing.assert_allclose(wide["m1_sum"], 2 * wide["m0_sum"], rtol=1e-12)
    np.testing.assert_allclose(wide["m2_mean"], 3 * wide["m0_mean"], rtol=1e-12)


def test_overlapping_zones_each_get_all_pixels():
    data = np.arange(16.0).reshape(4, 4)
    g = [box(0, -4, 4, 0), box(0, -2, 2, 0)]  # second inside first
    idx = ZoneIndex.from_geometries(g, transform=Affine(1, 0, 0, 0, -1, 0), shape=(4, 4))
    st = idx.stats(data, stats=["sum", "count"])
    assert st["count"].tolist() == [16, 4]
    assert st["sum"].tolist() == [data.sum(), data[:2, :2].sum()]


def test_label_raster_zones_and_min_value():
    lab = np.array([[1, 1, 0], [2, 2, 2], [0, 3, 3]])
    data = np.array([[0.05, 2.0, 9.0], [1.0, 2.0, 3.0], [9.0, np.nan, 5.0]])
    st = ZoneIndex.from_labels(lab).stats(data, stats=["sum", "count", "nodata"], min_value=0.1)
    assert st["sum"].tolist() == [2.0, 6.0, 5.0]
    assert st["count"].tolist() == [1, 3, 1]
    assert st["nodata"].tolist() == [0, 0, 1]


def test_label_raster_file_as_zones(tmp_path):
    lab = np.array([[1, 1, 0], [2, 2, 2]], dtype="int32")
    lp = write_test_raster(tmp_path / "lab.tif", lab)
    rp = write_test_raster(tmp_path / "v.tif", np.arange(6.0).reshape(2, 3))
    wide = to_wide(zonal_stats(lp, rp, stats=["sum"]))
    assert wide["v_sum"].tolist() == [1.0, 12.0]


def test_write_csv_wide_and_tidy(scene, tmp_path):
    path, zones, _ = scene
    out = tmp_path / "w.csv"
    write_zonal_csv(zones, [path], out, stats=["sum"], id_col="zid")
    df = pd.read_csv(out)
    assert list(df.columns) == ["zid", "r_sum"]
    write_zonal_csv(zones, [path], tmp_path / "t.csv", stats=["sum"], tidy=True)
    assert list(pd.read_csv(tmp_path / "t.csv").columns) == ["zone", "raster", "stat", "value"]


def test_bad_inputs(scene):
    path, zones, _ = scene
    with pytest.raises(InvalidInputError):
        zonal_stats(zones, path, stats=["sum", "bogus"])
    with pytest.raises(InvalidInputError):
        zonal_stats(zones, path, id_col="missing")
    with pytest.raises(InvalidInputError):
        zonal_stats(zones, [])
    with pytest.raises(InvalidInputError):
        ZoneIndex.from_labels(np.ones((2, 2), int)).stats(np.ones((3, 3)))


def test_scanline_edge_cases_match_rasterstats(tmp_path):
    from shapely.geometry import MultiPolygon, Polygon

    tr = Affine(1.0, 0, 0.0, 0, -1.0, 40.0)
    data = np.arange(1600.0).reshape(40, 40)
    path = write_test_raster(tmp_path / "g.tif", data, crs="EPSG:3857", transform=tr)
    donut = Point(20, 20).buffer(12).difference(Point(20, 20).buffer(5))
    # vertices exactly on cell centres: horizontal edges on the scanlines
    on_centres = Polygon([(2.5, 37.5), (10.5, 37.5), (10.5, 30.5), (6.5, 33.5), (2.5, 30.5)])
    multi = MultiPolygon([box(30, 30, 33.2, 38.7), box(34.1, 1.1, 39.9, 6.6)])
    tilted = Polygon([(1, 1), (9, 3.5), (7.5, 12.25), (0.2, 8)])
    zones = gpd.GeoDataFrame({"k": range(4)}, geometry=[donut, on_centres, multi, tilted], crs=3857)
    wide = to_wide(zonal_stats(zones, path, stats=["sum", "count"], names=["g"]))
    want = rasterstats.zonal_stats(zones, str(path), stats=["sum", "count"])
    assert wide["g_count"].tolist() == [w["count"] for w in want]
    np.testing.assert_allclose(wide["g_sum"].to_numpy(), [w["sum"] for w in want], rtol=1e-12)


def test_runs_match_gdal_rasterize_on_random_polygons():
    """Random (self-intersecting, holed, multi) polygons with vertices on half-cell steps, so edges
    fall on scanlines and cell centres: the run index equals GDAL's rasterisation, cell for cell."""
    from rasterio import features
    from shapely.geometry import Polygon

    rng = np.random.default_rng(5)
    tr = Affine(1.0, 0, 0.0, 0, -1.0, 30.0)
    geoms = []
    for _ in range(60):
        k = int(rng.integers(3, 9))
        pts = np.round(rng.uniform(-3, 33, (k, 2)) * 2) / 2
        poly = Polygon(pts)
        if rng.random() < 0.3:
            poly = poly.buffer(0).difference(Point(*rng.uniform(5, 25, 2)).buffer(3.25))
        if rng.random() < 0.2 and poly.geom_type == "Polygon":
            poly = poly.buffer(0).union(box(*rng.uniform(0, 30, 2), 31.3, 31.2))
        geoms.append(poly)
    idx = ZoneIndex.from_geometries(geoms, transform=tr, shape=(30, 30))
    lab = np.zeros(len(geoms), dtype=object)
    for z, g in enumerate(geoms):
        mask = features.rasterize([(g, 1)], out_shape=(30, 30), transform=tr, fill=0, dtype="uint8")
        want = np.flatnonzero(mask)
        got = np.sort(idx.pixels[idx.zone == z])
        np.testing.assert_array_equal(got, want, err_msg=f"zone {z}")
        lab[z] = got.size
    assert idx.n_cells == sum(lab)


def test_strip_reading_equals_whole_array(scene, tmp_path):
    """count/sum/min/max/mean streamed in strips (various heights, 1 or 2 threads) equal the whole-array pass."""
    path, zones, data = scene
    idx = ZoneIndex.from_geometries(list(zones.geometry), transform=TR, shape=data.shape)
    want = idx.stats(data, nodata=-9999.0, stats=["count", "sum", "min", "max", "mean", "nodata"])
    for block_rows, workers in ((1, 1), (7, 2), (64, 2), (None, None)):
        tidy = zonal_stats(
            zones,
            path,
            stats=["count", "sum", "min", "max", "mean", "nodata"],
            block_rows=block_rows,
            workers=workers,
            names=["r"],
        )
        wide = to_wide(tidy)
        for s in want.columns:
            np.testing.assert_allclose(wide[f"r_{s}"].to_numpy(float), want[s].to_numpy(float), rtol=1e-12)


def test_label_runs_equal_pixelwise_labels():
    rng = np.random.default_rng(3)
    lab = rng.integers(-1, 4, (23, 17))
    idx = ZoneIndex.from_labels(lab)
    assert idx.zone_ids.tolist() == [1, 2, 3]
    for z, v in enumerate([1, 2, 3]):
        np.testing.assert_array_equal(np.sort(idx.pixels[idx.zone == z]), np.flatnonzero(lab == v))
    sub = ZoneIndex.from_labels(lab, zone_ids=[3, 1])
    np.testing.assert_array_equal(np.sort(sub.pixels[sub.zone == 0]), np.flatnonzero(lab == 3))
    np.testing.assert_array_equal(np.sort(sub.pixels[sub.zone == 1]), np.flatnonzero(lab == 1))
