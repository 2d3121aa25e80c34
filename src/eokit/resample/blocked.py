"""Dask layer: a lazy, block-wise ``array_grid_resampling`` for numpy or dask sources.

Each output chunk is linked to the source window its pixels can touch (the
bounds of the valid grid nodes around it plus the kernel support), so a dask
source is only read where needed; the grids are coarse and stay in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eokit.errors import InvalidInputError, MissingDependencyError
from eokit.resample.bspline import prefilter, prefilter_mask
from eokit.resample.core import (
    _check_grids,
    _resolution,
    _window,
    embed_window,
    grid_bounds,
    grid_full_resolution_shape,
    node_validity,
    padded_extent,
    run,
    source_extent,
    trim_coefficients,
)
from eokit.resample.interp import Interpolator, get_interpolator

__all__ = ["grid_resampling_blocks"]


def _block(
    src: np.ndarray,
    mask: np.ndarray | None,
    gr: np.ndarray,
    gc: np.ndarray,
    nv: np.ndarray,
    kind: int,
    res: tuple[int, int],
    win: np.ndarray,
    offset: tuple[int, int],
    nodata: float,
    dtype: str,
) -> np.ndarray:
    """Compute one output chunk; returns (bands + 1, h, w): values then the validity mask."""
    h, w = int(win[0, 1] - win[0, 0] + 1), int(win[1, 1] - win[1, 0] + 1)
    out = np.empty((src.shape[0], h, w), dtype)
    omask = np.empty((h, w), np.uint8)
    ow = np.array([[0, h - 1], [0, w - 1]])
    src = np.ascontiguousarray(src)
    mask = None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
    run(kind, src, mask, gr, gc, nv, res, win, (0.0, 0.0), out, ow, omask, True, nodata, offset)
    return np.concatenate([out, omask[None].astype(dtype)], axis=0)


def _bspline_block(
    part: np.ndarray,
    mpart: np.ndarray | None,
    at: tuple[int, int],
    shape: tuple[int, int],
    itp: Interpolator,
    *args: Any,
) -> np.ndarray:
    """A B-spline chunk: the source window (zeros, invalid, outside the source) prefiltered, then resampled."""
    src, valid = embed_window(np.asarray(part), None if mpart is None else np.asarray(mpart), at, shape)
    coef, cmask, (dr, dc) = trim_coefficients(
        prefilter(src, itp.order, itp.epsilon),
        prefilter_mask(valid, itp.order, itp.epsilon, itp.mask_influence_threshold),
        itp,
        (0, 0),
    )
    gr, gc, nv, kind, res, win, offset, nodata, dtype = args
    return _block(coef, cmask, gr, gc, nv, kind, res, win, (offset[0] + dr, offset[1] + dc), nodata, dtype)


def grid_resampling_blocks(
    interp: str,
    array_in: Any,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    grid_resolution: Sequence[int],
    *,
    chunks: int | Sequence[int] = 1024,
    nodata_out: float = 0.0,
    win: Any = None,
    array_in_mask: Any = None,
    grid_mask: np.ndarray | None = None,
    grid_mask_valid_value: int = 1,
    grid_nodata: float | None = None,
    dtype: Any = np.float64,
    interp_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """Lazy (dask) grid resampling: same conventions as :func:`array_grid_resampling`.

    ``array_in`` (rows, cols) or (bands, rows, cols) may be numpy or dask;
    returns dask arrays ``(values, mask)`` chunked by ``chunks`` output pixels,
    values shaped like gridr's (bands squeezed for a 2-D source).

    Taps outside the source are invalid (``boundary_condition=None``). For
    B-splines each chunk prefilters its own source window: its taps' extent
    widened by twice the prefilter margin (clipped where the whole-array
    computation's unreliable border lies), so chunks equal the whole-array
    result to well within ``epsilon``.
    """
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise MissingDependencyError("dask", extra="dask", purpose="block-wise resampling") from None
    itp = get_interpolator(interp, **(interp_kwargs or {}))
    kind = itp.kind
    src = array_in if array_in.ndim == 3 else array_in[None]
    if src.ndim != 3:
        raise InvalidInputError(f"expected 2-D or 3-D, got shape {array_in.shape}", param="array_in")
    gr, gc = _check_grids(grid_row, grid_col)
    res = _resolution(grid_resolution)
    full = grid_full_resolution_shape(gr.shape, res)
    w = _window(win, "win", full) if win is not None else np.array([[0, full[0] - 1], [0, full[1] - 1]])
    if array_in_mask is not None and tuple(array_in_mask.shape) != tuple(src.shape[1:]):
        raise InvalidInputError(f"shape {array_in_mask.shape} does not match {src.shape[1:]}", param="array_in_mask")
    if grid_mask is not None and np.shape(grid_mask) != gr.shape:
        raise InvalidInputError(f"shape {np.shape(grid_mask)} does not match the grids' {gr.shape}", param="grid_mask")
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.float32, np.float64):
        raise InvalidInputError(f"output must be float32 or float64, got {out_dtype}", param="dtype")
    nv = node_validity(gr, gc, grid_mask, grid_mask_valid_value, grid_nodata)
    ch = (chunks, chunks) if isinstance(chunks, int) else tuple(int(c) for c in chunks)
    if min(ch) < 1:
        raise InvalidInputError(f"expected positive sizes, got {chunks!r}", param="chunks")
    nb, sh, sw = src.shape
    if itp.is_bspline:
        bounds = grid_bounds(gr, gc, nv, res, w)
        whole = padded_extent(bounds, (sh, sw), itp.total_margins()[0])
        margin = itp.tile_margin()
    rows = list(range(int(w[0, 0]), int(w[0, 1]) + 1, ch[0]))
    cols = list(range(int(w[1, 0]), int(w[1, 1]) + 1, ch[1]))
    blocks = []
    for r0 in rows:
        r1 = min(r0 + ch[0] - 1, int(w[0, 1]))
        line = []
        for c0 in cols:
            c1 = min(c0 + ch[1] - 1, int(w[1, 1]))
            bwin = np.array([[r0, r1], [c0, c1]])
            ext = source_extent(gr, gc, nv, res, bwin, kind)
            if ext is None or ext[0] >= sh or ext[2] >= sw or ext[1] < 0 or ext[3] < 0:
                y0 = x0 = 0
                y1 = x1 = 0  # no tap can be valid: an empty source
            else:
                y0, x0 = max(ext[0], 0), max(ext[2], 0)
                y1, x1 = min(ext[1], sh - 1) + 1, min(ext[3], sw - 1) + 1
            args = (gr, gc, nv, kind, res, bwin)
            if itp.is_bspline and ext is not None:
                # the window the chunk's prefilter needs, inside what the whole array filters
                lo_r, lo_c = max(ext[0] - margin, whole[0]), max(ext[2] - margin, whole[2])
                hi_r, hi_c = min(ext[1] + margin, whole[1]), min(ext[3] + margin, whole[3])
                y0, x0 = max(lo_r, 0), max(lo_c, 0)
                y1, x1 = max(y0, min(hi_r, sh - 1) + 1), max(x0, min(hi_c, sw - 1) + 1)
                part = src[:, y0:y1, x0:x1]
                mpart = None if array_in_mask is None else array_in_mask[y0:y1, x0:x1]
                wshape = (hi_r - lo_r + 1, hi_c - lo_c + 1)
                task = dask.delayed(_bspline_block, pure=True)(
                    part, mpart, (y0 - lo_r, x0 - lo_c), wshape, itp, *args, (lo_r, lo_c), float(nodata_out),
                    out_dtype.name,
                )  # fmt: skip
            else:
                part = src[:, y0:y1, x0:x1]
                mpart = None if array_in_mask is None else array_in_mask[y0:y1, x0:x1]
                task = dask.delayed(_block, pure=True)(part, mpart, *args, (y0, x0), float(nodata_out), out_dtype.name)
            shape = (nb + 1, r1 - r0 + 1, c1 - c0 + 1)
            line.append(da.from_delayed(task, shape=shape, dtype=out_dtype))
        blocks.append(line)
    stacked = da.block([[b for b in line] for line in blocks])
    values, mask = stacked[:nb], stacked[nb].astype(np.uint8)
    if array_in.ndim == 2:
        values = values[0]
    return values, mask
