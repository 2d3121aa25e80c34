"""Hand-computed conventions of eokit.resample.array_grid_resampling (gridr's conventions)."""

from __future__ import annotations

import numpy as np
import pytest

from eokit.errors import InvalidInputError
from eokit.resample import array_grid_resampling, grid_full_resolution_shape

SRC = np.arange(5 * 6, dtype=np.float64).reshape(5, 6) + 0.5 * np.arange(6) ** 2  # quadratic along columns


def sample_cols(interp, cols, row=1.0, src=SRC, **kw):
    cols = np.asarray(cols, dtype=np.float64)[None, :]
    rows = np.full_like(cols, row)
    return array_grid_resampling(interp, src, rows, cols, (1, 1), None, array_out_mask=True, nodata_out=-1, **kw)


def test_full_resolution_shape():
    assert grid_full_resolution_shape((400, 400), (10, 10)) == (3991, 3991)
    assert grid_full_resolution_shape((1, 7), (3, 2)) == (1, 13)
    with pytest.raises(InvalidInputError) as exc:
        grid_full_resolution_shape((4, 4), (0, 1))
    assert exc.value.param == "grid_resolution"


def test_nearest_ties_round_up_and_bounds():
    out, mask = sample_cols("nearest", [0.5, 1.5, -0.5, -0.49, 4.49, 5.49, 5.5, -0.51])
    # floor(x + 0.5): 0.5 -> 1, 1.5 -> 2, -0.5 -> 0, 5.49 -> 5; 5.5 -> 6 and -0.51 -> -1 are outside
    assert mask.ravel().tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    row = SRC[1]
    np.testing.assert_array_equal(out.ravel()[:6], [row[1], row[2], row[0], row[0], row[4], row[5]])
    assert out.ravel()[6] == -1


def test_linear_edges_zero_weight_taps_ignored():
    out, mask = sample_cols("linear", [0.0, 5.0, 4.25, -1e-9, 5.000001])
    assert mask.ravel().tolist() == [1, 1, 1, 0, 0]
    row = SRC[1]
    np.testing.assert_allclose(out.ravel()[:3], [row[0], row[5], 0.75 * row[4] + 0.25 * row[5]], rtol=0, atol=1e-12)


def test_keys_weights_hand_computed():
    # a = -0.5 at t = 0.25: w(1.25), w(0.25), w(0.75), w(1.75)
    w = np.array([-0.0703125, 0.8671875, 0.2265625, -0.0234375])
    src = np.zeros((7, 7))
    src[3, 2:6] = [1.0, 10.0, 100.0, 1000.0]
    out, mask = sample_cols("cubic", [3.25], row=3.0, src=src)
    assert mask.item() == 1
    assert out.item() == pytest.approx(w @ [1.0, 10.0, 100.0, 1000.0], abs=1e-12)
    # Keys a=-0.5 reproduces quadratics exactly
    out, _ = sample_cols("cubic", [1.5, 2.75], row=2.0)
    c = np.array([1.5, 2.75])
    np.testing.assert_allclose(out.ravel(), 12 + c + 0.5 * c**2, atol=1e-12)


def test_cubic_validity_at_edges():
    # integer coordinates only use the centre tap; otherwise taps floor-1..floor+2 must be inside
    _, mask = sample_cols("cubic", [0.0, 0.5, 1.0, 1.5, 4.0, 4.5, 5.0], row=2.0)
    assert mask.ravel().tolist() == [1, 0, 1, 1, 1, 0, 1]
    _, mask = sample_cols("cubic", [2.0, 2.0], row=0.5)
    assert mask.ravel().tolist() == [0, 0]


def test_coarse_grid_bilinear_and_shape():
    rows = np.array([[0.0, 0.0], [3.0, 3.0]])
    cols = np.array([[0.0, 4.0], [0.0, 4.0]])
    out, mask = array_grid_resampling("linear", SRC, rows, cols, (3, 4), None, array_out_mask=True)
    assert out.shape == (4, 5)
    assert mask.all()
    # output pixel (i, j) samples source (i, j) exactly here
    np.testing.assert_allclose(out, SRC[:4, :5], atol=1e-12)


def test_grid_mask_invalidates_nodes_with_weight():
    src = np.arange(72.0).reshape(8, 9)
    rows = np.repeat([[1.0], [3.0], [5.0]], 3, axis=1)
    cols = np.repeat([[1.0, 3.0, 5.0]], 3, axis=0)
    gm = np.ones((3, 3), np.uint8)
    gm[1, 1] = 0
    _, mask = array_grid_resampling("linear", src, rows, cols, (2, 2), None, array_out_mask=True, grid_mask=gm)
    expected = np.ones((5, 5), np.uint8)
    expected[1:4, 1:4] = 0
    np.testing.assert_array_equal(mask, expected)
    # grid_mask_valid_value selects which value means valid
    _, mask = array_grid_resampling(
        "linear", src, rows, cols, (2, 2), None, array_out_mask=True, grid_mask=1 - gm, grid_mask_valid_value=0
    )
    np.testing.assert_array_equal(mask, expected)


