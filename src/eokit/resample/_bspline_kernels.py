"""B-spline interpolation kernels of odd orders 3 to 11, on prefiltered coefficients.

Pixels functions for :func:`eokit.resample._placement.window`; the
coefficients come from :func:`eokit.resample.bspline.prefilter`. The weights
are polynomials in the coordinate's fraction (Horner's rule, exact
coefficients); orders 3 and 5 have fused kernels with their weights written
out (kept in registers: order 5 ran 10 % faster so), orders 7 to 11 a pixels
function each with the order a compile-time constant, so their fixed-length
loops unroll. Each order has its own window function: a run compiles only the
order it uses.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from eokit.resample._cubic import separable4
from eokit.resample._placement import FASTMATH, split, taps_valid, u, window

__all__ = ["WINDOWS", "bspline_polynomials"]


def bspline_polynomials(n: int) -> np.ndarray:
    """``P[k, p]``: weight of tap ``base + k`` of the order-``n`` B-spline is ``sum_p P[k, p] t^p``, t in [0, 1).

    Exact integer coefficients (from the truncated-power form of the B-spline), divided by ``n!``;
    the sum of their magnitudes stays below 2.2 for every order, so Horner's rule is accurate to
    a few ulps.
    """
    m = [[0] * (n + 1) for _ in range(n + 1)]
    for k in range(n + 1):
        for j in range(n - k + 1):
            a = n - k - j
            for p in range(n + 1):
                m[k][p] += (-1) ** j * math.comb(n + 1, j) * math.comb(n, p) * a ** (n - p)
    return np.array(m, np.float64) / math.factorial(n)


# [order, tap, power]: the B-spline weight polynomials of every odd order up to 11
_POLY = np.zeros((12, 12, 12))
for _n in (3, 5, 7, 9, 11):
    _POLY[_n, : _n + 1, : _n + 1] = bspline_polynomials(_n)


@njit(cache=True, nogil=True, inline="always")
def _bspline3_taps(x: float) -> tuple[int, int, int, float, float, float, float]:
    """Cubic B-spline taps at ``x``: (first, last) index with non-zero weight, the base index, 4 weights.

    At an integer coordinate the fourth weight is 0 (three taps: 1/6, 4/6, 1/6).
    """
    fl, f = split(x)
    i = int(fl)
    if f == 0.0:
        return i - 1, i + 1, i - 1, 1.0 / 6.0, 4.0 / 6.0, 1.0 / 6.0, 0.0
    g = 1.0 - f
    f2 = f * f
    return (
        i - 1,
        i + 2,
        i - 1,
        g * g * g / 6.0,
        (3.0 * f2 * f - 6.0 * f2 + 4.0) / 6.0,
        (-3.0 * f2 * f + 3.0 * f2 + 3.0 * f + 1.0) / 6.0,
        f2 * f / 6.0,
    )


@njit(cache=True, nogil=True, inline="always")
def _bspline_taps(x: float, n: int, w: np.ndarray) -> tuple[int, int]:
    """B-spline of odd order ``n`` at ``x``: ``n + 1`` weights into ``w`` for taps base .. base + n; (base, last).

    Each weight is a polynomial in the fraction (Horner's rule on :data:`_POLY`).
    At an integer coordinate the last weight is 0 and ``last`` excludes it.
    """
    fl, t = split(x)
    for k in range(n + 1):
        acc = _POLY[n, k, n]
        for q in range(n - 1, -1, -1):
            acc = acc * t + _POLY[n, k, q]
        w[k] = acc
    base = int(fl) - (n - 1) // 2
    return base, base + n if t != 0.0 else base + n - 1


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_bspline3(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, cubic B-spline (4 x 4 taps, fused)."""
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            ylo, yhi, yb, wy0, wy1, wy2, wy3 = _bspline3_taps(ys[q])
            xlo, xhi, xb, wx0, wx1, wx2, wx3 = _bspline3_taps(xs[q])
            ylo -= src_off[0]
            yhi -= src_off[0]
            yb -= src_off[0]
            xlo -= src_off[1]
            xhi -= src_off[1]
            xb -= src_off[1]
            valid = taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
            if valid:
                # at an integer coordinate the fourth tap (weight 0) repeats the third
                out[u(q)] = separable4(
                    src, u(yb), u(yb + 1), u(yb + 2), u(yhi), u(xb), u(xb + 1), u(xb + 2), u(xhi), wy0, wy1, wy2,
                    wy3, wx0, wx1, wx2, wx3,
                )  # fmt: skip
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True, inline="always", fastmath=FASTMATH)
def _pixels(n, src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, B-spline of odd order ``n`` > 3 ((n + 1) x (n + 1) taps).

    Inlined into one pixels function per order with ``n`` a constant. At an
    integer coordinate the last tap has weight 0 and lies beyond the valid
    stencil: it re-reads the tap before it (0 x a finite value adds nothing),
    so the loops keep their fixed length.
    """
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            ylo, yhi = _bspline_taps(ys[q], n, wy)
            xlo, xhi = _bspline_taps(xs[q], n, wx)
            ylo -= src_off[0]
            yhi -= src_off[0]
            xlo -= src_off[1]
            xhi -= src_off[1]
            valid = taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
            if valid:
                acc = 0.0
                for a in range(n + 1):
                    r = u(ylo + a) if a < n else u(yhi)
                    racc = wx[n] * src[r, u(xhi)]
                    for b in range(n):
                        racc += wx[b] * src[r, u(xlo + b)]
                    acc += wy[a] * racc
                out[u(q)] = acc
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True, inline="always")
def _bspline5_taps(x: float) -> tuple[int, int, float, float, float, float, float, float]:
    """Quintic B-spline taps at ``x``: (base, last, 6 weights), the :data:`_POLY` rows of order 5 written
    out so that the weights stay in registers; at an integer the last weight is 0 and ``last`` excludes it."""
    fl, t = split(x)
    s = 1.0 - t
    t2 = t * t
    s2 = s * s
    c = 1.0 / 120.0
    base = int(fl) - 2
    return (
        base,
        base + 5 if t != 0.0 else base + 4,
        c * s2 * s2 * s,
        c * (26.0 + t * (-50.0 + t * (20.0 + t * (20.0 + t * (-20.0 + 5.0 * t))))),
        c * (66.0 + t2 * (-60.0 + t2 * (30.0 - 10.0 * t))),
        c * (26.0 + t * (50.0 + t * (20.0 + t * (-20.0 + t * (-20.0 + 10.0 * t))))),
        c * (1.0 + t * (5.0 + t * (10.0 + t * (10.0 + t * (5.0 - 5.0 * t))))),
        c * t2 * t2 * t,
    )


@njit(cache=True, nogil=True, inline="always")
def _row6(src, r, x0, x5, w0, w1, w2, w3, w4, w5):
    """Six taps of row ``r``: columns ``x0 .. x0 + 4`` and ``x5``."""
    return (
        w0 * src[r, u(x0)] + w1 * src[r, u(x0 + 1)] + w2 * src[r, u(x0 + 2)] + w3 * src[r, u(x0 + 3)]
        + w4 * src[r, u(x0 + 4)] + w5 * src[r, u(x5)]
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_bspline5(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, quintic B-spline (6 x 6 taps, weights in registers)."""
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            ylo, yhi, a0, a1, a2, a3, a4, a5 = _bspline5_taps(ys[q])
            xlo, xhi, b0, b1, b2, b3, b4, b5 = _bspline5_taps(xs[q])
            ylo -= src_off[0]
            yhi -= src_off[0]
            xlo -= src_off[1]
            xhi -= src_off[1]
            valid = taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
            if valid:
                out[u(q)] = (
                    a0 * _row6(src, u(ylo), xlo, xhi, b0, b1, b2, b3, b4, b5)
                    + a1 * _row6(src, u(ylo + 1), xlo, xhi, b0, b1, b2, b3, b4, b5)
                    + a2 * _row6(src, u(ylo + 2), xlo, xhi, b0, b1, b2, b3, b4, b5)
                    + a3 * _row6(src, u(ylo + 3), xlo, xhi, b0, b1, b2, b3, b4, b5)
                    + a4 * _row6(src, u(ylo + 4), xlo, xhi, b0, b1, b2, b3, b4, b5)
                    + a5 * _row6(src, u(yhi), xlo, xhi, b0, b1, b2, b3, b4, b5)
                )
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_bspline7(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """:func:`_pixels` of order 7."""
    _pixels(7, src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_bspline9(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """:func:`_pixels` of order 9."""
    _pixels(9, src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_bspline11(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """:func:`_pixels` of order 11."""
    _pixels(11, src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx)


@njit(cache=True, nogil=True)
def window_bspline3(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, B-spline of order 3 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_bspline3,
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


@njit(cache=True, nogil=True)
def window_bspline5(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, B-spline of order 5 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_bspline5,
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


@njit(cache=True, nogil=True)
def window_bspline7(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, B-spline of order 7 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_bspline7,
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


@njit(cache=True, nogil=True)
def window_bspline9(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, B-spline of order 9 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_bspline9,
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


@njit(cache=True, nogil=True)
def window_bspline11(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, B-spline of order 11 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_bspline11,
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


#: The window function of each B-spline order.
WINDOWS = {3: window_bspline3, 5: window_bspline5, 7: window_bspline7, 9: window_bspline9, 11: window_bspline11}
