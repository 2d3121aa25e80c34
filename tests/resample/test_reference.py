"""Agreement with independent references: scipy map_coordinates and pure-numpy kernels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import map_coordinates

from eokit.resample import array_grid_resampling
from eokit.resample.core import node_validity
from eokit.testing.resample_grids import distorted_grid

from ._reference import full_res_coords, node_ok, sample

SHAPE, RES = (9, 11), (4, 3)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(42)
    src = rng.normal(size=(48, 40))
    gr, gc = distorted_grid(SHAPE, RES, origin=(-3.0, -4.0), angle=0.25, scale=1.1, noise=0.6, seed=3)
    return src, gr, gc


@pytest.mark.parametrize(
    "order,interp,mode",
    # order 0: a pixel covers [k - 0.5, k + 0.5), so the domain is the grid's ("grid-constant")
    [(0, "nearest", "grid-constant"), (1, "linear", "constant")],
)
def test_matches_scipy_map_coordinates(case, order, interp, mode):
    src, gr, gc = case
    y, x, _ = full_res_coords(gr, gc, RES)
    ref = map_coordinates(src, [y, x], order=order, mode=mode, cval=np.nan, prefilter=False)
    out, mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True, nodata_out=np.nan)
    valid = np.isfinite(ref)
    assert 0.2 < valid.mean() < 1.0  # both inside and outside pixels are exercised
    np.testing.assert_array_equal(mask.astype(bool), valid)
    np.testing.assert_allclose(out[valid], ref[valid], rtol=0, atol=1e-10)


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic", "lanczos3"])
def test_matches_numpy_reference_with_masks(case, interp):
    src, gr, gc = case
    rng = np.random.default_rng(7)
    smask = (rng.random(src.shape) > 0.03).astype(np.uint8)
    gmask = (rng.random(gr.shape) > 0.1).astype(np.uint8)
    win = ((3, 30), (2, 27))
    y, x, parts = full_res_coords(gr, gc, RES, win)
    ref, ok = sample(src, y, x, interp, smask)
    ok &= node_ok(node_validity(gr, gc, gmask, 1, None), parts)
    out, mask = array_grid_resampling(
        interp, src, gr, gc, RES, None, array_out_mask=True, win=np.array(win), array_in_mask=smask, grid_mask=gmask
    )
    np.testing.assert_array_equal(mask.astype(bool), ok)
    np.testing.assert_allclose(out[ok], ref[ok], rtol=0, atol=1e-10)
    assert (out[~ok] == 0).all()


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("interp", ["linear", "cubic"])
def test_boundary_conditions_match_padded_reference(mode, interp):
    rng = np.random.default_rng(11)
    src = rng.random((12, 14))
    gr, gc = distorted_grid((6, 7), (3, 3), origin=(-4.0, -5.0), angle=0.1, scale=1.2, noise=0.5, seed=1)
    margin = {"linear": 1, "cubic": 2}[interp]
    pad = 40
    padded = np.pad(src, pad, mode=mode)
    y, x, _ = full_res_coords(gr, gc, (3, 3))
    ref, _ = sample(padded, y + pad, x + pad, interp)
    # the source is extended by the kernel margin only: taps beyond it stay invalid
    inner = np.zeros(padded.shape, np.uint8)
    inner[pad - margin : pad + 12 + margin, pad - margin : pad + 14 + margin] = 1
    _, ok = sample(padded, y + pad, x + pad, interp, inner)
    out, mask = array_grid_resampling(
        interp, src, gr, gc, (3, 3), None, array_out_mask=True, boundary_condition=mode, trust_padding=True
    )
    assert ok.any() and not ok.all()
    np.testing.assert_array_equal(mask.astype(bool), ok)
    np.testing.assert_allclose(out[ok], ref[ok], rtol=0, atol=1e-10)
    # untrusted padding is the same as no boundary condition
    _, m_none = array_grid_resampling(interp, src, gr, gc, (3, 3), None, array_out_mask=True)
    _, m_untrusted = array_grid_resampling(
        interp, src, gr, gc, (3, 3), None, array_out_mask=True, boundary_condition=mode, trust_padding=False
    )
    np.testing.assert_array_equal(m_none, m_untrusted)


@settings(max_examples=25, deadline=None)
@given(
    value=st.floats(-1e6, 1e6, allow_nan=False),
    interp=st.sampled_from(["nearest", "linear", "cubic", "lanczos3"]),
    res=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 2**16),
)
def test_constant_image_stays_constant(value, interp, res, seed):
    """Every kernel is normalised: a constant image resamples to the same constant where valid."""
    src = np.full((20, 20), value)
    gr, gc = distorted_grid((4, 4), res, origin=(2.0, 3.0), angle=0.4, scale=0.8, noise=1.0, seed=seed)
    out, mask = array_grid_resampling(interp, src, gr, gc, res, None, array_out_mask=True, nodata_out=np.nan)
    np.testing.assert_allclose(out[mask == 1], value, rtol=1e-12, atol=1e-9)
    assert np.isnan(out[mask == 0]).all()


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    res=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    data=st.data(),
)
def test_any_window_equals_the_crop_of_the_full_output(shape, res, data):
    res = tuple(r if n > 1 else 1 for r, n in zip(res, shape, strict=True))  # one node: resolution 1 (gridr)
    rng = np.random.default_rng(0)
    src = rng.random((30, 30))
    gr, gc = distorted_grid(shape, res, origin=(3.0, 2.0), noise=0.8, seed=5)
    full, fmask = array_grid_resampling("cubic", src, gr, gc, res, None, array_out_mask=True)
    full = full.reshape(fmask.shape)
    h, w = fmask.shape
    r0 = data.draw(st.integers(0, h - 1))
    r1 = data.draw(st.integers(r0, h - 1))
    c0 = data.draw(st.integers(0, w - 1))
    c1 = data.draw(st.integers(c0, w - 1))
    out = np.empty((1, r1 - r0 + 1, c1 - c0 + 1))
    omask = np.empty(out.shape[1:], np.uint8)
    array_grid_resampling("cubic", src, gr, gc, res, out, win=[[r0, r1], [c0, c1]], array_out_mask=omask)
    np.testing.assert_array_equal(out[0], full[r0 : r1 + 1, c0 : c1 + 1])
    np.testing.assert_array_equal(omask, fmask[r0 : r1 + 1, c0 : c1 + 1])


@pytest.mark.parametrize("bands", [1, 2])
def test_nearest_wide_rows_masks_and_window(bands):
    # wider than the nearest kernel's column chunk (2048), so sure cells, runs of them, partial
    # segments at the window edges and per-pixel cells all meet chunk boundaries
    rng = np.random.default_rng(11)
    src = rng.normal(size=(bands, 40, 700)).astype(np.float32)
    gr, gc = distorted_grid(
        (4, 260), (3, 10), origin=(3.0, -8.0), angle=0.0, scale=0.27, shear=0.0, distortion=1.0, noise=0.3, seed=5
    )
    smask = (rng.random(src.shape[1:]) > 0.002).astype(np.uint8)
    gmask = (rng.random(gr.shape) > 0.02).astype(np.uint8)
    win = ((1, 8), (3, 2585))
    y, x, parts = full_res_coords(gr, gc, (3, 10), win)
    ok_nodes = node_ok(node_validity(gr, gc, gmask, 1, None), parts)
    out, mask = array_grid_resampling(
        "nearest", src if bands > 1 else src[0], gr, gc, (3, 10), None, array_out_mask=True, win=np.array(win),
        array_in_mask=smask, grid_mask=gmask, nodata_out=-7.0,
    )  # fmt: skip
    out = out.reshape(bands, *mask.shape)
    for b in range(bands):
        ref, ok = sample(src[b], y, x, "nearest", smask)
        ok &= ok_nodes
        assert 0.5 < ok.mean() < 1.0
        np.testing.assert_array_equal(mask.astype(bool), ok)
        np.testing.assert_array_equal(out[b][ok], ref[ok])
        assert (out[b][~ok] == -7.0).all()