def test_grid_nodata_on_both_grids_and_nan():
    src = np.arange(72.0).reshape(8, 9)
    rows = np.repeat([[1.0], [3.0], [5.0]], 3, axis=1)
    cols = np.repeat([[1.0, 3.0, 5.0]], 3, axis=0)
    expected = np.ones((5, 5), np.uint8)
    expected[0:2, 3:5] = 0  # node (0, 2) has weight on output rows 0-1, cols 3-4
    for grid in ("row", "col"):
        r, c = rows.copy(), cols.copy()
        (r if grid == "row" else c)[0, 2] = 4.0  # inside the image, but flagged as nodata
        _, mask = array_grid_resampling("linear", src, r, c, (2, 2), None, array_out_mask=True, grid_nodata=4.0)
        np.testing.assert_array_equal(mask, expected, err_msg=grid)
    r, c = rows.copy(), cols.copy()
    c[0, 2] = np.nan
    out, mask = array_grid_resampling("linear", src, r, c, (2, 2), None, array_out_mask=True, nodata_out=-7)
    np.testing.assert_array_equal(mask, expected)
    assert (out[mask == 0] == -7).all()


def test_windows_and_array_out_win():
    src = np.arange(72.0).reshape(8, 9)
    rows = np.repeat([[1.0], [3.0], [5.0]], 3, axis=1)
    cols = np.repeat([[1.0, 3.0, 5.0]], 3, axis=0)
    full, _ = array_grid_resampling("linear", src, rows, cols, (2, 2), None)
    win = np.array([[1, 3], [2, 4]])
    part, _ = array_grid_resampling("linear", src, rows, cols, (2, 2), None, win=win)
    np.testing.assert_array_equal(part, full[1:4, 2:5])
    out = np.full((6, 6), -1.0)
    omask = np.full((6, 6), 7, np.uint8)
    ret = array_grid_resampling(
        "linear", src, rows, cols, (2, 2), out, win=win, array_out_win=[[2, 4], [1, 3]], array_out_mask=omask
    )
    assert ret == (None, None)
    np.testing.assert_array_equal(out[2:5, 1:4], full[1:4, 2:5])
    assert (out[:2] == -1).all() and (omask[:2] == 7).all() and (omask[2:5, 1:4] == 1).all()


def test_multiband_and_source_mask():
    rng = np.random.default_rng(0)
    src = rng.random((3, 10, 12))
    rows, cols = np.meshgrid([1.3, 4.6, 7.9], [0.7, 5.2, 9.8], indexing="ij")
    msk = np.ones((10, 12), np.uint8)
    msk[4, 5] = 0
    out, mask = array_grid_resampling("linear", src, rows, cols, (2, 3), None, array_out_mask=True, array_in_mask=msk)
    assert out.shape == (3, 5, 7)
    for b in range(3):
        single, m1 = array_grid_resampling(
            "linear", src[b], rows, cols, (2, 3), None, array_out_mask=True, array_in_mask=msk
        )
        np.testing.assert_array_equal(single, out[b])
        np.testing.assert_array_equal(m1, mask)
    assert 0 < mask.sum() < mask.size  # the masked pixel removes the outputs whose taps touch it


def test_float32_output_and_native_dtypes():
    rng = np.random.default_rng(1)
    src = (rng.random((9, 9)) * 200).astype(np.uint8)
    rows, cols = np.meshgrid([0.5, 3.25, 7.75], [1.5, 4.0, 6.5], indexing="ij")
    ref, mref = array_grid_resampling("cubic", src.astype(np.float64), rows, cols, (2, 2), None, array_out_mask=True)
    out, mask = array_grid_resampling("cubic", src, rows, cols, (2, 2), None, array_out_mask=True, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(mask, mref)
    np.testing.assert_allclose(out, ref, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interp": "bicubic-ish"},
        {"grid_resolution": (0, 1)},
        {"grid_col": np.zeros((3, 4))},
        {"grid_mask": np.ones((2, 2), np.uint8)},
        {"win": [[0, 99], [0, 1]]},
        {"array_out": np.zeros((2, 5, 5))},
        {"array_out": np.zeros((5, 5), np.int16)},
        {"array_in_mask": np.ones((3, 3), np.uint8)},
        {"array_in_mask": np.ones((5, 6), np.float32)},
        {"boundary_condition": "mirror"},
        {"array_in_origin": (1.0, 0.0)},
        {"interp_kwargs": {"epsilon": 1e-3}},
    ],
)
def test_bad_input_names_the_argument(kwargs):
    args = dict(
        interp="linear",
        array_in=SRC,
        grid_row=np.zeros((3, 3)),
        grid_col=np.zeros((3, 3)),
        grid_resolution=(2, 2),
        array_out=None,
    )
    args.update(kwargs)
    with pytest.raises(InvalidInputError) as err:
        array_grid_resampling(**args)
    name = next(iter(kwargs))
    assert name.split("_")[0] in str(err.value)


@pytest.mark.parametrize("gshape,res", [((1, 1), (3, 3)), ((1, 4), (3, 2)), ((4, 1), (2, 5))])
def test_one_node_along_an_axis_needs_resolution_one(gshape, res):
    """As gridr (InsufficientGridCoverage): oversampling along an axis needs two nodes along it."""
    rows, cols = np.full(gshape, 2.5), np.full(gshape, 3.25)
    with pytest.raises(InvalidInputError) as err:
        array_grid_resampling("cubic", SRC, rows, cols, res, None, array_out_mask=True)
    assert err.value.param == "grid_resolution"


@pytest.mark.parametrize("gshape,res", [((1, 1), (1, 1)), ((1, 4), (1, 2)), ((4, 1), (2, 1))])
def test_degenerate_grids_keep_their_shape(gshape, res):
    rows, cols = np.full(gshape, 2.5), np.full(gshape, 3.25)
    out, mask = array_grid_resampling("cubic", SRC, rows, cols, res, None, array_out_mask=True)
    assert out.shape == mask.shape == grid_full_resolution_shape(gshape, res)
    assert mask.all()
    c = 3.25
    np.testing.assert_allclose(out, sample_cols("cubic", [c], row=2.5)[0].item())
