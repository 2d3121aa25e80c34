"""numpy vs dask: the block-wise (dask) resampling equals the in-memory one."""

from __future__ import annotations

import numpy as np
import pytest

from eokit.errors import InvalidInputError
from eokit.resample import array_grid_resampling, grid_resampling_blocks
from eokit.testing import assert_numpy_dask_equal
from eokit.testing.resample_grids import distorted_grid

pytest.importorskip("dask.array")

RES = (3, 4)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(8)
    src = rng.random((2, 30, 32))
    gr, gc = distorted_grid((8, 9), RES, origin=(-2.0, -3.0), angle=0.2, noise=0.5, seed=6)
    mask = (rng.random((30, 32)) > 0.05).astype(np.uint8)
    return src, gr, gc, mask


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic", "lanczos3"])
@pytest.mark.parametrize("what", [0, 1])  # values, mask
def test_numpy_equals_dask_with_chunks_smaller_than_the_kernel(case, interp, what):
    src, gr, gc, mask = case
    win = np.array([[2, 18], [1, 30]])

    def resample(data):
        kw = dict(nodata_out=-1.0, win=win, array_in_mask=mask)
        if isinstance(data, np.ndarray):
            res = array_grid_resampling(interp, data, gr, gc, RES, None, array_out_mask=True, **kw)
        else:
            res = grid_resampling_blocks(interp, data, gr, gc, RES, chunks=(4, 5), **kw)
        return res[what]

    # source chunks of 2 pixels: every cubic/lanczos stencil straddles chunk borders
    assert_numpy_dask_equal(resample, src, chunks=(2, 2, 2))
    assert_numpy_dask_equal(resample, src[0], chunks=(3, 2))


@pytest.mark.parametrize(
    "interp,kw", [("bspline3", {"epsilon": 1e-6}), ("bspline5", {"epsilon": 1e-4, "mask_influence_threshold": 0.3})]
)
def test_bsplines_numpy_equal_dask_to_gridr_suite_tolerance(case, interp, kw):
    """Chunks prefilter their own window: equal to the whole array to 1e-6, same validity."""
    src, gr, gc, _ = case
    mask = np.ones(src.shape[1:], np.uint8)
    mask[12:14, 15] = 0
    args = dict(nodata_out=-1.0, array_in_mask=mask, interp_kwargs=kw)
    ref, ref_mask = array_grid_resampling(interp, src, gr, gc, RES, None, array_out_mask=True, **args)
    da = pytest.importorskip("dask.array")
    out, omask = grid_resampling_blocks(
        interp, da.from_array(src, chunks=(2, 7, 7)), gr, gc, RES, chunks=(5, 6), **args
    )
    assert 0 < ref_mask.mean() < 1
    np.testing.assert_array_equal(omask.compute(), ref_mask)
    np.testing.assert_allclose(out.compute(), ref, rtol=0, atol=1e-6)


def test_blocks_reject_bad_chunks(case):
    src, gr, gc, _ = case
    with pytest.raises(InvalidInputError) as exc:
        grid_resampling_blocks("linear", src, gr, gc, RES, chunks=0)
    assert exc.value.param == "chunks"
