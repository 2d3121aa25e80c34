"""Resampling kernels (numpy in, numpy out; no files, no CRS): interpolator codes and the dispatch.

One module per interpolation family, all with one signature
(:mod:`eokit.resample._placement` holds what they share and the conventions):

* :mod:`eokit.resample._nearest`: nearest neighbour, a window kernel of its own;
* :mod:`eokit.resample._linear`: bilinear;
* :mod:`eokit.resample._cubic`: Keys cubic and Lanczos-3;
* :mod:`eokit.resample._bspline_kernels`: B-splines of orders 3 to 11 (the
  prefilter is in :mod:`eokit.resample.bspline`).

Each kernel has a window function (all with one signature); the
interpolating ones pass their pixels function to the shared parallel driver
:func:`eokit.resample._placement.window`. A run compiles (or loads from
numba's cache) only its own kernel's window.
Kernels read the source in its native dtype and accumulate in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eokit.resample._bspline_kernels import WINDOWS as BSPLINE_WINDOWS
from eokit.resample._cubic import window_cubic, window_lanczos3
from eokit.resample._linear import window_linear
from eokit.resample._nearest import _rows_nearest, nearest_window
from eokit.resample._placement import Placement, run_blocks

__all__ = [
    "BSPLINE_KINDS",
    "KIND_BSPLINE3",
    "KIND_CUBIC",
    "KIND_LANCZOS3",
    "KIND_LINEAR",
    "KIND_NEAREST",
    "MARGINS",
    "Placement",
    "compiled_function",
    "resample_window",
]

KIND_NEAREST = 0
KIND_LINEAR = 1
KIND_CUBIC = 2
KIND_LANCZOS3 = 3
KIND_BSPLINE3 = 4
#: Kernel code of the B-spline of each order.
BSPLINE_KINDS = {3: KIND_BSPLINE3, 5: 5, 7: 6, 9: 7, 11: 8}

# Taps (before, after) the floor/round position that a kernel may touch, i.e.
# the padding a boundary condition has to provide on each side.
MARGINS = {KIND_NEAREST: 1, KIND_LINEAR: 1, KIND_CUBIC: 2, KIND_LANCZOS3: 3}
MARGINS.update({kind: (n + 1) // 2 for n, kind in BSPLINE_KINDS.items()})

# The window function of every kernel
_WINDOWS: dict[int, Any] = {
    KIND_NEAREST: _rows_nearest,
    KIND_LINEAR: window_linear,
    KIND_CUBIC: window_cubic,
    KIND_LANCZOS3: window_lanczos3,
}
_WINDOWS.update({kind: BSPLINE_WINDOWS[n] for n, kind in BSPLINE_KINDS.items()})


def compiled_function(kind: int) -> Any:
    """The numba function whose compilation (or cached copy) is specific to the kernel ``kind``."""
    return _WINDOWS[kind]


def resample_window(
    kind: int,
    src: np.ndarray,
    src_mask: np.ndarray,
    use_src_mask: bool,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    p: Placement,
    out: np.ndarray,
    out_mask: np.ndarray,
    write_mask: bool,
    nodata: float,
    nblocks: int,
) -> None:
    """Resample the window of ``p`` (see :class:`Placement`) with the kernel ``kind``.

    ``src`` is (bands, rows, cols) in any numeric dtype; ``src_mask`` (rows, cols)
    uint8, non-zero valid (ignored unless ``use_src_mask``); ``out_mask`` is
    written when ``write_mask``. Rows are split into ``nblocks`` blocks processed
    in parallel on ``numba.get_num_threads()`` threads.
    """
    args = (src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata)
    if kind == KIND_NEAREST:
        nearest_window(*args, nblocks)
    else:
        run_blocks(_WINDOWS[kind], args, p.nrows, nblocks)
