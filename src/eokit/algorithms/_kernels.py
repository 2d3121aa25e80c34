"""numpy / numba kernels for :mod:`eokit.algorithms` (no CRS, no files).

The distance kernel is an exact, capped Euclidean distance transform in metres
for grids whose pixel width varies per row (geographic CRSs): a horizontal pass
finds, per row, the nearest masked column; a vertical pass combines rows with
their metre offsets. The horizontal offset is measured with the pixel width of
the *source* row, which makes the metric separable and the result exact for it.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["capped_distance", "row_nearest"]


@numba.njit(cache=True, nogil=True)
def row_nearest(mask: np.ndarray, cap: int) -> np.ndarray:  # pragma: no cover - numba
    """Distance in columns to the nearest ``True`` in the same row (``inf`` beyond ``cap``)."""
    rows, cols = mask.shape
    out = np.full((rows, cols), np.inf)
    for r in range(rows):
        last = -(1 << 60)
        for c in range(cols):
            if mask[r, c]:
                last = c
            d = c - last
            if d <= cap:
                out[r, c] = d
        last = 1 << 60
        for c in range(cols - 1, -1, -1):
            if mask[r, c]:
                last = c
            d = last - c
            if d <= cap and d < out[r, c]:
                out[r, c] = d
    return out


@numba.njit(cache=True, nogil=True)
def _vertical(g: np.ndarray, y: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:  # pragma: no cover
    rows, cols = g.shape
    out = np.empty((rows, cols), dtype=np.float64)
    r2 = radius * radius
    for r in range(rows):
        lo = r
        while lo > 0 and y[r] - y[lo - 1] <= radius:
            lo -= 1
        hi = r
        while hi < rows - 1 and y[hi + 1] - y[r] <= radius:
            hi += 1
        dxr = dx[r]
        for c in range(cols):
            best = r2
            for k in range(lo, hi + 1):
                gk = g[k, c]
                if gk == np.inf:
                    continue
                dy = y[k] - y[r]
                h = gk * dxr
                d2 = dy * dy + h * h
                if d2 < best:
                    best = d2
            out[r, c] = np.sqrt(best)
    return out


def capped_distance(mask: np.ndarray, y: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean distance in metres from each pixel to the nearest ``True`` of ``mask``, capped at ``radius``.

    ``y`` holds each row's centre position in metres along the column (increasing),
    ``dx`` each row's pixel width in metres.
    """
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    dx = np.ascontiguousarray(dx, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    cap = int(np.ceil(radius / max(float(dx.min()), 1e-12))) if dx.size else 0
    g = row_nearest(mask, cap)
    return _vertical(g, y, dx, float(radius))
