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
read the source in its native dtype; accumulation is float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "KIND_CUBIC",
    "KIND_LANCZOS3",
    "KIND_LINEAR",
    "KIND_NEAREST",
    "MARGINS",
    "grid_node_validity",
    "resample_window",
]

KIND_NEAREST = 0
KIND_LINEAR = 1
KIND_CUBIC = 2
KIND_LANCZOS3 = 3

# Taps (before, after) the floor/round position that a kernel may touch, i.e.
# the padding a boundary condition has to provide on each side.
MARGINS = {KIND_NEAREST: 1, KIND_LINEAR: 1, KIND_CUBIC: 2, KIND_LANCZOS3: 3}

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
def _u(i: int) -> int:
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


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _rows(
    kind: int,
    src: np.ndarray,
    src_mask: np.ndarray,
    use_src_mask: bool,
    blk_ok: np.ndarray,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    rr: int,
    rc: int,
    row0: int,
    col0: int,
    ncols: int,
    origin_row: float,
    origin_col: float,
    src_row_off: int,
    src_col_off: int,
    out: np.ndarray,
    out_row0: int,
    out_col0: int,
    out_mask: np.ndarray,
    write_mask: bool,
    nodata: float,
    first: int,
    last: int,
) -> None:
    """Rows ``first..last-1`` of the window for one band: ``src`` and ``out`` are 2-D.

    One specialised pixel loop per kernel; within a row the pixels between
    two grid nodes (a segment) share the node values, and the bilinear
    fractions m / rc come from a table (no division per pixel). For nearest,
    a segment whose two nodes are valid and whose footprint lies inside the
    source (and, with a source mask, inside all-valid mask blocks) runs a
    loop without per-pixel bounds, mask or node checks: the coordinates of
    its pixels are convex combinations of the two node values, so the nodes
    bound the footprint (with a margin far above rounding). Both loops
    compute the coordinates with the same expression.
    """
    sh, sw = src.shape
    gnc = grid_row.shape[1]
    sv = np.empty(rc)
    for m in range(rc):
        sv[m] = m / rc
    lr = np.empty(gnc)
    lc = np.empty(gnc)
    lv = np.zeros(gnc, np.bool_)
    wy = np.empty(6)
    wx = np.empty(6)
    # node coordinates (before the origin shift) for which floor(y + 0.5) is surely inside the
    # source, with a margin far above the rounding of the in-between coordinates
    eps = 1e-6
    y_lo = eps + src_row_off - origin_row
    y_hi = (sh - 1) - eps + src_row_off - origin_row
    x_lo = eps + src_col_off - origin_col
    x_hi = (sw - 1) - eps + src_col_off - origin_col
    bs = _BLK
    dcol = out_col0 - col0
    # whole output rows, in order: the source is then walked along its rows (column
    # chunks were measured 1.5-2x slower under rotation)
    cs = col0
    ce = col0 + ncols
    jn0 = cs // rc
    jn1 = min((ce - 1) // rc, gnc - 1)
    for ii in range(first, last):
        _grid_line(grid_row, grid_col, node_valid, rr, row0 + ii, jn0, jn1, lr, lc, lv)
        orow = out_row0 + ii
        out_v = out[_u(orow)]
        mrow_v = out_mask[orow if write_mask else 0]
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
            # nearest: a segment whose nodes are valid and whose footprint is inside the source
            # (and in all-valid mask blocks) needs no per-pixel checks. The other kernels are
            # compute-bound: hoisting their checks was measured not to pay.
            fast = (
                kind == KIND_NEAREST
                and v_a
                and v_b
                and min(r_a, r_b) >= y_lo
                and max(r_a, r_b) <= y_hi
                and min(c_a, c_b) >= x_lo
                and max(c_a, c_b) <= x_hi
            )
            if fast and use_src_mask:
                # the footprint's mask blocks must all be valid
                by0 = math.floor(min(r_a, r_b) + origin_row) - src_row_off - 1
                by1 = math.floor(max(r_a, r_b) + origin_row) - src_row_off + 1
                bx0 = math.floor(min(c_a, c_b) + origin_col) - src_col_off - 1
                bx1 = math.floor(max(c_a, c_b) + origin_col) - src_col_off + 1
                for a in range(max(by0, 0) // bs, min(by1, sh - 1) // bs + 1):
                    for b in range(max(bx0, 0) // bs, min(bx1, sw - 1) // bs + 1):
                        if blk_ok[a, b] == 0:
                            fast = False
            if fast:
                for j in range(jstart, jend):
                    s = sv[j - base]
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
                    iy = math.floor(y + 0.5) - src_row_off
                    ix = math.floor(x + 0.5) - src_col_off
                    out_v[_u(j + dcol)] = src[_u(iy), _u(ix)]
                    if write_mask:
                        mrow_v[_u(j + dcol)] = 1
                continue
            if kind == KIND_NEAREST:
                for j in range(jstart, jend):
                    m = j - base
                    s = sv[m]
                    valid = v_a and (m == 0 or v_b)
                    y = (1.0 - s) * r_a + s * r_b + origin_row
                    x = (1.0 - s) * c_a + s * c_b + origin_col
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
                        out[_u(orow), _u(ocol)] = src[_u(iy), _u(ix)]
                        if write_mask:
                            out_mask[_u(orow), _u(ocol)] = 1
                    else:
                        out[_u(orow), _u(ocol)] = nodata
                        if write_mask:
                            out_mask[_u(orow), _u(ocol)] = 0
            elif kind == KIND_LINEAR:
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
                        if ylo < 0 or xlo < 0 or yhi >= sh or xhi >= sw:
                            valid = False
                        elif use_src_mask:
                            for a in range(ylo, yhi + 1):
                                for b in range(xlo, xhi + 1):
                                    if src_mask[a, b] == 0:
                                        valid = False
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
                            s0 = wx0 * src[r0, c0] + wx1 * src[r0, c1] + wx2 * src[r0, c2] + wx3 * src[r0, c3]
                            s1 = wx0 * src[r1, c0] + wx1 * src[r1, c1] + wx2 * src[r1, c2] + wx3 * src[r1, c3]
                            s2 = wx0 * src[r2, c0] + wx1 * src[r2, c1] + wx2 * src[r2, c2] + wx3 * src[r2, c3]
                            s3 = wx0 * src[r3, c0] + wx1 * src[r3, c1] + wx2 * src[r3, c2] + wx3 * src[r3, c3]
                            out[_u(orow), _u(ocol)] = wy0 * s0 + wy1 * s1 + wy2 * s2 + wy3 * s3
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
                        if ylo < 0 or xlo < 0 or yhi >= sh or xhi >= sw:
                            valid = False
                        elif use_src_mask:
                            for a in range(ylo, yhi + 1):
                                for b in range(xlo, xhi + 1):
                                    if src_mask[a, b] == 0:
                                        valid = False
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


@njit(cache=True, nogil=True, parallel=True)
def resample_window(
    kind: int,
    src: np.ndarray,
    src_mask: np.ndarray,
    use_src_mask: bool,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    rr: int,
    rc: int,
    row0: int,
    col0: int,
    nrows: int,
    ncols: int,
    origin_row: float,
    origin_col: float,
    src_row_off: int,
    src_col_off: int,
    out: np.ndarray,
    out_row0: int,
    out_col0: int,
    out_mask: np.ndarray,
    write_mask: bool,
    nodata: float,
    nblocks: int,
) -> None:
    """Resample the full-resolution window ``[row0, row0+nrows) x [col0, col0+ncols)``.

    ``src`` is (bands, rows, cols) in any numeric dtype; ``src_mask`` (rows, cols)
    uint8, non-zero valid (ignored unless ``use_src_mask``). Coordinates are
    shifted by ``origin_row``/``origin_col`` before sampling; ``src[:, 0, 0]`` is
    the source pixel ``(src_row_off, src_col_off)`` (integer, so a window read
    gives bit-identical results). Results go to
    ``out[:, out_row0 + i, out_col0 + j]`` (and ``out_mask`` when ``write_mask``).
    Rows are split into ``nblocks`` blocks processed in parallel (prange).
    """
    # the row kernel is compiled once, serially, which keeps the parfor (and its compile time) tiny
    nblocks = max(1, min(nrows, nblocks))
    # one band at a time on 2-D views: the per-band index arithmetic is what costs most in the hot loops
    nb = src.shape[0]
    if use_src_mask and kind == KIND_NEAREST:
        blk_ok = np.empty(((src_mask.shape[0] + _BLK - 1) // _BLK, (src_mask.shape[1] + _BLK - 1) // _BLK), np.uint8)
        nbr = blk_ok.shape[0]
        nmb = max(1, min(nbr, nblocks))
        for blk in prange(nmb):
            _mask_blocks(src_mask, blk * nbr // nmb, (blk + 1) * nbr // nmb, blk_ok)
    else:
        blk_ok = np.zeros((1, 1), np.uint8)
    for blk in prange(nblocks):
        first = blk * nrows // nblocks
        last = (blk + 1) * nrows // nblocks
        for band in range(nb):
            _rows(
                kind, src[band], src_mask, use_src_mask, blk_ok, grid_row, grid_col, node_valid, rr, rc, row0, col0, ncols,
                origin_row, origin_col, src_row_off, src_col_off, out[band], out_row0, out_col0, out_mask,
                write_mask and band == 0, nodata, first, last,
            )  # fmt: skip
