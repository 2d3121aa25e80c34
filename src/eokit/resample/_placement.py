"""What every resampling kernel shares: placement, grid lines, tap validity, and the row driver.

Conventions (identical to CNES gridr 0.7.0):

* source coordinate ``(0, 0)`` is the centre of the first source pixel;
* coarse grid node ``(k, l)`` falls on output pixel ``(k * rr, l * rc)``; the
  coordinates of the output pixels in between are bilinear in the four
  surrounding nodes, computed on the fly (never materialised);
* an output pixel is invalid when a grid node with non-zero bilinear weight is
  invalid (masked, ``grid_nodata`` or NaN), or when a source tap with non-zero
  interpolation weight lies outside the source array or is masked (mask 0).

Every interpolation family (:mod:`._nearest`, :mod:`._linear`, :mod:`._cubic`,
:mod:`._bspline_kernels`) provides a *window* function with one signature,
:data:`WINDOW_SIGNATURE`. The interpolating families do so by passing their
*pixels* function (one signature too, :data:`PIXELS_SIGNATURE`) to
:func:`window` (no GIL; :func:`run_blocks` runs row blocks on threads); for
each output row it interpolates the grid to the row, then computes every
pixel's source coordinates and validity into three row buffers (a short loop
of its own), then calls the pixels function on them. Keeping the segment
bookkeeping out of the interpolation loop leaves that loop few live values:
cubic runs 20 % faster than with both in one loop. Each family's window
function (cached on disk by numba) calls :func:`window` with its pixels
function, so a run compiles only the interpolator it uses.
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import njit

__all__ = [
    "FASTMATH",
    "PIXELS_SIGNATURE",
    "WINDOW_SIGNATURE",
    "Placement",
    "grid_line",
    "split",
    "taps_valid",
    "run_blocks",
    "u",
    "window",
]

#: The arguments of every family's window function (it computes window rows ``first..last-1``).
WINDOW_SIGNATURE = (
    "src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last"
)
#: The arguments of every pixels function: one band's 2-D source (pixel ``(0, 0)`` is source pixel
#: ``src_off``), its mask, the row's source coordinates ``ys``, ``xs`` and node validity ``vs``, the
#: output row and its mask row (written when ``write_mask``), nodata, and two scratch arrays of 12.
PIXELS_SIGNATURE = "src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx"


class Placement(NamedTuple):
    """Where a kernel call reads and writes.

    The full-resolution window ``[row0, row0 + nrows) x [col0, col0 + ncols)``
    at ``rr x rc`` output pixels per grid step; coordinates are shifted by
    ``origin_row/origin_col``; ``src[:, 0, 0]`` is source pixel
    ``(src_row_off, src_col_off)``; pixel ``(i, j)`` of the window goes to
    ``out[:, out_row0 + i, out_col0 + j]``.
    """

    rr: int
    rc: int
    row0: int
    col0: int
    nrows: int
    ncols: int
    origin_row: float
    origin_col: float
    src_row_off: int
    src_col_off: int
    out_row0: int
    out_col0: int


# Value-safe fast-math: FMA contraction and reassociation (results move by ~1 ulp), but no
# finite-math assumptions, so NaN/inf sources and the validity logic are unaffected.
FASTMATH = {"contract", "reassoc", "nsz", "arcp"}

# gridr rounds every interpolated coordinate to 1e-12, so an integer position reached through the grid's
# bilinear weights with a rounding error still counts as integer (fewer taps, hence its validity).
# Only that matters, so only near-integers are snapped, and only for the B-splines, whose wide stencils
# meet the unreliable border and dilated masks there (gridr's suite checks it); nearest, linear and cubic
# keep their speed and agree with gridr on random grids (see the README's known difference).
_SNAP = 5e-13


@njit(cache=True, nogil=True, inline="always")
def split(x: float) -> tuple[int, float]:
    """(floor, fraction) of a coordinate, a fraction within 5e-13 of 0 or 1 snapped to an integer (gridr)."""
    fl = math.floor(x)
    f = x - fl
    if f < _SNAP:
        return fl, 0.0
    if f > 1.0 - _SNAP:
        return fl + 1, 0.0
    return fl, f


@njit(cache=True, nogil=True, inline="always")
def u(i: int) -> Any:
    """An index known to be >= 0 as unsigned: numba then skips its negative-index wraparound code."""
    return np.uint64(i)


@njit(cache=True, nogil=True, inline="always")
def grid_line(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    rr: int,
    i: int,
    jn0: int,
    jn1: int,
    lr: np.ndarray,
    lc: np.ndarray,
    lv: np.ndarray,
) -> None:
    """Coarse grid interpolated (bilinearly) to output row ``i``, for node columns jn0..jn1+1."""
    gnr, gnc = grid_row.shape
    gi = i // rr
    t = (i - gi * rr) / rr
    gi1 = gi + 1 if (t > 0.0 and gi + 1 < gnr) else gi
    for k in range(jn0, min(jn1 + 1, gnc - 1) + 1):
        if t == 0.0:
            lr[k] = grid_row[gi, k]
            lc[k] = grid_col[gi, k]
            lv[k] = node_valid[gi, k] != 0
        else:
            lr[k] = (1.0 - t) * grid_row[gi, k] + t * grid_row[gi1, k]
            lc[k] = (1.0 - t) * grid_col[gi, k] + t * grid_col[gi1, k]
            lv[k] = node_valid[gi, k] != 0 and node_valid[gi1, k] != 0
        if not lv[k]:
            # any finite value: an invalid node only ever gets weight 0 in a valid pixel
            lr[k] = 0.0
            lc[k] = 0.0


@njit(cache=True, nogil=True, inline="always")
def taps_valid(
    src_mask: np.ndarray, use_src_mask: bool, ylo: int, yhi: int, xlo: int, xhi: int, sh: int, sw: int
) -> bool:
    """Whether the tap window ``[ylo, yhi] x [xlo, xhi]`` lies inside the source and is unmasked there."""
    if ylo < 0 or xlo < 0 or yhi >= sh or xhi >= sw:
        return False
    if use_src_mask:
        for a in range(ylo, yhi + 1):
            for b in range(xlo, xhi + 1):
                if src_mask[a, b] == 0:
                    return False
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _coordinates(
    p: Placement,
    lr: np.ndarray,
    lc: np.ndarray,
    lv: np.ndarray,
    sv: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    vs: np.ndarray,
) -> None:
    """Source coordinates and node validity of every pixel of a window row, from the grid line.

    Segment by segment (the pixels between grid nodes ``k`` and ``k + 1``
    share the node values; ``sv`` holds the fractions m / rc); node ``k + 1``
    only counts when its weight is not 0.
    """
    gnc = lr.shape[0]
    jn0 = p.col0 // p.rc
    jn1 = min((p.col0 + p.ncols - 1) // p.rc, gnc - 1)
    for k in range(jn0, jn1 + 1):
        k1 = k + 1 if k + 1 < gnc else k
        base = k * p.rc
        r_a, r_b, c_a, c_b, v_a, v_b = lr[k], lr[k1], lc[k], lc[k1], lv[k], lv[k1]
        for j in range(max(p.col0, base), min(p.col0 + p.ncols, base + p.rc)):
            m = j - base
            f = sv[u(m)]
            q = u(j - p.col0)
            ys[q] = (1.0 - f) * r_a + f * r_b + p.origin_row
            xs[q] = (1.0 - f) * c_a + f * c_b + p.origin_col
            vs[q] = v_a and (m == 0 or v_b)


# Inlined (with :func:`window`) into each family's window function, so the pixels function is a
# static call there: passed as a run-time value it would make that window uncacheable.
@njit(nogil=True, inline="always")
def _rows(
    pixels: Any,
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
    first: int,
    last: int,
) -> None:
    """Rows ``first..last-1`` of the window for one band (``src``, ``out`` 2-D) through ``pixels``."""
    gnc = grid_row.shape[1]
    sv = np.empty(p.rc)
    for m in range(p.rc):
        sv[m] = m / p.rc
    lr = np.empty(gnc)
    lc = np.empty(gnc)
    lv = np.zeros(gnc, np.bool_)
    ys = np.empty(p.ncols)
    xs = np.empty(p.ncols)
    vs = np.empty(p.ncols, np.bool_)
    wy = np.empty(12)
    wx = np.empty(12)
    jn0 = p.col0 // p.rc
    jn1 = min((p.col0 + p.ncols - 1) // p.rc, gnc - 1)
    c0, c1 = p.out_col0, p.out_col0 + p.ncols
    off = (p.src_row_off, p.src_col_off)
    for ii in range(first, last):
        grid_line(grid_row, grid_col, node_valid, p.rr, p.row0 + ii, jn0, jn1, lr, lc, lv)
        _coordinates(p, lr, lc, lv, sv, ys, xs, vs)
        orow = p.out_row0 + ii
        mrow = out_mask[orow, c0:c1] if write_mask else out_mask[0, :0]
        pixels(src, src_mask, use_src_mask, off, ys, xs, vs, out[orow, c0:c1], mrow, write_mask, nodata, wy, wx)


@njit(nogil=True, inline="always")
def window(
    pixels: Any,
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
    first: int,
    last: int,
) -> None:
    """Rows ``first..last-1`` of the window of ``p`` through ``pixels``, one band at a time on 2-D views
    (the per-band index arithmetic is what costs most in the hot loops).

    Inlined into each family's window function (cached on disk), which names its pixels function:
    numba keys a function *argument* by its address, so a window compiled with one as an argument
    would be compiled again in every process.
    """
    for band in range(src.shape[0]):
        _rows(pixels, src[band], src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out[band], out_mask,
              write_mask and band == 0, nodata, first, last)  # fmt: skip


def run_blocks(fn: Callable[..., None], args: tuple[Any, ...], n: int, nblocks: int) -> None:
    """``fn(*args, first, last)`` for ``nblocks`` blocks of ``range(n)``, on ``numba.get_num_threads()`` threads.

    ``fn`` is a ``nogil`` numba function, so the blocks run in parallel; a thread takes the next
    block when it finishes one (a thread slowed down by other load does not hold the others up).
    Python threads rather than numba's ``prange``: compiling a parallel function costs about 1.3 s
    more on the first run (the cubic window: 3.3 s vs 2.0 s), for the same speed.
    """
    nblocks = max(1, min(n, nblocks))
    blocks = iter([(b * n // nblocks, (b + 1) * n // nblocks) for b in range(nblocks)])
    nthreads = min(numba.get_num_threads(), nblocks)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                block = next(blocks, None)
            if block is None:
                return
            fn(*args, *block)

    if nthreads <= 1:
        work()
        return
    with concurrent.futures.ThreadPoolExecutor(nthreads - 1, thread_name_prefix="eokit-resample") as pool:
        futures = [pool.submit(work) for _ in range(nthreads - 1)]
        work()
        for f in futures:
            f.result()
