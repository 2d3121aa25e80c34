"""Convolution kernels of 4 and 6 taps: Keys cubic (gridr's ``cubic``, a = -0.5) and Lanczos-3.

Pixels functions for :func:`eokit.resample._placement.window`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from eokit.resample._placement import FASTMATH, taps_valid, u, window

__all__ = ["pixels_cubic", "pixels_lanczos3", "separable4", "window_cubic", "window_lanczos3"]

_KEYS_A = -0.5
# Lanczos-3 constants for tap k = 0..5 at distance f + m, m = 2 - k
_L_SHIFT = np.array([2.0, 1.0, 0.0, -1.0, -2.0, -3.0])
_L_SIGN = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]) * 3.0 / (math.pi * math.pi)
_L_COS = np.cos(math.pi * _L_SHIFT / 3.0)
_L_SIN = np.sin(math.pi * _L_SHIFT / 3.0)


@njit(cache=True, nogil=True, inline="always")
def _cubic_taps(x: float) -> tuple[int, int, float, float, float, float]:
    """Keys taps at ``x``: the centre index ``floor(x)``, the tap step, 4 weights for taps centre - step
    .. centre + 2 step.

    At an integer coordinate only the centre tap has a non-zero weight (the
    formulas give exactly 0, 1, 0, 0 there); the step is then 0, so all four
    taps are the centre one and reads stay in range.
    """
    fl = math.floor(x)
    f = x - fl
    g = 1.0 - f
    # Keys (a = -0.5) in closed form for 0 <= f < 1: a f g^2, 1.5 f^3 - 2.5 f^2 + 1, mirror, a g f^2
    return (
        int(fl),
        1 if f != 0.0 else 0,
        _KEYS_A * f * g * g,
        (1.5 * f - 2.5) * f * f + 1.0,
        (1.5 * g - 2.5) * g * g + 1.0,
        _KEYS_A * g * f * f,
    )


@njit(cache=True, nogil=True, inline="always")
def _lanczos_taps(x: float, w: np.ndarray) -> tuple[int, int, int]:
    """Lanczos-3 taps at ``x`` into ``w`` (6 normalised weights); (first, last, base)."""
    fl = math.floor(x)
    f = x - fl
    i = int(fl)
    if f == 0.0:
        for k in range(6):
            w[k] = 0.0
        w[2] = 1.0
        return i, i, i - 2
    # sin(pi (f + m)) = (-1)^m sin(pi f); sin(pi (f + m) / 3) by angle addition
    a = math.pi * f / 3.0
    sa = math.sin(a)
    ca = math.cos(a)
    sp = sa * (3.0 - 4.0 * sa * sa)  # sin(3a) = sin(pi f)
    tot = 0.0
    for k in range(6):
        d = f + _L_SHIFT[k]  # distance of tap k
        v = _L_SIGN[k] * sp * (sa * _L_COS[k] + ca * _L_SIN[k]) / (d * d)
        w[k] = v
        tot += v
    inv = 1.0 / tot
    for k in range(6):
        w[k] *= inv
    return i - 2, i + 3, i - 2


@njit(cache=True, nogil=True, inline="always")
def separable4(src, r0, r1, r2, r3, c0, c1, c2, c3, wy0, wy1, wy2, wy3, wx0, wx1, wx2, wx3):
    """A 4 x 4 separable kernel: rows ``r0..r3`` weighted ``wy``, columns ``c0..c3`` weighted ``wx``."""
    s0 = wx0 * src[r0, c0] + wx1 * src[r0, c1] + wx2 * src[r0, c2] + wx3 * src[r0, c3]
    s1 = wx0 * src[r1, c0] + wx1 * src[r1, c1] + wx2 * src[r1, c2] + wx3 * src[r1, c3]
    s2 = wx0 * src[r2, c0] + wx1 * src[r2, c1] + wx2 * src[r2, c2] + wx3 * src[r2, c3]
    s3 = wx0 * src[r3, c0] + wx1 * src[r3, c1] + wx2 * src[r3, c2] + wx3 * src[r3, c3]
    return wy0 * s0 + wy1 * s1 + wy2 * s2 + wy3 * s3


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_cubic(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, Keys cubic (4 x 4 taps, fused)."""
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            yc, step_y, wy0, wy1, wy2, wy3 = _cubic_taps(ys[q])
            xc, step_x, wx0, wx1, wx2, wx3 = _cubic_taps(xs[q])
            yc -= src_off[0]
            xc -= src_off[1]
            valid = taps_valid(
                src_mask, use_src_mask, yc - step_y, yc + 2 * step_y, xc - step_x, xc + 2 * step_x, sh, sw
            )
            if valid:
                out[u(q)] = separable4(
                    src, u(yc - step_y), u(yc), u(yc + step_y), u(yc + 2 * step_y), u(xc - step_x), u(xc),
                    u(xc + step_x), u(xc + 2 * step_x), wy0, wy1, wy2, wy3, wx0, wx1, wx2, wx3,
                )  # fmt: skip
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pixels_lanczos3(src, src_mask, use_src_mask, src_off, ys, xs, vs, out, out_mask, write_mask, nodata, wy, wx):
    """One output row, normalised Lanczos-3 (6 x 6 taps, zero-weight taps skipped)."""
    sh, sw = src.shape
    for q in range(ys.shape[0]):
        valid = vs[q]
        if valid:
            ylo, yhi, yb = _lanczos_taps(ys[q], wy)
            xlo, xhi, xb = _lanczos_taps(xs[q], wx)
            ylo -= src_off[0]
            yhi -= src_off[0]
            yb -= src_off[0]
            xlo -= src_off[1]
            xhi -= src_off[1]
            xb -= src_off[1]
            valid = taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
            if valid:
                acc = 0.0
                for a in range(6):
                    if wy[a] != 0.0:
                        racc = 0.0
                        for b in range(6):
                            if wx[b] != 0.0:
                                racc += wx[b] * src[yb + a, xb + b]
                        acc += wy[a] * racc
                out[u(q)] = acc
        if not valid:
            out[u(q)] = nodata
        if write_mask:
            out_mask[u(q)] = 1 if valid else 0


@njit(cache=True, nogil=True)
def window_cubic(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, Keys cubic (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_cubic,
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
def window_lanczos3(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, first, last
):
    """The window of ``p``, Lanczos-3 (arguments: ``WINDOW_SIGNATURE``)."""
    window(
        pixels_lanczos3,
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
