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
def _heap_push(hk, hv, size, key, val):
    if size >= hk.shape[0]:
        nk = np.empty(hk.shape[0] * 2, dtype=hk.dtype)
        nv = np.empty(hv.shape[0] * 2, dtype=hv.dtype)
        nk[:size] = hk[:size]
        nv[:size] = hv[:size]
        hk, hv = nk, nv
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return hk, hv, size + 1


@njit(cache=True, nogil=True)
def _heap_pop(hk, hv, size):
    key = hk[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        small = left
        right = left + 1
        if right < size and hk[right] < hk[left]:
            small = right
        if hk[i] <= hk[small]:
            break
        hk[i], hk[small] = hk[small], hk[i]
        hv[i], hv[small] = hv[small], hv[i]
        i = small
    return key, val, size


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
    hk = np.empty(1024, dtype=np.float64)
    hv = np.empty(1024, dtype=np.int64)
    size = 0
    for o in origins:
        if np.isfinite(fr[o]) and cost[o] > 0.0:
            cost[o] = 0.0
            length[o] = 0.0
            hk, hv, size = _heap_push(hk, hv, size, 0.0, o)
    while size > 0:
        c, u, size = _heap_pop(hk, hv, size)
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
        for k in range(8):
            rr = r + _DR[k]
            cc = q + _DC[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            v = rr * cols + cc
            if done[v]:
                continue
            fv = fr[v]
            if not np.isfinite(fv):
                continue
            if _DR[k] == 0:
                step = dx[r]
            elif _DC[k] == 0:
                step = 0.5 * (dy[r] + dy[rr])
            else:
                sx = 0.5 * (dx[r] + dx[rr])
                sy = 0.5 * (dy[r] + dy[rr])
                step = np.sqrt(sx * sx + sy * sy)
            nc = c + 0.5 * (fu + fv) * step
            if nc < cost[v]:
                cost[v] = nc
                length[v] = length[u] + step
                pred[v] = u
                hk, hv, size = _heap_push(hk, hv, size, nc, v)
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
