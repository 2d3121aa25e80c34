"""numba kernels for eokit.urban: numpy in, numpy out; no CRS, no files.

Shortest-path searches are in :mod:`eokit.urban._search_kernels`.

- :func:`majority_fill_pass`: one pass of the GHSL conditional majority rule.
- :func:`union_find_*`: a tiny disjoint-set forest used by the block labeller.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["majority_fill_pass", "uf_find", "uf_union_pairs"]

_DR = np.array([-1, -1, -1, 0, 0, 1, 1, 1], dtype=np.int64)
_DC = np.array([-1, 0, 1, -1, 1, -1, 0, 1], dtype=np.int64)


@njit(cache=True, nogil=True)
def majority_fill_pass(labels, candidate, min_votes):
    """One pass of the conditional majority rule.

    A cell with ``labels == 0`` and ``candidate`` True takes label ``L`` when at
    least ``min_votes`` of its 8 neighbours carry ``L``. All decisions read the
    input labels (a synchronous pass). Returns ``(new_labels, changed)``.
    """
    rows, cols = labels.shape
    out = labels.copy()
    changed = 0
    vals = np.zeros(8, dtype=labels.dtype)
    for r in range(rows):
        for c in range(cols):
            if labels[r, c] != 0 or not candidate[r, c]:
                continue
            m = 0
            for k in range(8):
                rr = r + _DR[k]
                cc = c + _DC[k]
                if 0 <= rr < rows and 0 <= cc < cols and labels[rr, cc] != 0:
                    vals[m] = labels[rr, cc]
                    m += 1
            if m < min_votes:
                continue
            for i in range(m):
                cnt = 0
                for j in range(m):
                    if vals[j] == vals[i]:
                        cnt += 1
                if cnt >= min_votes:
                    out[r, c] = vals[i]
                    changed += 1
                    break
    return out, changed


@njit(cache=True)
def uf_find(parent, x):
    """Root of ``x`` with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def uf_union_pairs(parent, a, b):
    """Union every ``(a[i], b[i])`` pair (smaller root wins)."""
    for i in range(a.shape[0]):
        ra = uf_find(parent, a[i])
        rb = uf_find(parent, b[i])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb


@njit(cache=True)
def uf_flatten(parent):
    """Point every node at its root."""
    for i in range(parent.shape[0]):
        parent[i] = uf_find(parent, i)
    return parent


@njit(cache=True, nogil=True)
def _append_run(runs, m, y, xs, xe, g):
    """Store run ``(row, col_start, col_end, geometry)`` at index ``m`` of ``runs``, doubling it when full."""
    if m >= runs.shape[0]:
        grown = np.empty((2 * runs.shape[0], 4), dtype=np.int64)
        grown[:m] = runs[:m]
        runs = grown
    runs[m, 0] = y
    runs[m, 1] = xs
    runs[m, 2] = xe
    runs[m, 3] = g
    return runs


