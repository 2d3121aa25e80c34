"""Exposure analyses against closed forms and straightforward numpy on small grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster
from eokit.urban.exposure import Zones, air_quality, climate_series, climate_variation, flood_exposure

CRS = "ESRI:54009"
KM = Affine(1000.0, 0, 0, 0, -1000.0, 40_000.0)  # 40 x 40 km, origin top-left (0, 40 km)
HALF = Affine(500.0, 0, 0, 0, -500.0, 40_000.0)
TWO = Affine(2000.0, 0, 0, 0, -2000.0, 40_000.0)


def _pop(tmp_path, pop):
    return write_test_raster(tmp_path / "pop.tif", pop.astype("float32"), crs=CRS, transform=KM)


def _halves():
    """Two districts: x < 20 km (west) and x >= 20 km (east)."""
    return gpd.GeoDataFrame(
        {"name": ["west", "east"]}, geometry=[box(0, 0, 20_000, 40_000), box(20_000, 0, 40_000, 40_000)], crs=CRS
    )


@pytest.fixture
def flood(tmp_path):
    """1.0 m of water on a rectangle whose top and bottom edges cut population cells in half:
    x 5..25 km, y from 40 - 20.5 km to 40 - 10.5 km, on a 500 m grid."""
    depth = np.zeros((80, 80), dtype="float32")
    depth[21:41, 10:50] = 1.0
    return write_test_raster(tmp_path / "rp100.tif", depth, crs=CRS, transform=HALF, nodata=-9999.0)


def test_uniform_population_under_a_known_flood_polygon(tmp_path, flood):
    pop = _pop(tmp_path, np.full((40, 40), 10.0))
    zones = [Zones("districts", _halves(), "name")]
    df = flood_exposure(pop, {"RP100": flood}, zones, depth_classes=(0, 0.5, 1.5))
    got = df.set_index(["zones", "zone", "depth_gt_m"])["people"]
    # area share: 10 rows x 20 columns of 1 km² flooded -> 200 km² x 10 people/km²
    assert got[("all", "all", 0.5)] == pytest.approx(2000.0)
    assert got[("all", "all", 0.0)] == pytest.approx(2000.0)
    assert got[("all", "all", 1.5)] == 0.0
    # west district holds x 5..20 km (15 of the 20 columns), east 20..25 km
    assert got[("districts", "west", 0.5)] == pytest.approx(1500.0)
    assert got[("districts", "east", 0.5)] == pytest.approx(500.0)
    share = df.set_index(["zones", "zone", "depth_gt_m"])["people_share"]
    assert share[("all", "all", 0.5)] == pytest.approx(2000.0 / 16_000.0)
    # maximum depth: every population cell touched by the water counts whole (11 rows)
    mx = flood_exposure(pop, {"RP100": flood}, rule="max", depth_classes=(0.5,))
    assert mx.loc[mx.zones == "all", "people"].item() == pytest.approx(2200.0)


def test_flood_per_label_raster_and_built_up(tmp_path, flood):
    rng = np.random.default_rng(1)
    pop = rng.random((40, 40)) * 100
    labels = np.zeros((40, 40), dtype="int32")
    labels[5:15, 0:30] = 1
    labels[25:35, 10:40] = 2
    lab = write_test_raster(tmp_path / "lab.tif", labels, crs=CRS, transform=KM)
    built = write_test_raster(tmp_path / "built.tif", (pop * 3).astype("float32"), crs=CRS, transform=KM)
    df = flood_exposure(_pop(tmp_path, pop), {"RP10": flood}, [Zones("clusters", lab)], built_up=built)
    # numpy: the share of each population cell flooded above 0.15 m, from the 500 m map
    depth = np.zeros((80, 80))
    depth[21:41, 10:50] = 1.0
    share = (depth > 0.15).reshape(40, 2, 40, 2).mean(axis=(1, 3))
    pop32 = pop.astype("float32").astype(float)
    row = df[(df.zones == "clusters") & (df.zone == 1) & (df.depth_gt_m == 0.15)].iloc[0]
    sel = labels == 1
    assert row.people == pytest.approx((pop32 * share)[sel].sum(), rel=1e-9)
    assert row.population == pytest.approx(pop32[sel].sum(), rel=1e-9)
    assert row.built_up == pytest.approx((3 * pop).astype("float32").astype(float)[sel].dot(share[sel]), rel=1e-6)


def test_linear_temperature_trend_recovered_exactly(tmp_path):
    rng = np.random.default_rng(2)
    pop = rng.random((40, 40)) * 50
    base = rng.random((40, 40)) * 5 + 10
    years = np.arange(1990, 2020)
    for y in years:
        write_test_raster(
            tmp_path / f"t2m_{y}.tif", (base + 0.025 * (y - 1990)).astype("float64"), crs=CRS, transform=KM
        )
    series = climate_series({"t2m": [str(tmp_path / "t2m_*.tif")]})
    assert len(series) == 30 and series.date.iloc[0] == pd.Timestamp("1990-01-01")
    summary, long = climate_variation(_pop(tmp_path, pop), series, baseline=("1991-01-01", "2000-12-31"))
    for weight, w in (("population", pop.astype("float32").astype(float)), ("area", np.ones_like(pop))):
        rec = summary[(summary.zones == "all") & (summary.weight == weight)].iloc[0]
        assert rec.trend_per_decade == pytest.approx(0.25, rel=1e-9)
        assert rec.trend_p_value < 1e-12
        zone_base = (w * base).sum() / w.sum()
        assert rec["mean"] == pytest.approx(zone_base + 0.025 * 14.5, rel=1e-12)
        assert rec["std"] == pytest.approx(0.025 * np.std(np.arange(30), ddof=1), rel=1e-9)
        assert rec.cv == pytest.approx(rec["std"] / rec["mean"])
        s = long[(long.zones == "all") & (long.weight == weight)]
        # baseline 1991..2000: mean offset 0.025 * 5.5; anomaly of 2019 = 0.025 * (29 - 5.5)
        assert s[s.date.dt.year == 2019].anomaly.item() == pytest.approx(0.025 * 23.5, abs=1e-9)


def test_air_quality_against_numpy_on_a_coarser_grid(tmp_path):
    rng = np.random.default_rng(4)
    pop = rng.random((40, 40)) * 100
    pm = (rng.random((20, 20)) * 40).astype("float32")
    pm[0, 0] = np.nan
    path = write_test_raster(tmp_path / "pm25.tif", pm, crs=CRS, transform=TWO, nodata=np.nan)
    zones = [Zones("districts", _halves(), "name")]
    df = air_quality(_pop(tmp_path, pop), path, zones).set_index(["zones", "zone"])
    v = np.repeat(np.repeat(pm.astype(float), 2, 0), 2, 1)  # the 2 km value over its four 1 km cells
    p = pop.astype("float32").astype(float)
    for zone, sel in (("west", np.s_[:, :20]), ("east", np.s_[:, 20:])):
        pz, vz = p[sel], v[sel]
        ok = np.isfinite(vz)
        rec = df.loc[("districts", zone)]
        assert rec.pm25_pop_mean == pytest.approx((pz[ok] * vz[ok]).sum() / pz[ok].sum(), rel=1e-9)
        assert rec.pm25_area_mean == pytest.approx(vz[ok].mean(), rel=1e-9)
        for name, t in (("WHO AQG 2021", 5), ("IT-1", 35), ("IT-3", 15)):
            assert rec[f"share_above_{name}"] == pytest.approx(pz[ok & (vz > t)].sum() / pz[ok].sum(), rel=1e-9)


def test_hazard_in_another_crs_is_aligned(tmp_path):
    pop = _pop(tmp_path, np.full((40, 40), 3.0))
    lonlat = Affine(0.01, 0, -1.0, 0, -0.01, 1.0)
    path = write_test_raster(
        tmp_path / "pm.tif", np.full((200, 200), 7.5, "float32"), crs="EPSG:4326", transform=lonlat
    )
    df = air_quality(pop, path)
    assert df.pm25_pop_mean.item() == pytest.approx(7.5)
    assert df["share_above_WHO AQG 2021"].item() == pytest.approx(1.0)


def test_bad_inputs(tmp_path, flood):
    pop = _pop(tmp_path, np.ones((40, 40)))
    with pytest.raises(InvalidInputError) as exc:
        flood_exposure(pop, {"x": flood}, depth_classes=(-1,))
    assert exc.value.param == "depth_classes"
    with pytest.raises(InvalidInputError) as exc:
        flood_exposure(pop, {"x": flood}, rule="mean")
    assert exc.value.param == "flood_rule"
    with pytest.raises(InvalidInputError) as exc:
        climate_series({"t": [tmp_path / "no_date_here.tif"]})
    assert exc.value.param == "climate"
