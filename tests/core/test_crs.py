import numpy as np
import pytest
from affine import Affine
from pyproj import Geod

from eokit.core import cell_areas_km2, pixel_sizes_m, require_crs
from eokit.errors import InvalidInputError, MissingCRSError


def _densified_cell_area_m2(geod, west, north, dlon, dlat, n=200):
    """Ellipsoidal area of a lon/lat rectangle by geodesic polygon with densified edges (independent method)."""
    south, east = north - dlat, west + dlon
    lons = np.concatenate([np.linspace(west, east, n), np.full(n, east), np.linspace(east, west, n), np.full(n, west)])
    lats = np.concatenate(
        [np.full(n, south), np.linspace(south, north, n), np.full(n, north), np.linspace(north, south, n)]
    )
    area, _ = geod.polygon_area_perimeter(lons, lats)
    return abs(area)


@pytest.mark.parametrize("north", [60.0, 10.0, -30.0, 89.0])
def test_geographic_cell_area_matches_geodesic_polygon(north):
    t = Affine(1.0, 0, 20.0, 0, -1.0, north)
    got = cell_areas_km2(t, "EPSG:4326", 1)[0]
    expected = _densified_cell_area_m2(Geod(ellps="WGS84"), 20.0, north, 1.0, 1.0) / 1e6
    assert got == pytest.approx(expected, rel=1e-5)


def test_sphere_closed_form():
    # on a sphere the band area is R² Δλ (sin φ2 − sin φ1)
    crs = "+proj=longlat +R=6371000 +no_defs"
    t = Affine(0.5, 0, 0, 0, -0.5, 45.0)
    got = cell_areas_km2(t, crs, 4)
    tops = 45.0 - 0.5 * np.arange(4)
    bottoms = tops - 0.5
    expected = 6371000.0**2 * np.radians(0.5) * (np.sin(np.radians(tops)) - np.sin(np.radians(bottoms))) / 1e6
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_whole_globe_sums_to_ellipsoid_area():
    t = Affine(1.0, 0, -180, 0, -1.0, 90)
    areas = cell_areas_km2(t, "EPSG:4326", 180)
    total = areas.sum() * 360
    # authalic area of WGS84: 4π R_q², R_q = 6371007.1809 m
    assert total == pytest.approx(4 * np.pi * 6371007.1809**2 / 1e6, rel=1e-9)


def test_equal_area_crs_is_nominal():
    t = Affine(1000.0, 0, 0, 0, -1000.0, 0)
    np.testing.assert_array_equal(cell_areas_km2(t, "EPSG:6933", 3), [1.0, 1.0, 1.0])


def test_projected_pixel_sizes_in_feet():
    t = Affine(10.0, 0, 0, 0, -20.0, 0)
    dx, dy = pixel_sizes_m(t, "EPSG:2263", 2)  # NY Long Island, US survey feet
    np.testing.assert_allclose(dx, 10 * 1200 / 3937, rtol=1e-12)
    np.testing.assert_allclose(dy, 20 * 1200 / 3937, rtol=1e-12)


def test_geographic_pixel_sizes_match_geodesic_distances():
    geod = Geod(ellps="WGS84")
    t = Affine(0.001, 0, 10.0, 0, -0.001, 50.0)
    dx, dy = pixel_sizes_m(t, "EPSG:4326", 3)
    for row in range(3):
        lat = 50.0 - 0.001 * (row + 0.5)
        _, _, ew = geod.inv(10.0, lat, 10.001, lat)
        _, _, ns = geod.inv(10.0, lat + 0.0005, 10.0, lat - 0.0005)
        assert dx[row] == pytest.approx(ew, rel=1e-6)
        assert dy[row] == pytest.approx(ns, rel=1e-6)


def test_missing_crs_named():
    with pytest.raises(MissingCRSError) as info:
        require_crs(None, path="pop.tif", purpose="density")
    assert info.value.path == "pop.tif"


def test_bad_crs_string():
    with pytest.raises(InvalidInputError):
        cell_areas_km2(Affine.identity(), "EPSG:not-a-code", 1)
