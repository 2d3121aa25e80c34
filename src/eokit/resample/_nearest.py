"""Nearest-neighbour kernel (gridr's ``nearest``: source pixel ``floor(y + 0.5), floor(x + 0.5)``).

A kernel of its own rather than a segment function: grid cells whose every
pixel is surely valid are found first on the coarse grid, their source
indices are computed into a small table per column chunk (long, branch-free
loops), and runs of such cells are copied without per-pixel checks.
:func:`nearest_window` takes the arguments every family's window takes
(:data:`eokit.resample._placement.WINDOW_SIGNATURE`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from eokit.resample._placement import Placement, run_blocks, u

__all__ = ["nearest_window"]

# Side of the source-mask blocks summarised for the nearest fast path.
_BLK = 16


@njit(cache=True, nogil=True)
def _mask_blocks(src_mask: np.ndarray, blk_ok: np.ndarray, first: int, last: int) -> None:
    """``blk_ok[a, b]`` = 1 when the ``_BLK`` x ``_BLK`` mask block (a, b) is all valid (block rows first..last-1)."""
    sh, sw = src_mask.shape
    for a in range(first, last):
        for b in range(blk_ok.shape[1]):
            blk_ok[a, b] = 1
        for r in range(a * _BLK, min((a + 1) * _BLK, sh)):
            for c in range(sw):
                if src_mask[r, c] == 0:
                    blk_ok[a, c // _BLK] = 0


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
    cell: np.ndarray,
    first: int,
    last: int,
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
                uk = u(k)
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
                lr_c = lr[u(c0) :]
                lc_c = lc[u(c0) :]
                for m in range(rc):
                    s = sv[m]
                    tm = tv[m]
                    irow = idx[m]
                    for q in range(c1 - c0):
                        uq = u(q)
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
                            irow = idx[u(m)]
                            ob = band * oplane + orow_off + m
                            for q in range(kk, kr - c0):
                                out_flat[u(ob + (c0 + q) * rc)] = src_flat[u(irow[u(q)] + boff)]
                    if write_mask:
                        mask_flat[u(orow_off + base) : u(orow_off + kr * rc)] = 1
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
                            out_flat[u(orow_off + m)] = src_flat[u(idx[u(m), u(kk)])]
                            mask_flat[u(orow_off + m)] = 1
                    else:
                        for m in range(jstart - base, jend - base):
                            out_flat[u(orow_off + m)] = src_flat[u(idx[u(m), u(kk)])]
                    for band in range(1, nb):
                        boff = band * plane
                        obase = band * oplane + orow_off
                        for m in range(jstart - base, jend - base):
                            out_flat[u(obase + m)] = src_flat[u(idx[u(m), u(kk)] + boff)]
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
                            out[u(band), u(orow), u(ocol)] = src[u(band), u(iy), u(ix)]
                        if write_mask:
                            out_mask[u(orow), u(ocol)] = 1
                    else:
                        for band in range(nb):
                            out[u(band), u(orow), u(ocol)] = nodata
                        if write_mask:
                            out_mask[u(orow), u(ocol)] = 0


def nearest_window(
    src, src_mask, use_src_mask, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata, nblocks
):
    """Nearest neighbour for the window of ``p``, in ``nblocks`` blocks on threads (see
    :func:`eokit.resample._placement.run_blocks`): the all-valid source mask blocks, then the sure
    cells, then the rows."""
    rr, rc, row0, col0, nrows, ncols, origin_row, origin_col, src_row_off, src_col_off, _, _ = p
    _, sh, sw = src.shape
    gnr, gnc = grid_row.shape
    if use_src_mask:
        blk_ok = np.empty(((sh + _BLK - 1) // _BLK, (sw + _BLK - 1) // _BLK), np.uint8)
        run_blocks(_mask_blocks, (src_mask, blk_ok), blk_ok.shape[0], nblocks)
    else:
        blk_ok = np.zeros((1, 1), np.uint8)
    gi0 = row0 // rr
    gi1 = min((row0 + nrows - 1) // rr, gnr - 1)
    jn0 = col0 // rc
    jn1 = min((col0 + ncols - 1) // rc, gnc - 1)
    cell = np.empty((gi1 - gi0 + 1, jn1 - jn0 + 1), np.uint8)
    args = (grid_row, grid_col, node_valid, use_src_mask, blk_ok, sh, sw, origin_row, origin_col, src_row_off,
            src_col_off, gi0, jn0, cell)  # fmt: skip
    run_blocks(_nearest_cells, args, cell.shape[0], nblocks)
    args = (src, src_mask, use_src_mask, cell, grid_row, grid_col, node_valid, p, out, out_mask, write_mask, nodata)
    run_blocks(_rows_nearest, args, nrows, nblocks)
