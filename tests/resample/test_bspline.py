"""bspline3 (cubic B-spline with prefilter), interp_kwargs and check_boundaries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from eokit.errors import FallbackWarning, InvalidInputError
from eokit.resample import array_grid_resampling, grid_resampling_blocks
from eokit.resample.bspline import influence_radius
from eokit.testing.resample_grids import distorted_grid

from ._reference import full_res_coords

RES = (4, 4)
MODES = [
    (None, "mirror"),
    ("reflect", "mirror"),
    ("symmetric", "reflect"),
    ("wrap", "grid-wrap"),
    ("edge", "nearest"),
    ("constant", "grid-constant"),
]


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 34))
    gr, gc = distorted_grid((8, 9), RES, origin=(-2.5, -2.0), angle=0.2, scale=1.05, noise=0.4, seed=2)
    return src, gr, gc


def _taps_inside(y, x, shape, pad):
    """Cubic B-spline taps with non-zero weight (3 at an integer coordinate, else 4) inside the padded source."""
    ok = np.ones(y.shape, bool)
    for v, n in ((y, shape[0]), (x, shape[1])):
        f = np.floor(v)
        hi = np.where(v == f, f + 1, f + 2)
        ok &= (f - 1 >= -pad) & (hi <= n - 1 + pad)
    return ok


@pytest.mark.parametrize("bc,mode", MODES)
def test_bspline3_equals_scipy_map_coordinates(case, bc, mode):
    src, gr, gc = case
    y, x, _ = full_res_coords(gr, gc, RES)
    ref = map_coordinates(src, [y, x], order=3, mode=mode, prefilter=True, cval=0.0)
    out, mask = array_grid_resampling(
        "bspline3", src, gr, gc, RES, None, array_out_mask=True, nodata_out=np.nan, boundary_condition=bc,
        trust_padding=True,
    )  # fmt: skip
    expected = _taps_inside(y, x, src.shape, 0 if bc is None else 2)
    assert 0.5 < expected.mean() < 1.0
    np.testing.assert_array_equal(mask.astype(bool), expected)
    np.testing.assert_allclose(out[expected], ref[expected], rtol=0, atol=1e-10)
    assert np.isnan(out[~expected]).all()


def test_bspline3_integer_coordinates_interpolate_the_samples():
    # at the sample positions a B-spline interpolant returns the samples themselves
    rng = np.random.default_rng(3)
    src = rng.normal(size=(12, 15)).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(2.0, 10.0, 2.0), np.arange(2.0, 13.0, 2.0), indexing="ij")
    out, mask = array_grid_resampling("bspline3", src, rows, cols, (2, 2), None, array_out_mask=True)
    assert mask.all()
    np.testing.assert_allclose(out, src[2:9, 2:13], rtol=0, atol=1e-5)


def test_bspline3_mask_influence_spreads_invalid_pixels(case):
    src, gr, gc = case
    smask = np.ones(src.shape, np.uint8)
    smask[14, 17] = 0
    y, x, _ = full_res_coords(gr, gc, RES)
    rr, cc = np.mgrid[: src.shape[0], : src.shape[1]]
    for threshold in (1.0, 0.001, 0.05):
        radius = influence_radius(threshold)
        bad = (np.abs(rr - 14) + np.abs(cc - 17)) <= radius  # Manhattan dilation, as gridr
        expected = _taps_inside(y, x, src.shape, 0)
        fy, fx = np.floor(y).astype(int), np.floor(x).astype(int)
        for dy in range(-1, 3):
            for dx in range(-1, 3):
                wy = (dy < 2) | (y != fy)  # the fourth tap has weight 0 at an integer coordinate
                wx = (dx < 2) | (x != fx)
                ty, tx = np.clip(fy + dy, 0, src.shape[0] - 1), np.clip(fx + dx, 0, src.shape[1] - 1)
                expected &= ~(bad[ty, tx] & wy & wx)
        _, mask = array_grid_resampling(
            "bspline3", src, gr, gc, RES, None, array_out_mask=True, array_in_mask=smask,
            interp_kwargs={"epsilon": 1e-6, "mask_influence_threshold": threshold},
        )  # fmt: skip
        np.testing.assert_array_equal(mask.astype(bool), expected)
    assert influence_radius(1.0) == 0
    assert influence_radius(0.001) == 6  # ln(0.001) / ln(2 - sqrt(3)) = 5.2


def test_bspline3_agrees_with_gridr(case):
    gridr_core = pytest.importorskip("gridr.core.grid.grid_resampling")
    src, gr, gc = case
    kw = {"epsilon": 1e-10, "mask_influence_threshold": 0.001}
    for bc in ("reflect", "symmetric"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref, ref_mask = gridr_core.array_grid_resampling(
                interp="bspline3", array_in=src, grid_row=gr, grid_col=gc, grid_resolution=RES, array_out=None,
                array_out_mask=True, nodata_out=-9.0, interp_kwargs=kw, boundary_condition=bc, trust_padding=True,
            )  # fmt: skip
        out, mask = array_grid_resampling(
            "bspline3", src, gr, gc, RES, None, array_out_mask=True, nodata_out=-9.0, interp_kwargs=kw,
            boundary_condition=bc, trust_padding=True,
        )  # fmt: skip
        both = ref_mask == 1
        assert both.mean() > 0.5
        assert mask[both].all()  # gridr's validity is the more conservative one near the edges
        np.testing.assert_allclose(out[both], ref[both], rtol=0, atol=1e-9)


def test_interp_kwargs_like_gridr(case):
    src, gr, gc = case
    with pytest.raises(InvalidInputError, match=r"interp_kwargs.*takes no options"):
        array_grid_resampling("linear", src, gr, gc, RES, None, interp_kwargs={"epsilon": 1e-6})
    with pytest.raises(InvalidInputError, match="unknown option 'order'"):
        array_grid_resampling("bspline3", src, gr, gc, RES, None, interp_kwargs={"order": 3})
    with pytest.raises(InvalidInputError, match="mask_influence_threshold"):
        array_grid_resampling("bspline3", src, gr, gc, RES, None, interp_kwargs={"mask_influence_threshold": 0})
    with pytest.raises(InvalidInputError, match="epsilon"):
        array_grid_resampling("bspline3", src, gr, gc, RES, None, interp_kwargs={"epsilon": 2})
    a, _ = array_grid_resampling("bspline3", src, gr, gc, RES, None)
    b, _ = array_grid_resampling("bspline3", src, gr, gc, RES, None, interp_kwargs={"epsilon": 1e-3})
    np.testing.assert_array_equal(a, b)  # the prefilter is exact: epsilon is always met


def test_bspline3_is_not_streamed(case):
    src, gr, gc = case
    with pytest.raises(InvalidInputError, match="bspline3"):
        grid_resampling_blocks("bspline3", src, gr, gc, RES, chunks=8)


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic", "bspline3"])
def test_check_boundaries_false_is_a_promise(case, interp):
    src, gr, gc = case
    inside = (slice(3, 6), slice(3, 7))  # nodes whose taps are all inside the source
    g_r, g_c = np.ascontiguousarray(gr[inside]), np.ascontiguousarray(gc[inside])
    ref, ref_mask = array_grid_resampling(interp, src, g_r, g_c, RES, None, array_out_mask=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, mask = array_grid_resampling(interp, src, g_r, g_c, RES, None, array_out_mask=True, check_boundaries=False)
    assert ref_mask.all()
    np.testing.assert_array_equal(out, ref)
    # broken promise: gridr panics; eokit warns and checks anyway
    ref, ref_mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True)
    with pytest.warns(FallbackWarning, match="check_boundaries=False"):
        out, mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True, check_boundaries=False)
    assert not ref_mask.all()
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)
