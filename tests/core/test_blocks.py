import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from eokit.core import apply_blocks, iter_blocks
from eokit.errors import InvalidInputError
from eokit.testing.blockfuncs import box_sum3


@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    brows=st.integers(1, 17),
    bcols=st.integers(1, 17),
    halo=st.integers(0, 5),
)
@settings(max_examples=80, deadline=None)
def test_blocks_tile_the_grid_exactly_once(rows, cols, brows, bcols, halo):
    count = np.zeros((rows, cols), dtype=int)
    for b in iter_blocks((rows, cols), (brows, bcols), halo=halo):
        count[b.core] += 1
        # the read window contains the core plus up to `halo` on each side, clipped
        assert b.read_row == max(0, b.row - halo)
        assert b.read_col == max(0, b.col - halo)
        assert b.read_row + b.read_height == min(rows, b.row + b.height + halo)
        assert b.read_col + b.read_width == min(cols, b.col + b.width + halo)
    assert (count == 1).all()


@given(
    rows=st.integers(1, 30),
    cols=st.integers(1, 30),
    block=st.integers(1, 12),
    radius=st.integers(0, 3),
)
@settings(max_examples=60, deadline=None)
def test_neighbourhood_op_with_halo_equals_whole_array(rows, cols, block, radius):
    rng = np.random.default_rng(rows * 100 + cols)
    data = rng.random((rows, cols))
    size = 2 * radius + 1
    expected = ndimage.uniform_filter(data, size=size, mode="constant", cval=0.0)

    def op(a, b):
        return ndimage.uniform_filter(a, size=size, mode="constant", cval=0.0)

    # edge blocks see the true grid edge (clipped read window), so zero padding matches
    got = apply_blocks(op, data, block_shape=block, halo=radius)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_too_small_halo_is_detectably_wrong():
    # guards the test above from passing trivially: halo 0 must differ for a 3x3 op
    data = np.arange(100, dtype=float).reshape(10, 10)
    whole = box_sum3(data)
    blocked = apply_blocks(lambda a, b: box_sum3(a), data, block_shape=4, halo=0)
    assert not np.allclose(whole, blocked)
    blocked1 = apply_blocks(lambda a, b: box_sum3(a), data, block_shape=4, halo=1)
    np.testing.assert_array_equal(whole, blocked1)


def test_multiband_blocks_pass_leading_axes():
    data = np.random.default_rng(0).random((3, 9, 7))
    got = apply_blocks(lambda a, b: box_sum3(a), data, block_shape=(4, 3), halo=1)
    np.testing.assert_allclose(got, box_sum3(data))


@pytest.mark.parametrize("kwargs", [{"block_shape": 0}, {"halo": -1}, {"block_shape": (1, 2, 3)}])
def test_bad_block_arguments(kwargs):
    with pytest.raises(InvalidInputError):
        list(iter_blocks((5, 5), **kwargs))
