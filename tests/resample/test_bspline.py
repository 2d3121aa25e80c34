"""B-splines of orders 3 to 11 (gridr's truncated prefilter), interp_kwargs and check_boundaries."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.interpolate import BSpline
from scipy.ndimage import map_coordinates

from eokit.errors import FallbackWarning, InvalidInputError
from eokit.resample import array_grid_resampling, get_interpolator
from eokit.resample.bspline import influence_radius, total_margin
from eokit.testing.resample_grids import distorted_grid

from ._reference import full_res_coords

RES = (4, 4)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 34))
    gr, gc = distorted_grid((8, 9), RES, origin=(-2.5, -2.0), angle=0.2, scale=1.05, noise=0.4, seed=2)
    return src, gr, gc


ORDERS = (3, 5, 7, 9, 11)
# (boundary_condition, trust_padding, source mask?, mask_influence_threshold)
GRIDR_CASES = {
    "reflect_trusted": ("reflect", True, False, 0.001),
    "symmetric_untrusted_mask": ("symmetric", False, True, 0.001),
    "none_mask_no_dilation": (None, False, True, 1.0),
    "constant_trusted_mask": ("constant", True, True, 0.01),
    "wrap_trusted": ("wrap", True, False, 0.001),
}


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(5)
    src = rng.normal(100, 20, size=(2, 70, 80))
    gr, gc = distorted_grid((12, 14), RES, origin=(-3.0, -4.0), angle=0.15, scale=1.2, noise=0.5, seed=3)
    mask = np.ones((70, 80), np.uint8)
    mask[rng.integers(0, 70, 5), rng.integers(0, 80, 5)] = 0
    mask[30:33, 40:42] = 0
    return src, gr, gc, mask


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", list(GRIDR_CASES))
def test_bspline_same_values_and_masks_as_gridr(big, order, case):
    """gridr's truncated prefilter, mask dilation, padding and border semantics, run side by side."""
    gridr_core = pytest.importorskip("gridr.core.grid.grid_resampling")
    src, gr, gc, smask = big
    bc, trust, use_mask, thr = GRIDR_CASES[case]
    kw = {"epsilon": 1e-4, "mask_influence_threshold": thr}
    common = dict(
        grid_resolution=RES, array_out=None, array_out_mask=True, nodata_out=-9.0, interp_kwargs=kw,
        boundary_condition=bc, trust_padding=trust, array_in_mask=smask if use_mask else None,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ref_mask = gridr_core.array_grid_resampling(
            interp=f"bspline{order}", array_in=src, grid_row=gr, grid_col=gc, **common
        )
    out, mask = array_grid_resampling(f"bspline{order}", src, gr, gc, **common)
    assert ref_mask.mean() < 1.0
    if order <= 7:  # higher orders' margins (and dilation) leave nothing valid in some cases: masks agree still
        assert ref_mask.mean() > 0.05
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-8)


@pytest.mark.parametrize("order", (3, 5))
def test_bspline_interior_equals_exact_prefilter(big, order):
    """Far from the borders, the truncated prefilter at epsilon=1e-10 is scipy's exact one."""
    src, gr, gc, _ = big
    y, x, _ = full_res_coords(gr, gc, RES)
    ref = map_coordinates(src[0], [y, x], order=order, mode="mirror", prefilter=True)
    out, mask = array_grid_resampling(
        f"bspline{order}", src[0], gr, gc, RES, None, array_out_mask=True, boundary_condition="reflect",
        interp_kwargs={"epsilon": 1e-10},
    )  # fmt: skip
    assert mask.mean() > 0.3
    valid = mask == 1
    np.testing.assert_allclose(out[valid], ref[valid], rtol=0, atol=1e-6)


@pytest.mark.parametrize("order", ORDERS)
def test_bspline_reproduces_a_ramp_in_the_interior(order):
    """Splines of order n reproduce polynomials of degree <= n: a ramp sampled far from the edges."""
    rows, cols = np.mgrid[0:160, 0:160].astype(np.float64)
    src = 0.3 * rows - 0.2 * cols + 5.0
    gr, gc = distorted_grid((6, 6), RES, origin=(70.0, 70.0), angle=0.3, scale=0.9, noise=0.4, seed=1)
    y, x, _ = full_res_coords(gr, gc, RES)
    out, mask = array_grid_resampling(
        f"bspline{order}", src, gr, gc, RES, None, array_out_mask=True, boundary_condition="symmetric",
        interp_kwargs={"epsilon": 1e-10},
    )  # fmt: skip
    assert mask.all()
    np.testing.assert_allclose(out, 0.3 * y - 0.2 * x + 5.0, rtol=0, atol=1e-6)


