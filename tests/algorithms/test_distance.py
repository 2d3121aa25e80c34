"""distance_to_mask, mask_cover, euclidean/sum distance and medoid against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from shapely.geometry import box

from eokit.algorithms import distance_to_mask, euclidean_distance, mask_cover, medoid, sum_distance
from eokit.errors import InvalidInputError
from eokit.testing import assert_numpy_dask_equal

T30 = Affine(30, 0, 500000, 0, -30, 4000000)


def _scipy_reference(mask, dy, dx, radius):
    if not mask.any():
        return np.full(mask.shape, radius, np.float32)
    d = ndimage.distance_transform_edt(~mask, sampling=(dy, dx))
    return np.minimum(d, radius).astype(np.float32)


def test_closed_form_7x7_30m_radius_50(vertical_pass):
    mask = np.zeros((7, 7), bool)
    mask[3, 3] = True
    got = distance_to_mask(mask, transform=T30, radius=50)
    rr, cc = np.mgrid[0:7, 0:7]
    expected = np.minimum(30 * np.hypot(rr - 3, cc - 3), 50)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[3, 3] == 0 and got[3, 4] == 30 and got[4, 4] == pytest.approx(30 * 2**0.5) and got[3, 5] == 50
    np.testing.assert_allclose(
        distance_to_mask(mask, transform=T30, radius=50, normalize=True), expected / 50, rtol=1e-6
    )


def test_no_mask_gives_radius():
    got = distance_to_mask(np.zeros((4, 5), bool), transform=T30, radius=75)
    assert np.all(got == 75)


@pytest.fixture(params=["window", "envelope"])
def vertical_pass(request, monkeypatch):
    """Run a test with the short-reach window scan and with the long-reach passes (envelope / row scan)."""
    import eokit.algorithms._kernels as kernels

    if request.param == "envelope":
        monkeypatch.setattr(kernels, "_WINDOW_ROWS_MAX", 0)
    return request.param


def test_anisotropic_pixels_against_scipy(vertical_pass):
    rng = np.random.default_rng(3)
    mask = rng.random((60, 80)) > 0.995
    t = Affine(10, 0, 0, 0, -25, 0)
    got = distance_to_mask(mask, transform=t, radius=200)
    np.testing.assert_allclose(got, _scipy_reference(mask, 25, 10, 200), rtol=1e-5)


def test_geographic_rows_against_brute_force(vertical_pass):
    from eokit.core.crs import pixel_sizes_m

    mask = np.zeros((30, 30), bool)
    mask[[3, 17, 25], [5, 20, 2]] = True
    t = Affine(0.001, 0, 10.0, 0, -0.001, 60.0)  # ~55 m wide, ~111 m tall at 60 N
    radius = 600.0
    got = distance_to_mask(mask, transform=t, radius=radius, crs="EPSG:4326")
    dx, dy = pixel_sizes_m(t, "EPSG:4326", 30)
    y = np.cumsum(dy) - dy / 2
    expected = np.full(mask.shape, radius)
    for r, c in zip(*np.nonzero(mask)):
        for i in range(30):
            d = np.hypot(y[i] - y[r], (np.arange(30) - c) * dx[i])  # horizontal metres at the pixel's row
            expected[i] = np.minimum(expected[i], d)
    np.testing.assert_allclose(got, np.minimum(expected, radius), rtol=1e-5)
    assert dx[0] < dy[0] / 1.5  # the pixels really are anisotropic


def test_numpy_equals_dask_with_chunks_smaller_than_halo():
    rng = np.random.default_rng(0)
    mask = rng.random((70, 90)) > 0.99
    # radius 300 m at 30 m -> halo 11 px; chunks of 8 px
    assert_numpy_dask_equal(lambda m: distance_to_mask(m, transform=T30, radius=300), mask, chunks=8)
    assert_numpy_dask_equal(
        lambda m: distance_to_mask(m, transform=Affine(0.01, 0, 5, 0, -0.01, 45), radius=2500, crs="EPSG:4326"),
        mask,
        chunks=(9, 13),
    )


def test_geometry_clip_and_reprojection():
    mask = np.zeros((10, 10), bool)
    mask[0, 0] = True  # outside the geometry: must not count
    mask[5, 5] = True
    t = Affine(30, 0, 0, 0, -30, 300)
    geom = box(60, 30, 270, 240)  # columns 2..8, rows 2..8
    got = distance_to_mask(mask, transform=t, radius=1000, geometry=geom)
    inside = np.zeros((10, 10), bool)
    inside[2:9, 2:9] = True
    assert np.all(np.isnan(got[~inside]))
    rr, cc = np.mgrid[0:10, 0:10]
    np.testing.assert_allclose(got[inside], (30 * np.hypot(rr - 5, cc - 5))[inside], rtol=1e-6)
    import dask.array as da

    dgot = distance_to_mask(da.from_array(mask, chunks=3), transform=t, radius=1000, geometry=geom).compute()
    np.testing.assert_array_equal(np.isnan(dgot), np.isnan(got))
    np.testing.assert_allclose(dgot[inside], got[inside])


@settings(max_examples=25, deadline=None)
@given(
    st.integers(5, 25),
    st.integers(5, 25),
    st.integers(0, 2**31 - 1),
    st.floats(10, 200),
)
def test_invariants(h, w, seed, radius):
    mask = np.random.default_rng(seed).random((h, w)) > 0.9
    got = distance_to_mask(mask, transform=T30, radius=radius)
    assert np.all(got[mask] == 0)
    assert np.all((got >= 0) & (got <= np.float32(radius)))
    np.testing.assert_allclose(got, _scipy_reference(mask, 30, 30, radius), rtol=1e-5)


def test_real_rgb_nodata_mask(rgb_byte):
    import rasterio

    with rasterio.open(rgb_byte) as ds:
        a = ds.read(1)
        t = ds.transform
    mask = a == 0
    got = distance_to_mask(mask, transform=t, radius=3000)
    np.testing.assert_allclose(got, _scipy_reference(mask, abs(t.e), t.a, 3000), rtol=1e-5)


def test_mask_cover_closed_forms():
    mask = np.zeros((10, 10), bool)
    mask[:, :3] = True
    t = Affine(1, 0, 0, 0, -1, 10)
    assert mask_cover(mask, transform=t) == pytest.approx(30.0)
    # geometry covering columns 0..4 (x 0..5): 30 masked of 50 centres
    assert mask_cover(mask, transform=t, geometry=box(0, 0, 5, 10)) == pytest.approx(60.0)
    # centre rule vs all_touched: x 0..2.6 holds centres of cols 0..2 only; touched adds col 2.. -> col 0..2 (+ none)
    assert mask_cover(mask, transform=t, geometry=box(0.2, 0, 3.4, 10)) == pytest.approx(100.0)
    assert mask_cover(mask, transform=t, geometry=box(0.2, 0, 3.4, 10), all_touched=True) == pytest.approx(75.0)
    import dask.array as da

    assert mask_cover(da.from_array(mask, chunks=3), transform=t, geometry=box(0, 0, 5, 10)) == pytest.approx(60.0)
    with pytest.raises(InvalidInputError):
        mask_cover(mask, transform=t, geometry=box(100, 100, 101, 101))


def test_mask_cover_reprojects_geometry():
    from pyproj import Transformer

    t = Affine(1000, 0, 500000, 0, -1000, 5000000)  # UTM 33N
    mask = np.zeros((20, 20), bool)
    mask[:10] = True
    tr = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    # the geometry (in lon/lat) of the lower-left 10x10 km block -> 0 % masked; the whole grid -> 50 %
    lo = tr.transform(500000 + 1, 4980000 + 1)
    hi = tr.transform(510000 - 1, 4990000 - 1)
    g = box(lo[0], lo[1], hi[0], hi[1])
    assert mask_cover(mask, transform=t, geometry=g, crs="EPSG:32633", geometry_crs="EPSG:4326") == pytest.approx(0.0)
    assert mask_cover(mask, transform=t, crs="EPSG:32633") == pytest.approx(50.0)


def test_euclidean_sum_and_medoid_brute_force():
    rng = np.random.default_rng(5)
    coll = rng.uniform(0, 1, (5, 3, 6, 7))
    coll[1, 0, 2, 2] = np.nan
    a, b = coll[0], coll[2]
    np.testing.assert_allclose(euclidean_distance(a, b), np.sqrt(((a - b) ** 2).sum(0)))
    np.testing.assert_allclose(euclidean_distance(a, b, bands=[0, 2]), np.sqrt(((a - b)[[0, 2]] ** 2).sum(0)))
    np.testing.assert_allclose(
        sum_distance(a, [coll[2], coll[3]]), euclidean_distance(a, coll[2]) + euclidean_distance(a, coll[3])
    )
    got = medoid(coll)
    for r in range(6):
        for c in range(7):
            px = coll[:, :, r, c]
            scores = []
            for i in range(5):
                if np.isnan(px[i]).any():
                    scores.append(np.inf)
                    continue
                d = [np.sqrt(((px[i] - px[j]) ** 2).sum()) for j in range(5) if not np.isnan(px[j]).any()]
                scores.append(sum(d))
            np.testing.assert_allclose(got[:, r, c], px[int(np.argmin(scores))])
    import dask.array as da

    dgot = medoid(da.from_array(coll, chunks=(5, 3, 3, 3)))
    np.testing.assert_allclose(np.asarray(dgot), got)


def test_discard_zeros():
    a = np.array([[[0.0]], [[3.0]]])
    b = np.array([[[5.0]], [[0.0]]])
    assert euclidean_distance(a, b)[0, 0] == pytest.approx(np.hypot(5, 3))
    assert euclidean_distance(a, b, discard_zeros=True)[0, 0] == 0.0


def test_bad_inputs():
    with pytest.raises(InvalidInputError):
        distance_to_mask(np.zeros((2, 2, 2), bool), transform=T30, radius=10)
    with pytest.raises(InvalidInputError):
        distance_to_mask(np.zeros((2, 2), bool), transform=T30, radius=0)
    with pytest.raises(InvalidInputError):
        euclidean_distance(np.zeros((2, 3, 3)), np.zeros((2, 3, 4)))
    with pytest.raises(InvalidInputError):
        euclidean_distance(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), bands=[5])
    with pytest.raises(InvalidInputError):
        medoid([])


def test_xarray_inputs_are_accepted():
    xr = pytest.importorskip("xarray")
    mask = np.zeros((5, 6), bool)
    mask[2, 2] = True
    da_mask = xr.DataArray(mask, dims=("y", "x"))
    np.testing.assert_array_equal(
        distance_to_mask(da_mask, transform=T30, radius=100), distance_to_mask(mask, transform=T30, radius=100)
    )
    assert mask_cover(da_mask, transform=T30) == pytest.approx(100 / 30)
