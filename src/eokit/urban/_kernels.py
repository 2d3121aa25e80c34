"""numba kernels for eokit.urban: numpy in, numpy out; no CRS, no files.

- :func:`dijkstra_grid`: single-origin accumulated cost over an 8-neighbour
  grid whose step cost is the mean of the two cells' friction times the step
  length in metres (row-dependent cell sizes), with early stop.
- :func:`majority_fill_pass`: one pass of the GHSL conditional majority rule.
- :func:`union_find_*`: a tiny disjoint-set forest used by the block labeller.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dijkstra_grid", "majority_fill_pass", "uf_find", "uf_union_pairs"]

_DR = np.array([-1, -1, -1, 0, 0, 1, 1, 1], dtype=np.int64)
_DC = np.array([-1, 0, 1, -1, 1, -1, 0, 1], dtype=np.int64)


@njit(cache=True, nogil=True)
def dijkstra_grid(friction, dx, dy, origins, targets, max_cost):
    """Accumulated cost from ``origins`` (flat indices) over an 8-neighbour grid.

    Parameters
    ----------
    friction : float64 (rows, cols)
        Cost per metre; ``inf`` or NaN cells are impassable.
    dx, dy : float64 (rows,)
        East-west and north-south cell sizes in metres for each row.
    origins : int64 (k,)
        Flat indices of the start cells (cost 0).
    targets : int64 (m,)
        Flat indices; the search stops once all are settled (empty: no early stop).
    max_cost : float
        Cells costlier than this are not expanded (``inf``: no limit).

    Returns
    -------
    cost : float64 (rows, cols), ``inf`` where unreached
    length : float64 (rows, cols), metres along the chosen path
    pred : int64 (rows, cols), flat index of the predecessor, -1 for origins/unreached

    The priority queue is a binary heap with lazy deletion, inlined (no array
    returns in the hot loop).
    """
    rows, cols = friction.shape
    n = rows * cols
    cost = np.full(n, np.inf)
    length = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    fr = friction.ravel()
    is_target = np.zeros(n, dtype=np.bool_)
    remaining = 0
    for t in targets:
        if not is_target[t]:
            is_target[t] = True
            remaining += 1
    # step lengths: horizontal in row r; vertical and diagonal between rows r and r+1
    vstep = np.empty(max(rows - 1, 1))
    dstep = np.empty(max(rows - 1, 1))
    for r in range(rows - 1):
        sx = 0.5 * (dx[r] + dx[r + 1])
        sy = 0.5 * (dy[r] + dy[r + 1])
        vstep[r] = sy
        dstep[r] = np.sqrt(sx * sx + sy * sy)
    cap = 4096
    hk = np.empty(cap, dtype=np.float64)
    hv = np.empty(cap, dtype=np.int64)
    size = 0
    for o in origins:
        if np.isfinite(fr[o]) and cost[o] > 0.0:
            cost[o] = 0.0
            length[o] = 0.0
            if size >= cap:
                cap *= 2
                nk = np.empty(cap, dtype=np.float64)
                nv = np.empty(cap, dtype=np.int64)
                nk[:size] = hk[:size]
                nv[:size] = hv[:size]
                hk = nk
                hv = nv
            i = size
            size += 1
            while i > 0:
                p = (i - 1) >> 1
                if hk[p] <= 0.0:
                    break
                hk[i] = hk[p]
                hv[i] = hv[p]
                i = p
            hk[i] = 0.0
            hv[i] = o
    while size > 0:
        # pop the minimum
        c = hk[0]
        u = hv[0]
        size -= 1
        if size > 0:
            lk = hk[size]
            lv = hv[size]
            i = 0
            while True:
                left = 2 * i + 1
                if left >= size:
                    break
                small = left
                if left + 1 < size and hk[left + 1] < hk[left]:
                    small = left + 1
                if lk <= hk[small]:
                    break
                hk[i] = hk[small]
                hv[i] = hv[small]
                i = small
            hk[i] = lk
            hv[i] = lv
        if done[u] or c > cost[u]:
            continue
        if c > max_cost:
            break
        done[u] = True
        if is_target[u]:
            remaining -= 1
            if remaining == 0:
                break
        r = u // cols
        q = u - r * cols
        fu = fr[u]
        lu = length[u]
        for k in range(8):
            dr = _DR[k]
            dc = _DC[k]
            rr = r + dr
            cc = q + dc
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            v = u + dr * cols + dc
            if done[v]:
                continue
            fv = fr[v]
            if not np.isfinite(fv):
                continue
            if dr == 0:
                step = dx[r]
            elif dc == 0:
                step = vstep[min(r, rr)]
            else:
                step = dstep[min(r, rr)]
            nc = c + 0.5 * (fu + fv) * step
            if nc < cost[v]:
                cost[v] = nc
                length[v] = lu + step
                pred[v] = u
                if size >= cap:
                    cap *= 2
                    nk = np.empty(cap, dtype=np.float64)
                    nv = np.empty(cap, dtype=np.int64)
                    nk[:size] = hk[:size]
                    nv[:size] = hv[:size]
                    hk = nk
                    hv = nv
                i = size
                size += 1
                while i > 0:
                    p = (i - 1) >> 1
                    if hk[p] <= nc:
                        break
                    hk[i] = hk[p]
                    hv[i] = hv[p]
                    i = p
                hk[i] = nc
                hv[i] = v
    return cost.reshape(rows, cols), length.reshape(rows, cols), pred.reshape(rows, cols)


@njit(cache=True, nogil=True)
def trace_length(pred, dx, dy, target):
    """Length in metres of the predecessor path ending at flat index ``target`` (NaN if unreached)."""
    rows, cols = pred.shape
    pf = pred.ravel()
    total = 0.0
    u = target
    steps = 0
    while pf[u] >= 0:
        v = pf[u]
        r, q = u // cols, u % cols
        rv, qv = v // cols, v % cols
        if r == rv:
            total += dx[r]
        elif q == qv:
            total += 0.5 * (dy[r] + dy[rv])
        else:
            sx = 0.5 * (dx[r] + dx[rv])
            sy = 0.5 * (dy[r] + dy[rv])
            total += np.sqrt(sx * sx + sy * sy)
        u = v
        steps += 1
        if steps > rows * cols:
            return np.nan
    return total


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
    cap = 1 << 12
    runs = np.empty((cap, 4), dtype=np.int64)  # row, x_start, x_end, geometry
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
                                    if m >= cap:
                                        cap *= 2
                                        grown = np.empty((cap, 4), dtype=np.int64)
                                        grown[:m] = runs[:m]
                                        runs = grown
                                    runs[m, 0] = y
                                    runs[m, 1] = hx1
                                    runs[m, 2] = hx2
                                    runs[m, 3] = g
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
                    if m >= cap:
                        cap *= 2
                        grown = np.empty((cap, 4), dtype=np.int64)
                        grown[:m] = runs[:m]
                        runs = grown
                    runs[m, 0] = y
                    runs[m, 1] = xs
                    runs[m, 2] = xe
                    runs[m, 3] = g
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
    cap = 1 << 12
    runs = np.empty((cap, 4), dtype=np.int64)
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
            if m >= cap:
                cap *= 2
                grown = np.empty((cap, 4), dtype=np.int64)
                grown[:m] = runs[:m]
                runs = grown
            runs[m, 0] = r
            runs[m, 1] = c
            runs[m, 2] = e
            runs[m, 3] = np.int64(v)
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


@njit(cache=True, nogil=True)
def dijkstra_buckets(friction, dx, dy, origins, targets, max_cost, width, n_buckets):
    """Same result as :func:`dijkstra_grid`, with Dinitz's bucket queue instead of a heap.

    ``width`` must not exceed the cheapest possible step (min friction x min step
    length): then every cell in the lowest non-empty bucket already has its final
    cost (no cheaper path can reach it through a later bucket), so buckets are
    emptied in any order with O(1) queue operations. ``n_buckets`` (circular)
    must exceed the costliest step / ``width`` + 1. Entries are recycled through a
    free list, so memory follows the frontier, not the grid.
    """
    rows, cols = friction.shape
    n = rows * cols
    cost = np.full(n, np.inf)
    length = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    fr = friction.ravel()
    is_target = np.zeros(n, dtype=np.bool_)
    remaining = 0
    for t in targets:
        if not is_target[t]:
            is_target[t] = True
            remaining += 1
    vstep = np.empty(max(rows - 1, 1))
    dstep = np.empty(max(rows - 1, 1))
    for r in range(rows - 1):
        sx = 0.5 * (dx[r] + dx[r + 1])
        sy = 0.5 * (dy[r] + dy[r + 1])
        vstep[r] = sy
        dstep[r] = np.sqrt(sx * sx + sy * sy)
    head = np.full(n_buckets, -1, dtype=np.int64)
    cap = 1 << 14
    ent_node = np.empty(cap, dtype=np.int64)
    ent_next = np.empty(cap, dtype=np.int64)
    free = -1
    used = 0
    pending = 0
    inv_w = 1.0 / width
    for o in origins:
        if np.isfinite(fr[o]) and cost[o] > 0.0:
            cost[o] = 0.0
            length[o] = 0.0
            if used >= cap:
                cap *= 2
                a = np.empty(cap, dtype=np.int64)
                b = np.empty(cap, dtype=np.int64)
                a[:used] = ent_node[:used]
                b[:used] = ent_next[:used]
                ent_node = a
                ent_next = b
            e = used
            used += 1
            ent_node[e] = o
            ent_next[e] = head[0]
            head[0] = e
            pending += 1
    cur = 0  # absolute index of the bucket being emptied
    stop = False
    while pending > 0 and not stop:
        slot = cur % n_buckets
        if cur * width > max_cost:
            break
        while head[slot] >= 0:
            e = head[slot]
            head[slot] = ent_next[e]
            u = ent_node[e]
            ent_next[e] = free
            free = e
            pending -= 1
            if done[u]:
                continue
            c = cost[u]
            if c > max_cost:
                continue
            done[u] = True
            if is_target[u]:
                remaining -= 1
                if remaining == 0:
                    stop = True
                    break
            r = u // cols
            q = u - r * cols
            fu = fr[u]
            lu = length[u]
            for k in range(8):
                dr = _DR[k]
                dc = _DC[k]
                rr = r + dr
                cc = q + dc
                if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                    continue
                v = u + dr * cols + dc
                if done[v]:
                    continue
                fv = fr[v]
                if not np.isfinite(fv):
                    continue
                if dr == 0:
                    step = dx[r]
                elif dc == 0:
                    step = vstep[min(r, rr)]
                else:
                    step = dstep[min(r, rr)]
                nc = c + 0.5 * (fu + fv) * step
                if nc < cost[v]:
                    cost[v] = nc
                    length[v] = lu + step
                    pred[v] = u
                    b_abs = int(nc * inv_w)
                    if b_abs < cur:
                        b_abs = cur  # rounding at a bucket edge: keep it in the current bucket
                    if free >= 0:
                        e = free
                        free = ent_next[e]
                    else:
                        if used >= cap:
                            cap *= 2
                            a = np.empty(cap, dtype=np.int64)
                            b = np.empty(cap, dtype=np.int64)
                            a[:used] = ent_node[:used]
                            b[:used] = ent_next[:used]
                            ent_node = a
                            ent_next = b
                        e = used
                        used += 1
                    s = b_abs % n_buckets
                    ent_node[e] = v
                    ent_next[e] = head[s]
                    head[s] = e
                    pending += 1
        cur += 1
    return cost.reshape(rows, cols), length.reshape(rows, cols), pred.reshape(rows, cols)


@njit(cache=True, nogil=True)
def od_buckets(fpad, pcols, dxr, vext, dext, origin, targets, max_cost, width, n_buckets, grid, done, tgt, touched):
    """Travel time and route length from one origin to ``targets``: :func:`dijkstra_buckets`
    specialised for OD matrices (same arithmetic, so the same costs).

    ``fpad`` is the friction with a one-cell ``inf`` border, flattened (rows of
    ``pcols`` cells, so the inner loop has no bounds checks); ``origin`` and
    ``targets`` are flat indices into it. ``dxr[r]`` is padded row ``r``'s east-west
    step; ``vext[r]``/``dext[r]`` the vertical/diagonal steps between padded rows
    ``r - 1`` and ``r``. The workspace is ``grid`` (``(n, 2)`` float64: cost and
    length of a cell side by side, ``inf``), ``done``/``tgt`` (False) and
    ``touched``; it is reused across origins: only the cells this search reached
    are reset before returning, and no predecessor grid is kept. Each bucket is
    settled in cell order (sorted), so neighbouring cells are mostly in cache.
    Returns ``(minutes, metres)`` per
    target, NaN where not settled (unreachable, beyond ``max_cost``).
    """
    m = targets.shape[0]
    out_c = np.full(m, np.nan)
    out_l = np.full(m, np.nan)
    remaining = 0
    for t in targets:
        if not tgt[t]:
            tgt[t] = True
            remaining += 1
    cap = 1 << 12
    bk = np.empty((n_buckets, cap), dtype=np.int64)
    bcnt = np.zeros(n_buckets, dtype=np.int64)
    n_touched = 0
    pending = 0
    inv_w = 1.0 / width
    if np.isfinite(fpad[origin]) and remaining > 0:
        grid[origin, 0] = 0.0
        grid[origin, 1] = 0.0
        touched[n_touched] = origin
        n_touched += 1
        bk[0, 0] = origin
        bcnt[0] = 1
        pending = 1
    cur = 0
    stop = False
    while pending > 0 and not stop:
        slot = cur % n_buckets
        if cur * width > max_cost:
            break
        while bcnt[slot] > 0 and not stop:
            # settle the bucket in cell order: neighbouring records are then mostly in cache
            batch = np.sort(bk[slot, : bcnt[slot]])
            pending -= bcnt[slot]
            bcnt[slot] = 0
            for u in batch:
                if done[u]:
                    continue
                c = grid[u, 0]
                if c > max_cost:
                    continue
                done[u] = True
                if tgt[u]:
                    remaining -= 1
                    if remaining == 0:
                        stop = True
                        break
                r = u // pcols
                s_row = dxr[r]
                s_up = vext[r]
                s_dn = vext[r + 1]
                d_up = dext[r]
                d_dn = dext[r + 1]
                fu = fpad[u]
                lu = grid[u, 1]
                for k in range(8):
                    dr = _DR[k]
                    dc = _DC[k]
                    v = u + dr * pcols + dc
                    if done[v]:
                        continue
                    fv = fpad[v]
                    if not np.isfinite(fv):
                        continue
                    if dr == 0:
                        step = s_row
                    elif dc == 0:
                        step = s_up if dr < 0 else s_dn
                    else:
                        step = d_up if dr < 0 else d_dn
                    nc = c + 0.5 * (fu + fv) * step
                    cv = grid[v, 0]
                    if nc < cv:
                        if cv == np.inf:
                            touched[n_touched] = v
                            n_touched += 1
                        grid[v, 0] = nc
                        grid[v, 1] = lu + step
                        b_abs = int(nc * inv_w)
                        if cv != np.inf:
                            b_old = int(cv * inv_w)
                            if b_old == b_abs and b_old >= cur:
                                continue  # still queued in that bucket, which reads the cost when it pops
                        if b_abs < cur:
                            b_abs = cur  # rounding at a bucket edge: keep it in the current bucket
                        s = b_abs % n_buckets
                        if bcnt[s] >= cap:
                            grown = np.empty((n_buckets, 2 * cap), dtype=np.int64)
                            for q in range(n_buckets):
                                grown[q, : bcnt[q]] = bk[q, : bcnt[q]]
                            bk = grown
                            cap *= 2
                        bk[s, bcnt[s]] = v
                        bcnt[s] += 1
                        pending += 1
        cur += 1
    for j in range(m):
        t = targets[j]
        if done[t]:
            out_c[j] = grid[t, 0]
            out_l[j] = grid[t, 1]
    for j in range(m):
        tgt[targets[j]] = False
    for i in range(n_touched):
        v = touched[i]
        grid[v, 0] = np.inf
        grid[v, 1] = np.inf
        done[v] = False
    return out_c, out_l
