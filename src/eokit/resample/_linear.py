"""Bilinear interpolation (gridr's ``linear``): the pixels function for :func:`eokit.resample._placement.window`."""

from __future__ import annotations

import math

from numba import njit

from eokit.resample._placement import FASTMATH, u, window

__all__ = ["pixels_linear", "window_linear"]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_linear(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, 2 x 2 taps; a zero-weight second tap is neither needed nor read."""
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            y = ys[q]
            x = xs[q]
            fy0 = math.floor(y)
            fx0 = math.floor(x)
            fy = y - fy0
            fx = x - fx0
            y0 = fy0 - src_off[0]
            x0 = fx0 - src_off[1]
            y1 = y0 + 1 if fy != 0.0 else y0
            x1 = x0 + 1 if fx != 0.0 else x0
            if (
                y0 < 0
                or x0 < 0
                or y1 >= sh
                or x1 >= sw
                or (
                    use_src_mask
                    and (
                        src_mask[y0, x0] == 0 or src_mask[y0, x1] == 0 or src_mask[y1, x0] == 0 or src_mask[y1, x1] == 0
                    )
                )
            ):
                valid = False
            else:
                uy0, uy1, ux0, ux1 = u(y0), u(y1), u(x0), u(x1)
                top = (1.0 - fx) * src[uy0, ux0] + fx * src[uy0, ux1]
                bot = (1.0 - fx) * src[uy1, ux0] + fx * src[uy1, ux1]
                out[u(q)] = (1.0 - fy) * top + fy * bot
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True)
def window_linear(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, bilinear (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_linear,
        src,
        src_mask,
        use_src_mask,
        grid_row,
        grid_col,
        node_valid,
        p,
        out,
        out_mask,
        write_mask,
        nodata,
        first,
        last,
    )
