"""Block-wise connected-component labelling equals scipy.ndimage.label on the whole array."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster
from eokit.urban.labels import label, label_raster, structure_for


@settings(max_examples=60, deadline=None)
@given(
    mask=arrays(bool, st.tuples(st.integers(1, 30), st.integers(1, 30))),
    brows=st.integers(1, 12),
    bcols=st.integers(1, 12),
    connectivity=st.sampled_from([4, 8]),
)
def test_blockwise_equals_whole_array(mask, brows, bcols, connectivity):
    got, n = label(mask, connectivity=connectivity, block_shape=(brows, bcols))
    want, nw = ndimage.label(mask, structure=structure_for(connectivity))
    assert n == nw
    np.testing.assert_array_equal(got, want)


def test_spiral_crossing_many_blocks():
    # one long snake that crosses every block boundary several times
    m = np.zeros((40, 40), bool)
    m[::4, :] = True
    for r in range(0, 36, 8):
        m[r : r + 5, 39] = True
        m[r + 4 : r + 9, 0] = True
    got, n = label(m, connectivity=4, block_shape=(3, 5))
    want, nw = ndimage.label(m)
    assert n == nw == 1
    np.testing.assert_array_equal(got, want)


def test_diagonal_only_joins_with_8():
    m = np.eye(6, dtype=bool)
    assert label(m, connectivity=4, block_shape=2)[1] == 6
    assert label(m, connectivity=8, block_shape=2)[1] == 1


def test_dask_input_matches_numpy():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(3)
    m = rng.random((50, 37)) < 0.45
    want, nw = ndimage.label(m, structure=structure_for(8))
    got, n = label(da.from_array(m, chunks=(7, 9)), connectivity=8)
    assert n == nw
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "scheduler",
    [
        "synchronous",
        "threads",
        pytest.param("processes", marks=pytest.mark.slow),
        pytest.param("local", marks=pytest.mark.slow),
    ],
)
def test_label_raster_out_of_core(tmp_path, scheduler):
    import rasterio

    from eokit.urban.labels import threshold_predicate

    rng = np.random.default_rng(5)
    data = rng.random((90, 70)).astype("float32")
    src = write_test_raster(tmp_path / "v.tif", data, transform=Affine(10, 0, 0, 0, -10, 0))
    n = label_raster(
        src,
        tmp_path / "lab.tif",
        threshold_predicate(0.5),
        connectivity=8,
        block_shape=16,
        scheduler=scheduler,
        workers=2,
    )
    want, nw = ndimage.label(data >= 0.5, structure=structure_for(8))
    with rasterio.open(tmp_path / "lab.tif") as ds:
        got = ds.read(1)
    assert n == nw
    np.testing.assert_array_equal(got, want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.tif", "v.tif"]


def test_bad_connectivity():
    with pytest.raises(InvalidInputError):
        label(np.ones((3, 3), bool), connectivity=6)
    with pytest.raises(InvalidInputError):
        label(np.ones(3, bool))
