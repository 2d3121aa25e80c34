"""Independent pure-numpy references for the resampling tests (no eokit kernel code)."""

from __future__ import annotations

import numpy as np


def full_res_coords(grid_row, grid_col, resolution, win=None):
    """Full-resolution coordinates and node validity weights, bilinear in the coarse grid (numpy)."""
    rr, rc = resolution
    nr, nc = grid_row.shape
    h, w = (nr - 1) * rr + 1, (nc - 1) * rc + 1
    if win is None:
        win = ((0, h - 1), (0, w - 1))
    i = np.arange(win[0][0], win[0][1] + 1)
    j = np.arange(win[1][0], win[1][1] + 1)
    gi, ti = i // rr, (i % rr) / rr
    gj, tj = j // rc, (j % rc) / rc
    gi1 = np.minimum(gi + 1, nr - 1)
    gj1 = np.minimum(gj + 1, nc - 1)

    def interp(g):
        a = g[np.ix_(gi, gj)]
        b = g[np.ix_(gi, gj1)]
        c = g[np.ix_(gi1, gj)]
        d = g[np.ix_(gi1, gj1)]
        top = (1 - tj)[None, :] * a + tj[None, :] * b
        bot = (1 - tj)[None, :] * c + tj[None, :] * d
        return (1 - ti)[:, None] * top + ti[:, None] * bot

    return interp(grid_row), interp(grid_col), (gi, ti, gj, tj, gi1, gj1)


def node_ok(node_valid, parts):
    """Pixel validity from coarse node validity: every node with non-zero weight valid."""
    gi, ti, gj, tj, gi1, gj1 = parts
    v = node_valid.astype(bool)
    ok = v[np.ix_(gi, gj)].copy()
    ok &= v[np.ix_(gi, gj1)] | (tj[None, :] == 0)
    ok &= v[np.ix_(gi1, gj)] | (ti[:, None] == 0)
    ok &= v[np.ix_(gi1, gj1)] | (ti[:, None] == 0) | (tj[None, :] == 0)
    return ok


def keys(d, a=-0.5):
    """Keys cubic convolution kernel, piecewise textbook form."""
    d = np.abs(d)
    return np.where(
        d <= 1,
        (a + 2) * d**3 - (a + 3) * d**2 + 1,
        np.where(d < 2, a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a, 0.0),
    )


def lanczos3(d):
    d = np.abs(d)
    return np.where(d < 3, np.sinc(d) * np.sinc(d / 3), 0.0)


def sample(src, y, x, kind, mask=None):
    """Sample a 2-D ``src`` at coordinates (y, x); returns values and validity (all taps with w != 0 inside/valid)."""
    src = np.asarray(src, dtype=np.float64)
    h, w = src.shape
    if kind == "nearest":
        iy = np.floor(y + 0.5).astype(np.int64)
        ix = np.floor(x + 0.5).astype(np.int64)
        ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        cy, cx = np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)
        if mask is not None:
            ok &= mask[cy, cx] != 0
        return src[cy, cx], ok
    fy, fx = np.floor(y), np.floor(x)
    ty, tx = y - fy, x - fx
    if kind == "linear":
        offs = np.arange(0, 2)
        wfun = lambda d: np.maximum(0.0, 1.0 - np.abs(d))  # noqa: E731
    elif kind == "cubic":
        offs = np.arange(-1, 3)
        wfun = keys
    else:
        offs = np.arange(-2, 4)
        wfun = lanczos3
    wy = np.stack([wfun(ty - o) for o in offs])
    wx = np.stack([wfun(tx - o) for o in offs])
    if kind == "lanczos3":
        wy = wy / wy.sum(axis=0)
        wx = wx / wx.sum(axis=0)
    acc = np.zeros(y.shape)
    ok = np.ones(y.shape, bool)
    for a, oy in enumerate(offs):
        for b, ox in enumerate(offs):
            wt = wy[a] * wx[b]
            ry = fy.astype(np.int64) + oy
            cx = fx.astype(np.int64) + ox
            inside = (ry >= 0) & (ry < h) & (cx >= 0) & (cx < w)
            used = wt != 0
            ok &= inside | ~used
            vy, vx = np.clip(ry, 0, h - 1), np.clip(cx, 0, w - 1)
            if mask is not None:
                ok &= (mask[vy, vx] != 0) | ~used
            acc += np.where(used, wt * src[vy, vx], 0.0)
    return acc, ok