@njit(cache=True, nogil=True)
def fill_polygons(px, py, ring_start, ring_geom, n_geoms, rows, cols):
    """Cells whose centre is inside each polygon, by GDAL's scanline rule.

    ``px``/``py`` are vertex coordinates in fractional pixel units (column, row)
    of closed rings; ring ``k`` spans ``ring_start[k]:ring_start[k+1]`` and
    belongs to geometry ``ring_geom[k]`` (rings grouped by geometry). The rule
    is GDAL's ``GDALdllImageFilledPolygon`` (used by ``rasterio.features.rasterize``
    and so by rasterstats): on the scanline through each row's cell centres,
    edge crossings are taken half-open (``y1 <= y < y2``), sorted and paired;
    a pair ``(x0, x1)`` fills columns ``floor(x0 + .5) .. floor(x1 + .5) - 1``;
    horizontal edges lying exactly on the scanline are filled when they run
    right to left. Returns ``(runs, n_horizontal)`` with runs ``(row, x_start, x_end, geometry)``;
    when ``n_horizontal > 0`` a pixel may be listed twice for one geometry.

    Edge-driven: each edge adds its crossings to the rows it spans (bucketed by
    row), so the cost follows the number of crossings, not rows x edges.
    """
    nh = 0
    runs = np.empty((1 << 12, 4), dtype=np.int64)  # row, x_start, x_end, geometry
    m = 0
    n_rings = ring_start.shape[0] - 1
    cnt = np.zeros(64, dtype=np.int64)
    ints = np.empty(64, dtype=np.float64)
    k0 = 0
    for g in range(n_geoms):
        k1 = k0
        while k1 < n_rings and ring_geom[k1] == g:
            k1 += 1
        if k1 == k0:
            continue
        a = ring_start[k0]
        b = ring_start[k1]
        ymin = np.inf
        ymax = -np.inf
        for i in range(a, b):
            if py[i] < ymin:
                ymin = py[i]
            if py[i] > ymax:
                ymax = py[i]
        r0 = max(int(np.floor(ymin - 0.5)), 0)
        r1 = min(int(np.floor(ymax - 0.5)) + 1, rows - 1)
        if r1 < r0:
            k0 = k1
            continue
        nr = r1 - r0 + 1
        if nr + 1 > cnt.shape[0]:
            cnt = np.zeros(2 * (nr + 1), dtype=np.int64)
        cnt[: nr + 1] = 0
        # pass 1: crossings per row (rows y with dy1 <= y + .5 < dy2); horizontal edges on a scanline
        for pas in range(2):
            if pas == 1:
                total = 0
                for j in range(nr):
                    c = cnt[j]
                    cnt[j] = total
                    total += c
                cnt[nr] = total
                if total > ints.shape[0]:
                    ints = np.empty(2 * total, dtype=np.float64)
            for k in range(k0, k1):
                s = ring_start[k]
                e = ring_start[k + 1]
                for i in range(s, e):
                    if i == s:
                        i1 = e - 1
                    else:
                        i1 = i - 1
                    i2 = i
                    dy1 = py[i1]
                    dy2 = py[i2]
                    if dy1 == dy2:
                        if pas == 0 and px[i1] > px[i2]:
                            yh = dy1 - 0.5
                            y = int(np.floor(yh))
                            if y == yh and r0 <= y <= r1:
                                nh += 1
                                hx1 = max(int(np.floor(px[i2] + 0.5)), 0)
                                hx2 = min(int(np.floor(px[i1] + 0.5)), cols)
                                if hx2 > hx1:
                                    runs = _append_run(runs, m, y, hx1, hx2, g)
                                    m += 1
                        continue
                    if dy1 < dy2:
                        dx1 = px[i1]
                        dx2 = px[i2]
                    else:
                        dy2 = py[i1]
                        dy1 = py[i2]
                        dx2 = px[i1]
                        dx1 = px[i2]
                    ys = max(int(np.ceil(dy1 - 0.5)), r0)
                    while ys > r0 and ys - 0.5 >= dy1:
                        ys -= 1
                    while ys + 0.5 < dy1:
                        ys += 1
                    ye = min(int(np.ceil(dy2 - 0.5)), r1 + 1)  # exclusive
                    while ye > ys and ye - 0.5 >= dy2:
                        ye -= 1
                    while ye <= r1 and ye + 0.5 < dy2:
                        ye += 1
                    for y in range(ys, ye):
                        j = y - r0
                        if pas == 0:
                            cnt[j] += 1
                        else:
                            dy = y + 0.5
                            ints[cnt[j]] = (dy - dy1) * (dx2 - dx1) / (dy2 - dy1) + dx1
                            cnt[j] += 1
        # after pass 2, cnt[j] is the end of row j's crossings (its start is cnt[j - 1], or 0)
        prev = 0
        for j in range(nr):
            lo = prev
            hi = cnt[j]
            prev = hi
            n_int = hi - lo
            if n_int < 2:
                continue
            # insertion sort (rows hold few crossings)
            for u in range(lo + 1, hi):
                v = ints[u]
                w = u - 1
                while w >= lo and ints[w] > v:
                    ints[w + 1] = ints[w]
                    w -= 1
                ints[w + 1] = v
            y = r0 + j
            for t in range(lo, hi - 1, 2):
                xs = max(int(np.floor(ints[t] + 0.5)), 0)
                xe = min(int(np.floor(ints[t + 1] + 0.5)), cols)
                if xe > xs:
                    runs = _append_run(runs, m, y, xs, xe, g)
                    m += 1
        k0 = k1
    return runs[:m], nh


@njit(cache=True, nogil=True)
def expand_runs(runs, cols):
    """Flat pixel index and zone of every cell of ``runs`` (row, x_start, x_end, zone), in run order."""
    total = 0
    for i in range(runs.shape[0]):
        total += runs[i, 2] - runs[i, 1]
    pix = np.empty(total, dtype=np.int64)
    geom = np.empty(total, dtype=np.int64)
    m = 0
    for i in range(runs.shape[0]):
        base = runs[i, 0] * cols
        g = runs[i, 3]
        for x in range(runs[i, 1], runs[i, 2]):
            pix[m] = base + x
            geom[m] = g
            m += 1
    return pix, geom


