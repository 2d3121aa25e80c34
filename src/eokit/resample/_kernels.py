"""Numba kernels for grid resampling (numpy in, numpy out; no files, no CRS).

Conventions (identical to CNES gridr 0.7.0):

* source coordinate ``(0, 0)`` is the centre of the first source pixel;
* coarse grid node ``(k, l)`` falls on output pixel ``(k * rr, l * rc)``; the
  coordinates of the output pixels in between are bilinear in the four
  surrounding nodes, computed on the fly (never materialised);
* an output pixel is invalid when a grid node with non-zero bilinear weight is
  invalid (masked, ``grid_nodata`` or NaN), or when a source tap with non-zero
  interpolation weight lies outside the source array or is masked (mask 0).

Kernels run in parallel over output rows (``prange``), release the GIL and
read the source in its native dtype; accumulation is float64. Nearest has a
kernel of its own (:func:`_rows_nearest`): grid cells whose every pixel is
surely valid are found first on the coarse grid, their source indices are
computed into a small table per column chunk (long, branch-free loops), and
runs of such cells are copied without per-pixel checks.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange

__all__ = [
    "BSPLINE_KINDS",
    "KIND_BSPLINE3",
    "KIND_CUBIC",
    "KIND_LANCZOS3",
    "KIND_LINEAR",
    "KIND_NEAREST",
    "MARGINS",
    "Placement",
    "grid_node_validity",
    "resample_window",
]


class Placement(NamedTuple):
    """Where a kernel call reads and writes (the arguments every family's kernel shares).

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


KIND_NEAREST = 0
KIND_LINEAR = 1
KIND_CUBIC = 2
KIND_LANCZOS3 = 3
KIND_BSPLINE3 = 4
#: Kernel code of the B-spline of each order (orders above 3 have a kernel of their own, specialised per order).
KIND_BSPLINE5 = 5
KIND_BSPLINE7 = 6
KIND_BSPLINE9 = 7
BSPLINE_KINDS = {3: KIND_BSPLINE3, 5: KIND_BSPLINE5, 7: KIND_BSPLINE7, 9: KIND_BSPLINE9, 11: 8}

# Taps (before, after) the floor/round position that a kernel may touch, i.e.
# the padding a boundary condition has to provide on each side.
MARGINS = {KIND_NEAREST: 1, KIND_LINEAR: 1, KIND_CUBIC: 2, KIND_LANCZOS3: 3}
MARGINS.update({kind: (n + 1) // 2 for n, kind in BSPLINE_KINDS.items()})

_KEYS_A = -0.5
# Lanczos-3 constants for tap k = 0..5 at distance f + m, m = 2 - k
_L_SHIFT = np.array([2.0, 1.0, 0.0, -1.0, -2.0, -3.0])
_L_SIGN = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]) * 3.0 / (math.pi * math.pi)
_L_COS = np.cos(math.pi * _L_SHIFT / 3.0)
_L_SIN = np.sin(math.pi * _L_SHIFT / 3.0)


@njit(cache=True, nogil=True)
def _keys(d: float) -> float:
    """Keys cubic convolution weight (a = -0.5) at distance ``d`` (>= 0)."""
    if d <= 1.0:
        return ((_KEYS_A + 2.0) * d - (_KEYS_A + 3.0)) * d * d + 1.0
    if d < 2.0:
        return ((_KEYS_A * d - 5.0 * _KEYS_A) * d + 8.0 * _KEYS_A) * d - 4.0 * _KEYS_A
    return 0.0


@njit(cache=True, nogil=True)
def _lanczos3(d: float) -> float:
    """Lanczos-3 windowed sinc weight at distance ``d`` (>= 0)."""
    if d == 0.0:
        return 1.0
    if d >= 3.0:
        return 0.0
    px = math.pi * d
    return 3.0 * math.sin(px) * math.sin(px / 3.0) / (px * px)


# gridr rounds every interpolated coordinate to 1e-12, so an integer position reached through the grid's
# bilinear weights with a rounding error still counts as integer (fewer taps, hence its validity).
# Only that matters, so only near-integers are snapped, and only for the B-splines, whose wide stencils
# meet the unreliable border and dilated masks there (gridr's suite checks it); nearest, linear and cubic
# keep their speed and agree with gridr on random grids (see the README's known difference).
_SNAP = 5e-13


@njit(cache=True, nogil=True, inline="always")
def _split(x: float) -> tuple[int, float]:
    """(floor, fraction) of a coordinate, a fraction within 5e-13 of 0 or 1 snapped to an integer (gridr)."""
    fl = math.floor(x)
    f = x - fl
    if f < _SNAP:
        return fl, 0.0
    if f > 1.0 - _SNAP:
        return fl + 1, 0.0
    return fl, f


@njit(cache=True, nogil=True, inline="always")
def _cubic_taps(x: float) -> tuple[int, int, int, float, float, float, float]:
    """Keys taps at ``x``: (first, last) index with non-zero weight, the base index, 4 weights.

    At an integer coordinate only the centre tap has a non-zero weight; the
    four taps then all point at it (weights 0, 1, 0, 0) so reads stay in range.
    """
    fl = math.floor(x)
    f = x - fl
    i = int(fl)
    if f == 0.0:
        return i, i, i, 0.0, 1.0, 0.0, 0.0
    g = 1.0 - f
    # Keys (a = -0.5) in closed form for 0 < f < 1: a f g^2, 1.5 f^3 - 2.5 f^2 + 1, mirror, a g f^2
    return (
        i - 1,
        i + 2,
        i - 1,
        _KEYS_A * f * g * g,
        (1.5 * f - 2.5) * f * f + 1.0,
        (1.5 * g - 2.5) * g * g + 1.0,
        _KEYS_A * g * f * f,
    )


@njit(cache=True, nogil=True, inline="always")
def _bspline3_taps(x: float) -> tuple[int, int, int, float, float, float, float]:
    """Cubic B-spline taps at ``x``: (first, last) index with non-zero weight, the base index, 4 weights.

    At an integer coordinate the fourth weight is 0 (three taps: 1/6, 4/6, 1/6).
    """
    fl, f = _split(x)
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


def _bspline_polynomials(n: int) -> np.ndarray:
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
_BSPLINE_POLY = np.zeros((12, 12, 12))
for _n in (3, 5, 7, 9, 11):
    _BSPLINE_POLY[_n, : _n + 1, : _n + 1] = _bspline_polynomials(_n)


@njit(cache=True, nogil=True, inline="always")
def _bspline_taps(x: float, n: int, w: np.ndarray) -> tuple[int, int]:
    """B-spline of odd order ``n`` at ``x``: ``n + 1`` weights into ``w`` for taps base .. base + n; (base, last).

    Each weight is a polynomial in the fraction (Horner's rule on :data:`_BSPLINE_POLY`).
    At an integer coordinate the last weight is 0 and ``last`` excludes it.
    """
    fl, t = _split(x)
    for k in range(n + 1):
        acc = _BSPLINE_POLY[n, k, n]
        for q in range(n - 1, -1, -1):
            acc = acc * t + _BSPLINE_POLY[n, k, q]
        w[k] = acc
    base = int(fl) - (n - 1) // 2
    return base, base + n if t != 0.0 else base + n - 1


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


@njit(cache=True, nogil=True)
def grid_node_validity(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    grid_mask: np.ndarray,
    use_grid_mask: bool,
    grid_mask_valid_value: int,
    grid_nodata: float,
    use_grid_nodata: bool,
) -> np.ndarray:
    """uint8 validity of every coarse node: finite, not ``grid_nodata`` (either grid), mask valid."""
    nr, nc = grid_row.shape
    out = np.empty((nr, nc), np.uint8)
    for i in range(nr):
        for j in range(nc):
            r = grid_row[i, j]
            c = grid_col[i, j]
            ok = math.isfinite(r) and math.isfinite(c)
            if ok and use_grid_nodata and (r == grid_nodata or c == grid_nodata):
                ok = False
            if ok and use_grid_mask and grid_mask[i, j] != grid_mask_valid_value:
                ok = False
            out[i, j] = 1 if ok else 0
    return out


@njit(cache=True, nogil=True, inline="always")
def _u(i: int) -> Any:
    """An index known to be >= 0 as unsigned: numba then skips its negative-index wraparound code."""
    return np.uint64(i)


@njit(cache=True, nogil=True, inline="always")
def _grid_line(
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


# Side of the source-mask blocks summarised for the nearest fast path.
_BLK = 16


@njit(cache=True, nogil=True)
def _mask_blocks(src_mask: np.ndarray, first: int, last: int, blk_ok: np.ndarray) -> None:
    """``blk_ok[a, b]`` = 1 when the ``_BLK`` x ``_BLK`` mask block (a, b) is all valid (block rows first..last-1)."""
    sh, sw = src_mask.shape
    for a in range(first, last):
        for b in range(blk_ok.shape[1]):
            blk_ok[a, b] = 1
        for r in range(a * _BLK, min((a + 1) * _BLK, sh)):
            for c in range(sw):
                if src_mask[r, c] == 0:
                    blk_ok[a, c // _BLK] = 0


# Value-safe fast-math: FMA contraction and reassociation (results move by ~1 ulp), but no
# finite-math assumptions, so NaN/inf sources and the validity logic are unaffected.
_FASTMATH = {"contract", "reassoc", "nsz", "arcp"}


@njit(cache=True, nogil=True, inline="always")
def _taps_valid(
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


@njit(cache=True, nogil=True, inline="always")
def _separable4(src, r0, r1, r2, r3, c0, c1, c2, c3, wy0, wy1, wy2, wy3, wx0, wx1, wx2, wx3):
    """A 4 x 4 separable kernel: rows ``r0..r3`` weighted ``wy``, columns ``c0..c3`` weighted ``wx``."""
    s0 = wx0 * src[r0, c0] + wx1 * src[r0, c1] + wx2 * src[r0, c2] + wx3 * src[r0, c3]
    s1 = wx0 * src[r1, c0] + wx1 * src[r1, c1] + wx2 * src[r1, c2] + wx3 * src[r1, c3]
    s2 = wx0 * src[r2, c0] + wx1 * src[r2, c1] + wx2 * src[r2, c2] + wx3 * src[r2, c3]
    s3 = wx0 * src[r3, c0] + wx1 * src[r3, c1] + wx2 * src[r3, c2] + wx3 * src[r3, c3]
    return wy0 * s0 + wy1 * s1 + wy2 * s2 + wy3 * s3


@njit(cache=True, nogil=True, inline="always", fastmath=_FASTMATH)
def _segment_bspline(
    n, src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv,
    r_a, r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
):  # fmt: skip
    """Pixels ``jstart..jend-1`` of one grid segment of an output row, B-spline of odd order ``n`` > 3.

    Inlined into one small function per order with ``n`` a constant, so the weight triangle and the
    ``(n + 1) x (n + 1)`` tap loops have fixed trip counts (unrolled). At an integer coordinate the
    last tap has weight 0 and lies beyond the valid stencil: it re-reads the tap before it (0 x a
    finite value adds nothing), as the cubic kernels do, so the loops keep their fixed length.
    """
    sh, sw = src.shape
    for j in range(jstart, jend):
        m = j - base
        s = sv[m]
        valid = v_a and (m == 0 or v_b)
        y = (1.0 - s) * r_a + s * r_b + origin_row
        x = (1.0 - s) * c_a + s * c_b + origin_col
        ocol = j + dcol
        if valid:
            ylo, yhi = _bspline_taps(y, n, wy)
            xlo, xhi = _bspline_taps(x, n, wx)
            ylo -= src_row_off
            yhi -= src_row_off
            xlo -= src_col_off
            xhi -= src_col_off
            valid = _taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
            if valid:
                acc = 0.0
                for a in range(n + 1):
                    r = _u(ylo + a) if a < n else _u(yhi)
                    racc = wx[n] * src[r, _u(xhi)]
                    for b in range(n):
                        racc += wx[b] * src[r, _u(xlo + b)]
                    acc += wy[a] * racc
                out[_u(orow), _u(ocol)] = acc
        if not valid:
            out[orow, ocol] = nodata
        if write_mask:
            out_mask[orow, ocol] = 1 if valid else 0


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _segment_bspline5(
    src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv, r_a,
    r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
):  # fmt: skip
    """:func:`_segment_bspline` for order 5."""
    _segment_bspline(
        5, src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv,
        r_a, r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _segment_bspline7(
    src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv, r_a,
    r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
):  # fmt: skip
    """:func:`_segment_bspline` for order 7."""
    _segment_bspline(
        7, src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv,
        r_a, r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _segment_bspline9(
    src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv, r_a,
    r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
):  # fmt: skip
    """:func:`_segment_bspline` for order 9."""
    _segment_bspline(
        9, src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv,
        r_a, r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _segment_bspline11(
    src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv, r_a,
    r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
):  # fmt: skip
    """:func:`_segment_bspline` for order 11."""
    _segment_bspline(
        11, src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, jstart, jend, base, sv,
        r_a, r_b, c_a, c_b, v_a, v_b, origin_row, origin_col, src_row_off, src_col_off, wy, wx
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _rows(
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
    first: int,
    last: int,
) -> None:
    """Rows ``first..last-1`` of the window for one band: ``src`` and ``out`` are 2-D.

    One specialised pixel loop per kernel (linear, cubic, lanczos3; nearest
    has :func:`_rows_nearest`); within a row the pixels between two grid nodes
    (a segment) share the node values, and the bilinear fractions m / rc come
    from a table (no division per pixel). These kernels are compute-bound:
    hoisting their checks out of the pixel loop was measured not to pay.
    (Specialising on a literal ``kind`` compiled 2x faster but ran cubic 25 % slower: not kept.)
    """
    rr, rc, row0, col0, _, ncols, origin_row, origin_col, src_row_off, src_col_off, out_row0, out_col0 = p
    sh, sw = src.shape
    gnc = grid_row.shape[1]
    sv = np.empty(rc)
    for m in range(rc):
        sv[m] = m / rc
    lr = np.empty(gnc)
    lc = np.empty(gnc)
    lv = np.zeros(gnc, np.bool_)
    wy = np.empty(12)
    wx = np.empty(12)
    dcol = out_col0 - col0
    cs = col0
    ce = col0 + ncols
    jn0 = cs // rc
    jn1 = min((ce - 1) // rc, gnc - 1)
    for ii in range(first, last):
        _grid_line(grid_row, grid_col, node_valid, rr, row0 + ii, jn0, jn1, lr, lc, lv)
        orow = out_row0 + ii
        for k in range(jn0, jn1 + 1):
            k1 = k + 1 if k + 1 < gnc else k
            base = k * rc
            jstart = max(cs, base)
            jend = min(ce, base + rc)
            r_a = lr[k]
            r_b = lr[k1]
            c_a = lc[k]
            c_b = lc[k1]
            v_a = lv[k]
            v_b = lv[k1]
            if kind == KIND_LINEAR:
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
                    ocol = j + dcol
                    if valid:
                        fy0 = math.floor(y)
                        fx0 = math.floor(x)
                        fy = y - fy0
                        fx = x - fx0
                        y0 = fy0 - src_row_off
                        x0 = fx0 - src_col_off
                        # a zero-weight second tap is not needed (nor read)
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
                                    src_mask[y0, x0] == 0
                                    or src_mask[y0, x1] == 0
                                    or src_mask[y1, x0] == 0
                                    or src_mask[y1, x1] == 0
                                )
                            )
                        ):
                            valid = False
                        else:
                            uy0, uy1, ux0, ux1 = _u(y0), _u(y1), _u(x0), _u(x1)
                            top = (1.0 - fx) * src[uy0, ux0] + fx * src[uy0, ux1]
                            bot = (1.0 - fx) * src[uy1, ux0] + fx * src[uy1, ux1]
                            out[_u(orow), _u(ocol)] = (1.0 - fy) * top + fy * bot
                    if not valid:
                        out[orow, ocol] = nodata
                    if write_mask:
                        out_mask[orow, ocol] = 1 if valid else 0
            elif kind == KIND_CUBIC:
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
                    ocol = j + dcol
                    if valid:
                        ylo, yhi, yb, wy0, wy1, wy2, wy3 = _cubic_taps(y)
                        xlo, xhi, xb, wx0, wx1, wx2, wx3 = _cubic_taps(x)
                        ylo -= src_row_off
                        yhi -= src_row_off
                        yb -= src_row_off
                        xlo -= src_col_off
                        xhi -= src_col_off
                        xb -= src_col_off
                        valid = _taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
                        if valid:
                            # at an integer coordinate all four taps are the centre one (weights 0, 1, 0, 0)
                            step_y = 1 if yhi > ylo else 0
                            step_x = 1 if xhi > xlo else 0
                            r0 = _u(yb)
                            r1 = _u(yb + step_y)
                            r2 = _u(yb + 2 * step_y)
                            r3 = _u(yb + 3 * step_y)
                            c0 = _u(xb)
                            c1 = _u(xb + step_x)
                            c2 = _u(xb + 2 * step_x)
                            c3 = _u(xb + 3 * step_x)
                            out[_u(orow), _u(ocol)] = _separable4(
                                src, r0, r1, r2, r3, c0, c1, c2, c3, wy0, wy1, wy2, wy3, wx0, wx1, wx2, wx3
                            )
                    if not valid:
                        out[orow, ocol] = nodata
                    if write_mask:
                        out_mask[orow, ocol] = 1 if valid else 0
            elif kind == KIND_BSPLINE3:
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
                    ocol = j + dcol
                    if valid:
                        ylo, yhi, yb, wy0, wy1, wy2, wy3 = _bspline3_taps(y)
                        xlo, xhi, xb, wx0, wx1, wx2, wx3 = _bspline3_taps(x)
                        ylo -= src_row_off
                        yhi -= src_row_off
                        yb -= src_row_off
                        xlo -= src_col_off
                        xhi -= src_col_off
                        xb -= src_col_off
                        valid = _taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
                        if valid:
                            # at an integer coordinate the fourth tap (weight 0) repeats the third
                            r0 = _u(yb)
                            r1 = _u(yb + 1)
                            r2 = _u(yb + 2)
                            r3 = _u(yhi)
                            c0 = _u(xb)
                            c1 = _u(xb + 1)
                            c2 = _u(xb + 2)
                            c3 = _u(xhi)
                            out[_u(orow), _u(ocol)] = _separable4(
                                src, r0, r1, r2, r3, c0, c1, c2, c3, wy0, wy1, wy2, wy3, wx0, wx1, wx2, wx3
                            )
                    if not valid:
                        out[orow, ocol] = nodata
                    if write_mask:
                        out_mask[orow, ocol] = 1 if valid else 0
            else:
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
                    ocol = j + dcol
                    if valid:
                        ylo, yhi, yb = _lanczos_taps(y, wy)
                        xlo, xhi, xb = _lanczos_taps(x, wx)
                        ylo -= src_row_off
                        yhi -= src_row_off
                        yb -= src_row_off
                        xlo -= src_col_off
                        xhi -= src_col_off
                        xb -= src_col_off
                        valid = _taps_valid(src_mask, use_src_mask, ylo, yhi, xlo, xhi, sh, sw)
                        if valid:
                            acc = 0.0
                            for a in range(6):
                                if wy[a] != 0.0:
                                    racc = 0.0
                                    for b in range(6):
                                        if wx[b] != 0.0:
                                            racc += wx[b] * src[yb + a, xb + b]
                                    acc += wy[a] * racc
                            out[orow, ocol] = acc
                    if not valid:
                        out[orow, ocol] = nodata
                    if write_mask:
                        out_mask[orow, ocol] = 1 if valid else 0


@njit(cache=True, nogil=True)
def _rows_bspline(
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
    first: int,
    last: int,
) -> None:
    """:func:`_rows` for the B-splines of order 5 to 11: the same segments, each through the
    segment loop compiled for its order (a kernel of its own, so that the other kernels'
    first-run compilation does not include these four)."""
    rr, rc, row0, col0, _, ncols, origin_row, origin_col, src_row_off, src_col_off, out_row0, out_col0 = p
    gnc = grid_row.shape[1]
    sv = np.empty(rc)
    for m in range(rc):
        sv[m] = m / rc
    lr = np.empty(gnc)
    lc = np.empty(gnc)
    lv = np.zeros(gnc, np.bool_)
    wy = np.empty(12)
    wx = np.empty(12)
    dcol = out_col0 - col0
    cs = col0
    ce = col0 + ncols
    jn0 = cs // rc
    jn1 = min((ce - 1) // rc, gnc - 1)
    for ii in range(first, last):
        _grid_line(grid_row, grid_col, node_valid, rr, row0 + ii, jn0, jn1, lr, lc, lv)
        orow = out_row0 + ii
        for k in range(jn0, jn1 + 1):
            k1 = k + 1 if k + 1 < gnc else k
            base = k * rc
            args = (src, src_mask, use_src_mask, out, out_mask, write_mask, nodata, orow, dcol, max(cs, base),
                    min(ce, base + rc), base, sv, lr[k], lr[k1], lc[k], lc[k1], lv[k], lv[k1], origin_row,
                    origin_col, src_row_off, src_col_off, wy, wx)  # fmt: skip
            if kind == KIND_BSPLINE5:
                _segment_bspline5(*args)
            elif kind == KIND_BSPLINE7:
                _segment_bspline7(*args)
            elif kind == KIND_BSPLINE9:
                _segment_bspline9(*args)
            else:
                _segment_bspline11(*args)


# Output columns per chunk in the nearest kernel: chunks are processed one after the other (all rows
# of a row block each), so the source footprint of a chunk row stays in L1 from one row to the next.
_NEAREST_CHUNK = 2048


@njit(cache=True, nogil=True)
def _nearest_cells(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    use_src_mask: bool,
    blk_ok: np.ndarray,
    sh: int,
    sw: int,
    origin_row: float,
    origin_col: float,
    src_row_off: int,
    src_col_off: int,
    gi0: int,
    jn0: int,
    first: int,
    last: int,
    cell: np.ndarray,
) -> None:
    """``cell[a, b] = 1`` when every output pixel of grid cell (gi0 + a, jn0 + b) is surely valid.

    The cell spans node rows gi, gi + 1 and node columns k, k + 1 (clamped at
    the last node). Its pixels' coordinates are convex combinations of those
    four nodes, so when the nodes are valid and their bounding box rounds
    inside the source (with a margin far above rounding) and lies in all-valid
    source mask blocks, no pixel of the cell needs a per-pixel check.
    """
    gnr, gnc = grid_row.shape
    eps = 1e-6
    y_lo = eps + src_row_off - origin_row
    y_hi = (sh - 1) - eps + src_row_off - origin_row
    x_lo = eps + src_col_off - origin_col
    x_hi = (sw - 1) - eps + src_col_off - origin_col
    bs = _BLK
    for a in range(first, last):
        gi = gi0 + a
        gi1 = min(gi + 1, gnr - 1)
        for b in range(cell.shape[1]):
            k = jn0 + b
            k1 = min(k + 1, gnc - 1)
            ok = (
                node_valid[gi, k] != 0
                and node_valid[gi, k1] != 0
                and node_valid[gi1, k] != 0
                and node_valid[gi1, k1] != 0
            )
            if ok:
                ymin = min(min(grid_row[gi, k], grid_row[gi, k1]), min(grid_row[gi1, k], grid_row[gi1, k1]))
                ymax = max(max(grid_row[gi, k], grid_row[gi, k1]), max(grid_row[gi1, k], grid_row[gi1, k1]))
                xmin = min(min(grid_col[gi, k], grid_col[gi, k1]), min(grid_col[gi1, k], grid_col[gi1, k1]))
                xmax = max(max(grid_col[gi, k], grid_col[gi, k1]), max(grid_col[gi1, k], grid_col[gi1, k1]))
                ok = ymin >= y_lo and ymax <= y_hi and xmin >= x_lo and xmax <= x_hi
                if ok and use_src_mask:
                    by0 = max(math.floor(ymin + origin_row) - src_row_off - 1, 0)
                    by1 = min(math.floor(ymax + origin_row) - src_row_off + 1, sh - 1)
                    bx0 = max(math.floor(xmin + origin_col) - src_col_off - 1, 0)
                    bx1 = min(math.floor(xmax + origin_col) - src_col_off + 1, sw - 1)
                    for p in range(by0 // bs, by1 // bs + 1):
                        for q in range(bx0 // bs, bx1 // bs + 1):
                            if blk_ok[p, q] == 0:
                                ok = False
            cell[a, b] = 1 if ok else 0


# No fast-math here: the index table and the per-pixel path must round alike (a tie would
# otherwise pick a different pixel depending on the path, e.g. between a chain tile and the core).
@njit(cache=True, nogil=True)
def _rows_nearest(
    src: np.ndarray,
    src_mask: np.ndarray,
    use_src_mask: bool,
    cell: np.ndarray,
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
    """Nearest neighbour for rows ``first..last-1`` of the window, all bands (3-D ``src``/``out``).

    Column chunk by column chunk (``_NEAREST_CHUNK`` output pixels), row by
    row: the grid interpolated to the row (invalid nodes as 0); a table of
    flat source indices ``idx[m, k]`` for pixel ``m`` of segment ``k``, the
    segment loop innermost (long, contiguous, branch-free); then the pixels:
    runs of segments in "sure" cells (see :func:`_nearest_cells`) copy
    ``src[idx]`` with no checks, the other segments take the per-pixel
    checks. Both compute the coordinate as ``t * a + s * b + origin``
    (t = 1 - s) and round with floor(y + 0.5), without fast-math, so they
    agree to the bit.
    """
    rr, rc, row0, col0, _, ncols, origin_row, origin_col, src_row_off, src_col_off, out_row0, out_col0 = p
    nb, sh, sw = src.shape
    plane = sh * sw
    gnr, gnc = grid_row.shape
    src_flat = src.ravel()
    src_base = src_row_off * sw + src_col_off
    ow = out.shape[2]
    oplane = out.shape[1] * ow
    out_flat = out.ravel()
    mask_flat = out_mask.ravel()
    sv = np.empty(rc)
    tv = np.empty(rc)
    for m in range(rc):
        sv[m] = m / rc
        tv[m] = 1.0 - sv[m]
    lr = np.empty(gnc + 1)
    lc = np.empty(gnc + 1)
    lv = np.empty(gnc + 1, np.bool_)
    cs = col0
    ce = col0 + ncols
    jn0 = cs // rc
    jn1 = min((ce - 1) // rc, gnc - 1)
    nseg = max(1, _NEAREST_CHUNK // rc)
    idx = np.empty((rc, nseg), np.int64)
    dcol = out_col0 - col0
    gi0 = row0 // rr
    # column chunks outermost: the source footprint of a chunk row stays in L1 from row to row
    for c0 in range(jn0, jn1 + 1, nseg):
        c1 = min(c0 + nseg, jn1 + 1)
        kend = min(c1, gnc - 1)
        for ii in range(first, last):
            i = row0 + ii
            gi = i // rr
            t = (i - gi * rr) / rr
            gi1 = gi + 1 if (t > 0.0 and gi + 1 < gnr) else gi
            tt = 1.0 - t
            g_r0 = grid_row[gi]
            g_r1 = grid_row[gi1]
            g_c0 = grid_col[gi]
            g_c1 = grid_col[gi1]
            n_0 = node_valid[gi]
            n_1 = node_valid[gi1]
            for k in range(c0, kend + 1):
                uk = _u(k)
                va = n_0[uk] != 0
                vb = n_1[uk] != 0
                a = g_r0[uk] if va else 0.0
                b = g_r1[uk] if vb else 0.0
                c = g_c0[uk] if va else 0.0
                d = g_c1[uk] if vb else 0.0
                lr[uk] = tt * a + t * b
                lc[uk] = tt * c + t * d
                lv[uk] = va and vb
            lr[kend + 1] = lr[kend]
            lc[kend + 1] = lc[kend]
            lv[kend + 1] = lv[kend]
            orow = out_row0 + ii
            crow = cell[gi - gi0]
            any_fast = False
            for k in range(c0, c1):
                if crow[k - jn0] != 0:
                    any_fast = True
                    break
            if any_fast:
                # unsigned indices: no negative-index wraparound code in the loop
                lr_c = lr[_u(c0) :]
                lc_c = lc[_u(c0) :]
                for m in range(rc):
                    s = sv[m]
                    tm = tv[m]
                    irow = idx[m]
                    for q in range(c1 - c0):
                        uq = _u(q)
                        y = tm * lr_c[uq] + s * lr_c[uq + 1] + origin_row
                        x = tm * lc_c[uq] + s * lc_c[uq + 1] + origin_col
                        irow[uq] = np.int64(math.floor(y + 0.5)) * sw + np.int64(math.floor(x + 0.5)) - src_base
            k = c0
            while k < c1:
                base = k * rc
                jstart = max(cs, base)
                jend = min(ce, base + rc)
                kk = k - c0
                if crow[k - jn0] != 0 and jstart == base and jend == base + rc:
                    # a run of whole sure segments, pixel m of every segment at a time: long inner
                    # loops (the output row stays in cache), and one memset for the mask
                    kr = k + 1
                    while kr < c1 and crow[kr - jn0] != 0 and kr * rc + rc <= ce:
                        kr += 1
                    orow_off = orow * ow + dcol
                    for band in range(nb):
                        boff = band * plane
                        for m in range(rc):
                            irow = idx[_u(m)]
                            ob = band * oplane + orow_off + m
                            for q in range(kk, kr - c0):
                                out_flat[_u(ob + (c0 + q) * rc)] = src_flat[_u(irow[_u(q)] + boff)]
                    if write_mask:
                        mask_flat[_u(orow_off + base) : _u(orow_off + kr * rc)] = 1
                    k = kr
                    continue
                kseg = k
                k += 1
                if crow[kseg - jn0] != 0:
                    # flat indices: no array views (and their reference counting) per segment
                    # (the mask is set in the band-0 loop: a loop of its own becomes a memset call)
                    orow_off = orow * ow + dcol + base
                    if write_mask:
                        for m in range(jstart - base, jend - base):
                            out_flat[_u(orow_off + m)] = src_flat[_u(idx[_u(m), _u(kk)])]
                            mask_flat[_u(orow_off + m)] = 1
                    else:
                        for m in range(jstart - base, jend - base):
                            out_flat[_u(orow_off + m)] = src_flat[_u(idx[_u(m), _u(kk)])]
                    for band in range(1, nb):
                        boff = band * plane
                        obase = band * oplane + orow_off
                        for m in range(jstart - base, jend - base):
                            out_flat[_u(obase + m)] = src_flat[_u(idx[_u(m), _u(kk)] + boff)]
                    continue
                k1 = kseg + 1 if kseg + 1 < gnc else kseg
                r_a = lr[kseg]
                r_b = lr[k1]
                c_a = lc[kseg]
                c_b = lc[k1]
                v_a = lv[kseg]
                v_b = lv[k1]
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    tm = tv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = tm * r_a + s * r_b + origin_row
                    x = tm * c_a + s * c_b + origin_col
                    iy = math.floor(y + 0.5) - src_row_off
                    ix = math.floor(x + 0.5) - src_col_off
                    ocol = j + dcol
                    if (
                        valid
                        and iy >= 0
                        and ix >= 0
                        and iy < sh
                        and ix < sw
                        and (not use_src_mask or src_mask[iy, ix] != 0)
                    ):
                        for band in range(nb):
                            out[_u(band), _u(orow), _u(ocol)] = src[_u(band), _u(iy), _u(ix)]
                        if write_mask:
                            out_mask[_u(orow), _u(ocol)] = 1
                    else:
                        for band in range(nb):
                            out[_u(band), _u(orow), _u(ocol)] = nodata
                        if write_mask:
                            out_mask[_u(orow), _u(ocol)] = 0


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
    in parallel (prange). Nearest is a kernel of its own; the interpolating
    kernels share one row loop (one compilation per source/output dtype).
    """
    nblocks = max(1, min(p.nrows, nblocks))
    if kind == KIND_NEAREST:
        _nearest_window(src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask,
                        nodata, nblocks)  # fmt: skip
    elif kind > KIND_BSPLINE3:
        _bspline_window(kind, src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask,
                        write_mask, nodata, nblocks)  # fmt: skip
    else:
        _interp_window(kind, src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask,
                       write_mask, nodata, nblocks)  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def _interp_window(
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
    """Row blocks in parallel, one band at a time on 2-D views (the per-band index arithmetic is
    what costs most in the hot loops)."""
    nb = src.shape[0]
    nrows = p.nrows
    for blk in prange(nblocks):
        first = blk * nrows // nblocks
        last = (blk + 1) * nrows // nblocks
        for band in range(nb):
            _rows(kind, src[band], src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out[band], out_mask,
                  write_mask and band == 0, nodata, first, last)  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def _bspline_window(
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
    """:func:`_interp_window` for the B-splines of order 5 to 11 (:func:`_rows_bspline`)."""
    nb = src.shape[0]
    nrows = p.nrows
    for blk in prange(nblocks):
        first = blk * nrows // nblocks
        last = (blk + 1) * nrows // nblocks
        for band in range(nb):
            _rows_bspline(kind, src[band], src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out[band],
                          out_mask, write_mask and band == 0, nodata, first, last)  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def _nearest_window(
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
    """:func:`resample_window` for nearest: sure cells first, then row blocks in parallel."""
    rr, rc, row0, col0, nrows, ncols, origin_row, origin_col, src_row_off, src_col_off, _, _ = p
    _, sh, sw = src.shape
    gnr, gnc = grid_row.shape
    if use_src_mask:
        blk_ok = np.empty(((sh + _BLK - 1) // _BLK, (sw + _BLK - 1) // _BLK), np.uint8)
        nbr = blk_ok.shape[0]
        nmb = max(1, min(nbr, nblocks))
        for blk in prange(nmb):
            _mask_blocks(src_mask, blk * nbr // nmb, (blk + 1) * nbr // nmb, blk_ok)
    else:
        blk_ok = np.zeros((1, 1), np.uint8)
    gi0 = row0 // rr
    gi1 = min((row0 + nrows - 1) // rr, gnr - 1)
    jn0 = col0 // rc
    jn1 = min((col0 + ncols - 1) // rc, gnc - 1)
    cell = np.empty((gi1 - gi0 + 1, jn1 - jn0 + 1), np.uint8)
    ncr = cell.shape[0]
    ncb = max(1, min(ncr, nblocks))
    for blk in prange(ncb):
        _nearest_cells(
            grid_row, grid_col, node_valid, use_src_mask, blk_ok, sh, sw, origin_row, origin_col, src_row_off,
            src_col_off, gi0, jn0, blk * ncr // ncb, (blk + 1) * ncr // ncb, cell,
        )  # fmt: skip
    for blk in prange(nblocks):
        _rows_nearest(src, src_mask, use_src_mask, cell, grid_row, grid_col, node_valid, p, out, out_mask,
                      write_mask, nodata, blk * nrows // nblocks, (blk + 1) * nrows // nblocks)  # fmt: skip
