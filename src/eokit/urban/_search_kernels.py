"""numba kernels for eokit.urban's travel times: shortest paths over friction grids.

- :func:`dijkstra_grid`: single-origin accumulated cost over an 8-neighbour
  grid whose step cost is the mean of the two cells' friction times the step
  length in metres (row-dependent cell sizes), with early stop (binary heap).
- :func:`dijkstra_buckets`: the same result with a bucket queue.
- :func:`od_buckets`: the bucket search specialised for origin-destination matrices.
- :func:`trace_length`: path length along a predecessor grid.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from eokit.urban._kernels import _DC, _DR

__all__ = ["dijkstra_buckets", "dijkstra_grid", "od_buckets", "trace_length"]


@njit(cache=True, nogil=True)
def _mark_targets(targets, n):
    """A boolean mask of the ``n`` cells flagging ``targets`` and how many distinct targets there are."""
    is_target = np.zeros(n, dtype=np.bool_)
    remaining = 0
    for t in targets:
        if not is_target[t]:
            is_target[t] = True
            remaining += 1
    return is_target, remaining


@njit(cache=True, nogil=True)
def _row_steps(dx, dy):
    """Vertical and diagonal step lengths between rows ``r`` and ``r + 1`` (horizontal steps are ``dx[r]``)."""
    rows = dx.shape[0]
    vstep = np.empty(max(rows - 1, 1))
    dstep = np.empty(max(rows - 1, 1))
    for r in range(rows - 1):
        sx = 0.5 * (dx[r] + dx[r + 1])
        sy = 0.5 * (dy[r] + dy[r + 1])
        vstep[r] = sy
        dstep[r] = np.sqrt(sx * sx + sy * sy)
    return vstep, dstep


@njit(cache=True, nogil=True)
def _search_state(n):
    """Fresh ``cost``, ``length`` (inf), ``pred`` (-1) and ``done`` (False) arrays for ``n`` cells."""
    return (
        np.full(n, np.inf),
        np.full(n, np.inf),
        np.full(n, -1, dtype=np.int64),
        np.zeros(n, dtype=np.bool_),
    )


@njit(cache=True, nogil=True)
def _grown(a, b, used):
    """``a`` and ``b`` copied into arrays of twice the capacity (their first ``used`` entries kept)."""
    na = np.empty(2 * a.shape[0], dtype=a.dtype)
    nb = np.empty(2 * b.shape[0], dtype=b.dtype)
    na[:used] = a[:used]
    nb[:used] = b[:used]
    return na, nb


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
    cost, length, pred, done = _search_state(n)
    fr = friction.ravel()
    is_target, remaining = _mark_targets(targets, n)
    vstep, dstep = _row_steps(dx, dy)
    cap = 4096
    hk = np.empty(cap, dtype=np.float64)
    hv = np.empty(cap, dtype=np.int64)
    size = 0
    for o in origins:
        if np.isfinite(fr[o]) and cost[o] > 0.0:
            cost[o] = 0.0
            length[o] = 0.0
            if size >= cap:
                hk, hv = _grown(hk, hv, size)
                cap = hk.shape[0]
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
                    hk, hv = _grown(hk, hv, size)
                    cap = hk.shape[0]
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
    cost, length, pred, done = _search_state(n)
    fr = friction.ravel()
    is_target, remaining = _mark_targets(targets, n)
    vstep, dstep = _row_steps(dx, dy)
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
                ent_node, ent_next = _grown(ent_node, ent_next, used)
                cap = ent_node.shape[0]
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
                            ent_node, ent_next = _grown(ent_node, ent_next, used)
                            cap = ent_node.shape[0]
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