def test_bspline_integer_coordinates_interpolate_the_samples():
    src = np.random.default_rng(0).normal(size=(40, 40))
    rows, cols = np.meshgrid(np.arange(10.0, 30.0), np.arange(10.0, 30.0), indexing="ij")
    for order in ORDERS:
        out, mask = array_grid_resampling(
            f"bspline{order}", src, rows, cols, (1, 1), None, array_out_mask=True, boundary_condition="symmetric",
            interp_kwargs={"epsilon": 1e-9},
        )  # fmt: skip
        assert mask.all()
        np.testing.assert_allclose(out, src[10:30, 10:30], rtol=0, atol=1e-7)


def test_bspline_margins_like_gridr():
    gridr_interp = pytest.importorskip("gridr.core.interp.interpolator")
    for order in ORDERS:
        for eps in (1e-2, 1e-6, 1e-12):
            ref = gridr_interp.get_interpolator(f"bspline{order}", epsilon=eps, mask_influence_threshold=1.0)
            ref.initialize()
            assert get_interpolator(f"bspline{order}", epsilon=eps).total_margins() == list(ref.total_margins())
    assert total_margin(3, 1e-2) == 7
    # the influence radius is ln(threshold) / ln|z_0| (z_0 = sqrt(3) - 2 for order 3)
    assert influence_radius(3, 0.001) == pytest.approx(math.log(0.001) / math.log(2 - math.sqrt(3)))
    assert influence_radius(5, 1.0) == 0


def test_interp_kwargs_like_gridr(case):
    src, gr, gc = case
    cases = [
        ("linear", {"epsilon": 1e-6}, "interp_kwargs"),
        ("bspline3", {"order": 3}, "interp_kwargs"),
        ("bspline3", {"mask_influence_threshold": 0}, "mask_influence_threshold"),
        ("bspline5", {"epsilon": 2}, "epsilon"),
        ("bspline4", None, "interp"),
    ]
    for interp, kw, param in cases:
        with pytest.raises(InvalidInputError) as exc:
            array_grid_resampling(interp, src, gr, gc, RES, None, interp_kwargs=kw)
        assert exc.value.param == param


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
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


@pytest.mark.parametrize("mode", [None, "constant", "edge", "reflect", "symmetric", "wrap"])
def test_prefilter_pads_as_numpy_pad(mode):
    """Padding inside the prefilter's load pass equals numpy.pad first (any dtype; large pads reflect again)."""
    from eokit.resample.bspline import prefilter

    rng = np.random.default_rng(7)
    src = rng.integers(0, 200, size=(2, 40, 37)).astype(np.uint8)
    pw = ((3, 45), (41, 2))  # wider than the source along both axes
    padded = np.pad(src.astype(np.float64), ((0, 0), *pw), mode=mode or "constant")
    got = prefilter(src, 5, 1e-6, pad=pw, mode=mode, crop=(30, 31, 32, 33))
    ref = prefilter(padded, 5, 1e-6, crop=(30, 31, 32, 33))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("order", ORDERS)
def test_bspline_weight_polynomials(order):
    """The kernels' weight polynomials are scipy's B-spline basis element at the tap distances."""
    from eokit.resample._bspline_kernels import bspline_polynomials

    poly = bspline_polynomials(order)
    for t in (0.0, 0.1, 0.37, 0.5, 0.999):
        w = np.array([np.polyval(row[::-1], t) for row in poly])
        d = t + (order - 1) / 2 - np.arange(order + 1)
        ref = BSpline.basis_element(np.arange(order + 2) - (order + 1) / 2, extrapolate=False)(d)
        np.testing.assert_allclose(w, ref, rtol=0, atol=1e-13)


def test_quintic_weights_written_out_equal_scipy():
    """The order-5 kernel's written-out weights (kept in registers) are scipy's basis element too."""
    from eokit.resample._bspline_kernels import _bspline5_taps

    element = BSpline.basis_element(np.arange(7) - 3.0, extrapolate=False)
    for x in (7.0, 7.1, 7.37, 7.5, 7.999, -3.25):
        base, last, *w = _bspline5_taps(x)
        t = x - np.floor(x)
        assert base == np.floor(x) - 2 and last == base + (5 if t else 4)
        ref = np.nan_to_num(element(t + 2 - np.arange(6)))
        np.testing.assert_allclose(w, ref, rtol=0, atol=1e-15)