@njit(cache=True, nogil=True)
def merge_runs(runs):
    """Merge overlapping or touching runs of one zone on one row; ``runs`` sorted by (zone, row, x_start)."""
    out = np.empty_like(runs)
    m = 0
    for i in range(runs.shape[0]):
        if m > 0 and out[m - 1, 3] == runs[i, 3] and out[m - 1, 0] == runs[i, 0] and runs[i, 1] <= out[m - 1, 2]:
            if runs[i, 2] > out[m - 1, 2]:
                out[m - 1, 2] = runs[i, 2]
            continue
        out[m] = runs[i]
        m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def pixels_to_runs(pix, zone, cols):
    """Runs (row, x_start, x_end, zone) of flat pixel indices, consecutive along a row within a zone."""
    n = pix.shape[0]
    runs = np.empty((n, 4), dtype=np.int64)
    m = 0
    for i in range(n):
        r = pix[i] // cols
        x = pix[i] - r * cols
        if m > 0 and runs[m - 1, 3] == zone[i] and runs[m - 1, 0] == r and runs[m - 1, 2] == x:
            runs[m - 1, 2] = x + 1
            continue
        runs[m, 0] = r
        runs[m, 1] = x
        runs[m, 2] = x + 1
        runs[m, 3] = zone[i]
        m += 1
    return runs[:m].copy()


@njit(cache=True, nogil=True)
def label_runs(lab):
    """Runs (row, x_start, x_end, label) of equal positive labels along each row of a 2-D label array."""
    rows, cols = lab.shape
    runs = np.empty((1 << 12, 4), dtype=np.int64)
    m = 0
    for r in range(rows):
        c = 0
        while c < cols:
            v = lab[r, c]
            if v <= 0:
                c += 1
                continue
            e = c + 1
            while e < cols and lab[r, e] == v:
                e += 1
            runs = _append_run(runs, m, r, c, e, np.int64(v))
            m += 1
            c = e
    return runs[:m].copy()


@njit(cache=True, nogil=True)
def _run_is_clean(row, a, b, nodata, use_nodata, min_value, use_min):
    """True when ``row[a:b]`` holds no NaN, no nodata and nothing below ``min_value``."""
    bad = False
    for x in range(a, b):
        v = np.float64(row[x])
        bad |= (v != v) | (use_nodata & (v == nodata)) | (use_min & (v < min_value))
    return not bad


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "nnan"})
def _run_sum_min_max(row, a, b):
    """Sum (float64), min and max of ``row[a:b]`` (no NaN in it): vectorised, as the sum may be
    reassociated (float64 rounding differences only)."""
    tot = 0.0
    lo = np.inf
    hi = -np.inf
    for x in range(a, b):
        v = np.float64(row[x])
        tot += v
        lo = min(lo, v)
        hi = max(hi, v)
    return tot, lo, hi


@njit(cache=True, nogil=True)
def reduce_runs(strip, r0, c0, runs, count, total, vmin, vmax, nod, nodata, use_nodata, min_value, use_min):
    """Accumulate count, sum (float64), min, max and nodata count per zone over ``runs`` (in place).

    ``strip`` holds raster rows ``r0..`` and columns ``c0..``; run ``(row, x0, x1, zone)``
    reads ``strip[row - r0, x0 - c0 : x1 - c0]``. NaN (and ``nodata`` when ``use_nodata``)
    is nodata; values below ``min_value`` (when ``use_min``) are skipped. No copy of the
    raster is made; the values are converted to float64 one at a time. Runs without
    nodata take a vectorised path.
    """
    for i in range(runs.shape[0]):
        row = strip[runs[i, 0] - r0]
        z = runs[i, 3]
        xa = runs[i, 1] - c0
        xb = runs[i, 2] - c0
        if _run_is_clean(row, xa, xb, nodata, use_nodata, min_value, use_min):
            tot, lo, hi = _run_sum_min_max(row, xa, xb)
            count[z] += xb - xa
            total[z] += tot
            if lo < vmin[z]:
                vmin[z] = lo
            if hi > vmax[z]:
                vmax[z] = hi
            continue
        cnt = 0
        nd = 0
        tot = 0.0
        lo = vmin[z]
        hi = vmax[z]
        for x in range(xa, xb):
            v = np.float64(row[x])
            if np.isnan(v) or (use_nodata and v == nodata):
                nd += 1
                continue
            if use_min and v < min_value:
                continue
            cnt += 1
            tot += v
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        count[z] += cnt
        nod[z] += nd
        total[z] += tot
        vmin[z] = lo
        vmax[z] = hi
