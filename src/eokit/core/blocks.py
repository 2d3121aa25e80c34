"""Block (window) iteration over 2-D grids, with an optional halo.

A :class:`Block` is one tile of the output grid (its *core*) plus the larger
window that must be read so a neighbourhood operation of reach ``halo`` sees
every pixel it needs (the *read window*, clipped at the grid's edges). Running
``func`` on each read window and keeping only the core reproduces the
whole-array result for any operation whose reach is at most ``halo``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from eokit.errors import InvalidInputError

__all__ = ["Block", "apply_blocks", "iter_blocks"]


@dataclasses.dataclass(frozen=True)
class Block:
    """One block: a core window and the halo-padded window to read.

    All windows are ``(row_off, col_off, height, width)`` in grid pixels.
    """

    row: int
    col: int
    height: int
    width: int
    read_row: int
    read_col: int
    read_height: int
    read_width: int

    @property
    def core(self) -> tuple[slice, slice]:
        """Slices of the core in the whole grid."""
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)

    @property
    def read(self) -> tuple[slice, slice]:
        """Slices of the read window in the whole grid."""
        return (
            slice(self.read_row, self.read_row + self.read_height),
            slice(self.read_col, self.read_col + self.read_width),
        )

    @property
    def inner(self) -> tuple[slice, slice]:
        """Slices of the core inside an array holding the read window."""
        r0 = self.row - self.read_row
        c0 = self.col - self.read_col
        return slice(r0, r0 + self.height), slice(c0, c0 + self.width)

    def window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The core as rasterio-style ``((row_start, row_stop), (col_start, col_stop))``."""
        return (self.row, self.row + self.height), (self.col, self.col + self.width)

    def read_window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The read window as ``((row_start, row_stop), (col_start, col_stop))``."""
        return (
            (self.read_row, self.read_row + self.read_height),
            (self.read_col, self.read_col + self.read_width),
        )


def _as_pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2:
        raise InvalidInputError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def iter_blocks(
    shape: tuple[int, int],
    block_shape: int | tuple[int, int] = 1024,
    *,
    halo: int | tuple[int, int] = 0,
) -> Iterator[Block]:
    """Yield the blocks that tile a grid of ``shape`` in row-major order.

    Parameters
    ----------
    shape : (rows, cols)
        Grid shape.
    block_shape : int or (rows, cols)
        Core size of each block; edge blocks are smaller.
    halo : int or (rows, cols)
        Extra pixels read on every side of each core (clipped at the grid edge).

    Examples
    --------
    >>> [b.window() for b in iter_blocks((3, 5), 2)][:2]
    [((0, 2), (0, 2)), ((0, 2), (2, 4))]
    """
    rows, cols = _as_pair(shape, "shape")
    brows, bcols = _as_pair(block_shape, "block_shape")
    hrows, hcols = _as_pair(halo, "halo")
    if brows < 1 or bcols < 1:
        raise InvalidInputError(f"block_shape must be >= 1 pixel, got {block_shape!r}")
    if hrows < 0 or hcols < 0:
        raise InvalidInputError(f"halo must be >= 0, got {halo!r}")
    for r in range(0, rows, brows):
        h = min(brows, rows - r)
        rr0, rr1 = max(0, r - hrows), min(rows, r + h + hrows)
        for c in range(0, cols, bcols):
            w = min(bcols, cols - c)
            cc0, cc1 = max(0, c - hcols), min(cols, c + w + hcols)
            yield Block(r, c, h, w, rr0, cc0, rr1 - rr0, cc1 - cc0)


def apply_blocks(
    func: Callable[[np.ndarray, Block], np.ndarray],
    array: np.ndarray,
    *,
    block_shape: int | tuple[int, int] = 1024,
    halo: int | tuple[int, int] = 0,
    out: np.ndarray | None = None,
    dtype: np.dtype | type | None = None,
) -> np.ndarray:
    """Run ``func(read_array, block)`` on each block of the last two axes of ``array``.

    ``func`` returns an array covering the read window (same trailing shape); its
    core part is written to ``out``. Leading axes (bands) are passed through whole.
    """
    if array.ndim < 2:
        raise InvalidInputError(f"array must have at least 2 dimensions, got shape {array.shape}")
    if out is None:
        out = np.empty(array.shape, dtype=dtype or array.dtype)
    lead = (slice(None),) * (array.ndim - 2)
    for block in iter_blocks(array.shape[-2:], block_shape, halo=halo):
        result = func(array[lead + block.read], block)
        out[lead + block.core] = result[lead + block.inner]
    return out
