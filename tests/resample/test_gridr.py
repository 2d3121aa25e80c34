"""Agreement with CNES gridr 0.7.0 itself (a test dependency), run in the test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from eokit.resample import array_grid_resampling
from eokit.testing.resample_grids import distorted_grid

gridr_core = pytest.importorskip("gridr.core.grid.grid_resampling")

RES = (4, 5)


def _gridr(interp, src, gr, gc, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gridr_core.array_grid_resampling(
            interp=interp,
            array_in=np.ascontiguousarray(src, dtype=np.float64),
            grid_row=gr,
            grid_col=gc,
            grid_resolution=RES,
            array_out=None,
            array_out_mask=True,
            nodata_out=-99.0,
            **kw,
        )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2024)
    src = rng.normal(100, 30, size=(3, 50, 60))
    gr, gc = distorted_grid((10, 12), RES, origin=(-4.0, -6.0), angle=0.2, scale=1.05, noise=0.7, seed=9)
    smask = (rng.random((50, 60)) > 0.02).astype(np.uint8)
    gmask = (rng.random((10, 12)) > 0.08).astype(np.uint8)
    return src, gr, gc, smask, gmask


CASES = {
    "plain": {},
    "window": {"win": np.array([[3, 33], [7, 48]])},
    "src_mask": {"array_in_mask": "smask"},
    "grid_mask": {"grid_mask": "gmask"},
    "grid_mask_valid0": {"grid_mask": "gmask0", "grid_mask_valid_value": 0},
    "both_masks_window": {"array_in_mask": "smask", "grid_mask": "gmask", "win": np.array([[0, 20], [11, 55]])},
    "edge": {"boundary_condition": "edge", "trust_padding": True},
    "reflect_mask": {"boundary_condition": "reflect", "trust_padding": True, "array_in_mask": "smask"},
    "wrap": {"boundary_condition": "wrap", "trust_padding": True},
    "symmetric_untrusted": {"boundary_condition": "symmetric", "trust_padding": False},
}


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("bands", [1, 3])
def test_same_values_and_masks_as_gridr(data, interp, case, bands):
    src, gr, gc, smask, gmask = data
    src = src[0] if bands == 1 else src
    kw = dict(CASES[case])
    subst = {"smask": smask, "gmask": gmask, "gmask0": 1 - gmask}
    kw = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in kw.items()}
    ref, ref_mask = _gridr(interp, src, gr, gc, **kw)
    out, mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True, nodata_out=-99.0, **kw)
    assert 0 < ref_mask.sum() < ref_mask.size
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


def test_array_out_win_and_float32_source_like_gridr(data):
    src, gr, gc, _, _ = data
    win = np.array([[5, 25], [4, 40]])
    ref = np.full((3, 30, 45), 5.0)
    ref_mask = np.full((30, 45), 9, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gridr_core.array_grid_resampling(
            interp="cubic",
            array_in=np.ascontiguousarray(src.astype(np.float32), dtype=np.float64),
            grid_row=gr,
            grid_col=gc,
            grid_resolution=RES,
            array_out=ref,
            array_out_win=np.array([[2, 22], [1, 37]]),
            win=win,
            array_out_mask=ref_mask,
        )
    out = np.full((3, 30, 45), 5.0)
    omask = np.full((30, 45), 9, np.uint8)
    array_grid_resampling(
        "cubic", src.astype(np.float32), gr, gc, RES, out, array_out_win=[[2, 22], [1, 37]], win=win,
        array_out_mask=omask,
    )  # fmt: skip
    np.testing.assert_array_equal(omask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
def test_integrated_mode_origin_like_gridr(data, interp):
    """standalone=False: array_in_origin is added to the coordinates; taps outside are invalid."""
    src, gr, gc, smask, _ = data
    kw = dict(standalone=False, array_in_origin=(1.5, -2.25), array_in_mask=smask)
    ref, ref_mask = _gridr(interp, src[0], gr, gc, **kw)
    out, mask = array_grid_resampling(interp, src[0], gr, gc, RES, None, array_out_mask=True, nodata_out=-99.0, **kw)
    assert 0 < ref_mask.sum() < ref_mask.size
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


def test_gridr_interpolator_objects_and_enums_are_accepted(data):
    from gridr.cdylib import PyInterpolatorType
    from gridr.core.interp.interpolator import get_interpolator

    src, gr, gc, _, _ = data
    ref, _ = array_grid_resampling("cubic", src[0], gr, gc, RES, None)
    for ident in (get_interpolator("cubic"), PyInterpolatorType.OptimizedBicubic, "CUBIC"):
        out, _ = array_grid_resampling(ident, src[0], gr, gc, RES, None)
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("interp", ["nearest", "linear"])
def test_sparse_source_mask_like_gridr(interp):
    # mostly valid source: whole grid cells then skip per-pixel checks (all-valid mask blocks)
    # while cells near the invalid patch and pixels, and near the edges, are checked one by one
    rng = np.random.default_rng(31)
    src = rng.normal(50, 20, size=(140, 150))
    smask = np.ones(src.shape, np.uint8)
    smask[60:67, 70:90] = 0
    smask[rng.integers(0, 140, 8), rng.integers(0, 150, 8)] = 0
    gr, gc = distorted_grid((30, 33), RES, origin=(-3.0, -5.0), angle=0.15, scale=1.02, noise=0.3, seed=4)
    ref, ref_mask = _gridr(interp, src, gr, gc, array_in_mask=smask)
    out, mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True, nodata_out=-99.0,
                                      array_in_mask=smask)  # fmt: skip
    assert 0.5 < ref_mask.mean() < 0.99
    np.testing.assert_array_equal(mask, ref_mask)
    valid = ref_mask == 1
    np.testing.assert_allclose(out[valid], ref[valid], rtol=0, atol=1e-9)
    assert np.all(out[~valid] == -99.0)
