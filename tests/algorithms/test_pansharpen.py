"""Pansharpening: closed forms, scikit-image HSV reference, numpy vs dask with small chunks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from eokit.algorithms import pansharpen, pansharpen_brovey, pansharpen_hsv, pansharpen_kernel
from eokit.algorithms.pansharpen import kernel_size
from eokit.errors import InvalidInputError
from eokit.testing import assert_numpy_dask_equal


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(2)
    ms = rng.uniform(0.05, 0.6, (3, 40, 50)).astype(np.float32)
    pan = rng.uniform(0.05, 0.6, (40, 50)).astype(np.float32)
    return ms, pan


def test_kernel_size():
    assert kernel_size(15.0) == 7  # 90 m / 15 m = 6 -> odd 7
    assert kernel_size(30.0) == 3
    assert kernel_size(10.0) == 9
    assert kernel_size(100.0) == 3
    with pytest.raises(InvalidInputError):
        kernel_size(0)


def test_kernel_method_independent_formula(scene):
    ms, pan = scene
    got = pansharpen_kernel(ms, pan, pixel_size=15.0)
    k = 7
    mean = ms.astype(float).mean(0)
    ones = np.ones_like(mean)

    def box(a):
        return ndimage.correlate(a, np.ones((k, k)), mode="constant") / ndimage.correlate(
            ones, np.ones((k, k)), mode="constant"
        )

    gain = box(mean) / box(pan.astype(float))
    expected = ms / mean * pan * gain
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_kernel_constant_images_closed_form():
    ms = np.stack([np.full((9, 9), v, np.float32) for v in (0.1, 0.2, 0.3)])
    pan = np.full((9, 9), 0.4, np.float32)
    got = pansharpen_kernel(ms, pan, pixel_size=30.0)
    # gain = 0.2/0.4; sharp_i = ms_i / 0.2 * 0.4 * 0.5 = ms_i
    np.testing.assert_allclose(got, ms, rtol=1e-6)


def test_kernel_numpy_equals_dask_chunks_smaller_than_halo(scene):
    ms, pan = scene
    stack = np.concatenate([ms, pan[None]])

    def run(s):
        return pansharpen_kernel(s[:3], s[3], pixel_size=10.0)  # k = 9, halo 4

    assert_numpy_dask_equal(run, stack, chunks=(4, 3, 3), rtol=1e-6)


def test_hsv_against_skimage(scene):
    color = pytest.importorskip("skimage.color")
    ms, pan = scene
    got = pansharpen_hsv(ms, pan)
    hsv = color.rgb2hsv(np.moveaxis(ms, 0, -1).astype(float))
    hsv[..., 2] = pan
    expected = np.moveaxis(color.hsv2rgb(hsv), -1, 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidInputError):
        pansharpen_hsv(ms[:2], pan)


def test_brovey_closed_form_and_nodata(scene):
    ms, pan = scene
    ms = ms.copy()
    ms[0, 1, 1] = np.nan
    got = pansharpen_brovey(ms, pan)
    expected = ms * pan / ms.mean(0)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert np.isnan(got[:, 1, 1]).all()
    w = pansharpen_brovey(ms, pan, weights=[1, 0, 0])
    np.testing.assert_allclose(w[0], np.where(np.isnan(ms[0]), np.nan, pan), rtol=1e-5, equal_nan=True)
    assert_numpy_dask_equal(lambda s: pansharpen_brovey(s[:3], s[3]), np.concatenate([ms, pan[None]]), chunks=(4, 7, 7))


def test_dispatch_and_bad_input(scene):
    ms, pan = scene
    np.testing.assert_allclose(pansharpen(ms, pan, method="brovey"), pansharpen_brovey(ms, pan))
    with pytest.raises(InvalidInputError):
        pansharpen(ms, pan, method="kernel")
    with pytest.raises(InvalidInputError):
        pansharpen(ms, pan[:10], method="hsv")
    with pytest.raises(InvalidInputError):
        pansharpen(ms, pan, method="pca")


def test_brovey_large_threaded_pass_matches_formula():
    rng = np.random.default_rng(5)
    ms = rng.uniform(0.05, 0.6, (3, 700, 700)).astype(np.float32)
    pan = rng.uniform(0.05, 0.6, (700, 700)).astype(np.float32)
    ms[1, 3, 4] = 0.0
    ms[:, 5, 6] = 0.0  # zero intensity -> NaN
    got = pansharpen_brovey(ms, pan, weights=[1.0, 2.0, 1.0])
    inten = (ms[0].astype(np.float64) + 2 * ms[1] + ms[2]) / 4
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = ms * (pan / inten)
    np.testing.assert_allclose(got[:, :5], expected[:, :5], rtol=1e-6)
    np.testing.assert_allclose(got[:, 6:], expected[:, 6:], rtol=1e-6)
    assert np.isnan(got[:, 5, 6]).all()


def _kernel_reference(ms, pan, k):
    """Kernel-mean ratio from scipy.ndimage: NaN-aware k x k local means of the band mean and of pan."""

    def box(a):
        valid = np.isfinite(a)
        s = ndimage.correlate(np.where(valid, a, 0.0), np.ones((k, k)), mode="constant")
        n = ndimage.correlate(valid.astype(float), np.ones((k, k)), mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan)

    mean = ms.astype(float).mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ms / mean * pan * box(mean) / box(pan.astype(float))


def test_kernel_nan_aware_local_means(scene):
    ms, pan = (a.copy() for a in scene)
    ms[1, 10, 10] = np.nan  # one band -> the ms mean is NaN there
    pan[20:30, 20:30] = np.nan  # a pan hole wider than the 5x5 window
    k = 5
    got = pansharpen_kernel(ms, pan, pixel_size=18.0)  # 90 / 18 = 5
    assert kernel_size(18.0) == k
    expected = _kernel_reference(ms, pan, k)
    np.testing.assert_allclose(got, expected, rtol=1e-5, equal_nan=True)
    assert np.isnan(got[:, 10, 10]).all() and np.isnan(got[:, 25, 25]).all()
    assert np.isfinite(got[:, 0, 0]).all()


@pytest.mark.parametrize("cols", [1, 2, 3, 6, 9, 2100])
def test_kernel_narrow_and_strip_edges_against_ndimage(cols):
    """Box sums cut at the array edges (windows wider than the array) and across column strips."""
    rng = np.random.default_rng(cols)
    rows = 9
    ms = rng.uniform(0.05, 0.6, (2, rows, cols)).astype(np.float32)
    pan = rng.uniform(0.05, 0.6, (rows, cols)).astype(np.float32)
    pan[rng.random(pan.shape) < 0.1] = np.nan
    k = 7
    got = pansharpen_kernel(ms, pan, pixel_size=90.0 / k)
    expected = _kernel_reference(ms, pan, k)
    np.testing.assert_allclose(got, expected, rtol=1e-5, equal_nan=True)


def test_product_stack_vrt_converts_and_flags_saturation(tmp_path):
    """The VRT a product's MS bands are read through: (DN + offset) / Q, nodata and saturated DN -> NaN."""
    import rasterio

    from eokit.algorithms.products import Band, write_vrt
    from eokit.testing import write_test_raster

    dn = np.array([[0, 1000, 2000], [65534, 65535, 5000]], np.uint16)
    src = write_test_raster(tmp_path / "b.tif", dn, crs="EPSG:32633")
    band = Band("B04", str(src), "red", "reflectance", 1e-4, -0.1, 0.0, (65535.0,))
    with rasterio.open(write_vrt([band], tmp_path / "s.vrt")) as ds:
        got = ds.read(1)
    want = dn * 1e-4 - 0.1
    assert np.isnan(got[0, 0]) and np.isnan(got[1, 1])
    ok = ~np.isnan(got)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6)
