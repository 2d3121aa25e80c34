"""numpy / numba kernels for :mod:`eokit.algorithms` (no CRS, no files).

The distance kernel is an exact, capped Euclidean distance transform in metres
for grids whose pixel width varies per row (geographic CRSs): a horizontal pass
finds, per row, the nearest masked column; a vertical pass combines rows with
their metre offsets. The horizontal offset is measured with the pixel width of
the *source* row, which makes the metric separable and the result exact for it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

_WINDOW_ROWS_MAX = 64  # beyond this reach (rows each side) the lower-envelope pass is cheaper

__all__ = [
    "affine_nodata",
    "brovey_ratio",
    "capped_distance",
    "flat_chunks",
    "in_row_chunks",
    "qa_bits",
    "row_nearest",
    "valid_range",
]


@numba.njit(cache=True, nogil=True)
def _nearest_in_row(mrow: np.ndarray, cap: int, orow: np.ndarray) -> None:  # pragma: no cover - numba
    cols = mrow.shape[0]
    last = -(1 << 60)
    for c in range(cols):
        if mrow[c]:
            last = c
        d = c - last
        orow[c] = d if d <= cap else np.inf
    last = 1 << 60
    for c in range(cols - 1, -1, -1):
        if mrow[c]:
            last = c
        d = last - c
        if d <= cap and d < orow[c]:
            orow[c] = d


@numba.njit(cache=True, nogil=True)
def row_nearest(mask: np.ndarray, cap: int, out: np.ndarray, r0: int, r1: int) -> None:  # pragma: no cover - numba
    """Distance in columns to the nearest ``True`` in the same row (``inf`` beyond ``cap``), rows r0..r1."""
    for r in range(r0, r1):
        _nearest_in_row(mask[r], cap, out[r])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _near_shifts(m8: np.ndarray, cap: int, g8: np.ndarray) -> None:  # pragma: no cover - numba
    """Columns to the nearest masked pixel of the row ``m8`` (uint8 0/1), 255 beyond ``cap`` (< 255).

    A min over the 2 cap shifted copies of the row: 64 uint8 lanes per AVX-512 instruction, no
    loop-carried dependency (the two-scan :func:`_nearest_in_row` is one pixel per step).
    """
    cols = m8.shape[0]
    far = np.uint8(255)
    for c in range(cols):
        g8[c] = np.uint8(0) if m8[c] else far
    for s in range(1, min(cap, cols - 1) + 1):
        sv = np.uint8(s)
        lo, hi = g8[s:], g8[: cols - s]
        left, right = m8[: cols - s], m8[s:]
        for c in range(cols - s):
            v = sv if left[c] else far
            lo[c] = v if v < lo[c] else lo[c]
        for c in range(cols - s):
            v = sv if right[c] else far
            hi[c] = v if v < hi[c] else hi[c]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "nsz"})
def _banded_window(
    m8: np.ndarray,
    y: np.ndarray,
    dx: np.ndarray,
    radius: float,
    cap: int,
    out: np.ndarray,
    r0: int,
    r1: int,
    band: int,
    g: np.ndarray,
    best: np.ndarray,
    g8: np.ndarray,
    uniform: bool,
) -> None:  # pragma: no cover - numba
    """Rows r0..r1 of the capped distance, band by band: the horizontal pass for the band plus its halo
    rows into the float32 scratch ``g``, then a row-major scan of the rows within ``radius``
    (vectorised over columns, 16 float32 lanes). No full-size intermediate.

    With a ``uniform`` pixel width ``g`` holds squared horizontal metres; otherwise column
    counts, scaled by the output row's pixel width in the scan. ``cap`` must be < 255.
    """
    rows, cols = m8.shape
    r2 = np.float32(radius * radius)
    rad = np.float32(radius)
    inf = np.float32(np.inf)
    dx0 = np.float32(dx[0])
    ctile = 2048  # columns per pass: the running minimum stays in L1
    for b0 in range(r0, r1, band):
        b1 = min(b0 + band, r1)
        lo = b0
        while lo > 0 and y[b0] - y[lo - 1] <= radius:
            lo -= 1
        hi = b1 - 1
        while hi < rows - 1 and y[hi + 1] - y[b1 - 1] <= radius:
            hi += 1
        for k in range(lo, hi + 1):
            _near_shifts(m8[k], cap, g8)
            gk = g[k - lo]
            for c in range(cols):
                h = np.float32(g8[c]) * dx0
                v = h * h if uniform else np.float32(g8[c])
                gk[c] = inf if g8[c] == 255 else v
        for c0 in range(0, cols, ctile):  # column tiles outermost: the band's tile stays in L2
            c1 = min(c0 + ctile, cols)
            bt = best[: c1 - c0]
            for r in range(b0, b1):
                klo = r
                while klo > 0 and y[r] - y[klo - 1] <= radius:
                    klo -= 1
                khi = r
                while khi < rows - 1 and y[khi + 1] - y[r] <= radius:
                    khi += 1
                dxr = np.float32(dx[r])
                bt[:] = r2
                for k in range(klo, khi + 1):
                    dy = y[k] - y[r]
                    dy2 = np.float32(dy * dy)
                    gk = g[k - lo, c0:c1]
                    if uniform:
                        for c in range(c1 - c0):
                            d2 = dy2 + gk[c]
                            bt[c] = d2 if d2 < bt[c] else bt[c]
                    else:
                        for c in range(c1 - c0):
                            h = gk[c] * dxr
                            d2 = dy2 + h * h
                            bt[c] = d2 if d2 < bt[c] else bt[c]
                oc = out[r, c0:c1]
                for c in range(c1 - c0):
                    d = np.sqrt(bt[c])
                    oc[c] = d if d < rad else rad  # sqrt(f32(r^2)) may round above r


@numba.njit(cache=True, nogil=True)
def _vertical_row(
    g: np.ndarray, y: np.ndarray, dx: np.ndarray, radius: float, r: int, out: np.ndarray
) -> None:  # pragma: no cover
    rows, cols = g.shape
    r2 = radius * radius
    r = np.int64(r)  # type: ignore[assignment]  # a prange index may arrive unsigned; keep index arithmetic signed
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
            gk = np.float64(g[k, c])
            if gk == np.inf:
                continue
            dy = y[k] - y[r]
            h = gk * dxr
            d2 = dy * dy + h * h
            if d2 < best:
                best = d2
        out[r, c] = np.sqrt(best)


@numba.njit(cache=True, nogil=True)
def _vertical(
    g: np.ndarray, y: np.ndarray, dx: np.ndarray, radius: float, out: np.ndarray, r0: int, r1: int
) -> None:  # pragma: no cover
    for r in range(r0, r1):
        _vertical_row(g, y, dx, radius, r, out)


@numba.njit(cache=True, nogil=True)
def _envelope_cols(
    gt: np.ndarray, y: np.ndarray, dx: float, radius: float, out_t: np.ndarray, c0: int, c1: int
) -> None:  # pragma: no cover
    """Exact vertical pass for uniform pixel width: 1-D lower envelope of parabolas (Felzenszwalb & Huttenlocher).

    ``gt`` is the horizontal-pass result transposed (columns x rows); each output row of
    ``out_t`` is one column of the distance image.
    """
    n = gt.shape[1]
    v = np.empty(n, dtype=np.int64)
    z = np.empty(n + 1, dtype=np.float64)
    fv = np.empty(n, dtype=np.float64)
    for c in range(c0, c1):
        row = gt[c]
        k = -1
        for q in range(n):
            gq = np.float64(row[q])
            if gq == np.inf:
                continue
            h = gq * dx
            fq = h * h
            if k < 0:
                k = 0
                v[0] = q
                fv[0] = fq
                z[0] = -np.inf
                z[1] = np.inf
                continue
            while True:
                p = v[k]
                sx = ((fq + y[q] * y[q]) - (fv[k] + y[p] * y[p])) / (2.0 * y[q] - 2.0 * y[p])
                if sx <= z[k] and k > 0:
                    k -= 1
                    continue
                if sx <= z[k]:  # k == 0: the new parabola dominates everywhere
                    v[0] = q
                    fv[0] = fq
                    z[0] = -np.inf
                    z[1] = np.inf
                    break
                k += 1
                v[k] = q
                fv[k] = fq
                z[k] = sx
                z[k + 1] = np.inf
                break
        if k < 0:
            for r in range(n):
                out_t[c, r] = radius
            continue
        j = 0
        for r in range(n):
            while z[j + 1] < y[r]:
                j += 1
            dy = y[r] - y[v[j]]
            d = np.sqrt(dy * dy + fv[j])
            out_t[c, r] = d if d < radius else radius


def capped_distance(mask: np.ndarray, y: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean distance in metres from each pixel to the nearest ``True`` of ``mask``, capped at ``radius``.

    ``y`` holds each row's centre position in metres along the column (increasing),
    ``dx`` each row's pixel width in metres.
    """
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    dx = np.ascontiguousarray(dx, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    cap = int(np.ceil(radius / max(float(dx.min()), 1e-12))) if dx.size else 0
    rows, cols = mask.shape
    # rows within ``radius`` of a row (one side): the vertical scan costs that many passes per row
    idx = np.arange(rows)
    reach = 0
    if rows:
        down = np.searchsorted(y, y + radius, side="right") - idx
        up = idx - np.searchsorted(y, y - radius, side="left")
        reach = int(max(down.max(), up.max()))
    if reach <= _WINDOW_ROWS_MAX and cap < 255:
        out = np.empty(mask.shape, dtype=np.float32)
        band = 128
        m8 = mask.view(np.uint8)
        uniform = bool(dx.size and np.all(dx == dx[0]))

        def run(r0: int, r1: int) -> None:
            g = np.empty((min(band + 2 * reach + 4, rows), cols), dtype=np.float32)
            best = np.empty(min(cols, 2048), dtype=np.float32)
            g8 = np.empty(cols, dtype=np.uint8)
            _banded_window(m8, y, dx, float(radius), cap, out, r0, r1, band, g, best, g8, uniform)

        in_row_chunks(run, rows, mask.size * (2 * reach + 1))
        return out
    g = np.empty(mask.shape, dtype=np.float32)
    in_row_chunks(lambda r0, r1: row_nearest(mask, cap, g, r0, r1), rows, mask.size)
    if dx.size and np.all(dx == dx[0]):
        # uniform pixel width (projected grids), long reach: O(n) lower envelope per column
        gt = np.ascontiguousarray(g.T)
        del g
        out_t = np.empty(gt.shape, dtype=np.float32)
        in_row_chunks(lambda c0, c1: _envelope_cols(gt, y, float(dx[0]), float(radius), out_t, c0, c1),
                      gt.shape[0], mask.size * 4)  # fmt: skip
        return np.ascontiguousarray(out_t.T)
    out = np.empty(mask.shape, dtype=np.float32)
    in_row_chunks(lambda r0, r1: _vertical(g, y, dx, float(radius), out, r0, r1), rows, mask.size * 8)
    return out


def in_row_chunks(func: Callable[[int, int], None], n: int, work: int, *, min_work: int = 2_000_000) -> None:
    """Run ``func(start, stop)`` over ``0..n`` split into pieces run on threads (the kernels release the GIL).

    Plain Python threads rather than numba's parallel backend, so forked processes stay safe.
    """
    threads = min(os.cpu_count() or 1, max(1, work // min_work), n) if n > 0 else 1
    if threads <= 1:
        func(0, n)
        return
    # a few pieces per thread, taken from a queue: a core shared with other work does not hold up the rest
    pieces = min(n, threads * 8, max(threads, work // (4 * min_work)))
    bounds = np.linspace(0, n, pieces + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(func, int(a), int(b)) for a, b in itertools.pairwise(bounds)]:
            f.result()


@numba.njit(cache=True, nogil=True)
def affine_nodata(
    x: np.ndarray, mult: float, add: float, nodata: float, has_nodata: bool, fill: float, out: np.ndarray
) -> None:  # pragma: no cover
    """``out = x * mult + add`` over flat arrays; NaN or ``nodata`` inputs give ``fill``."""
    n = x.size
    for i in range(n):
        v = np.float64(x[i])
        if v != v or (has_nodata and v == nodata):
            out[i] = fill
        else:
            out[i] = v * mult + add


@numba.njit(cache=True, nogil=True)
def qa_bits(x: np.ndarray, bits: int, conf_level: int, out: np.ndarray) -> None:  # pragma: no cover
    """``(x & bits) != 0`` or cloud confidence (bits 8-9) >= ``conf_level`` (0 = ignore), flat arrays."""
    n = x.size
    for i in range(n):
        v = np.int64(x[i])
        m = (v & bits) != 0
        if conf_level > 0 and ((v >> 8) & 3) >= conf_level:
            m = True
        out[i] = m


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "nsz"})
def brovey_ratio(
    ms: np.ndarray, pan: np.ndarray, w: np.ndarray, out: np.ndarray, start: int, stop: int
) -> None:  # pragma: no cover
    """``out[j] = ms[j] * (pan / (sum(w ms) / sum(w)))`` over flat float32 ``(bands, n)`` bands, pixels start..stop.

    One fused float32 pass in cache-sized tiles (weights ``w`` float32); NaN where the intensity is 0.
    """
    nb = ms.shape[0]
    wsum = np.float32(0.0)
    for j in range(nb):
        wsum += w[j]
    inv = np.float32(1.0) / wsum
    tile = 2048
    acc = np.empty(tile, dtype=np.float32)
    for t0 in range(start, stop, tile):
        m = min(tile, stop - t0)
        a = acc[:m]
        row = ms[0, t0 : t0 + m]
        w0 = w[0]
        for i in range(m):
            a[i] = w0 * row[i]
        for j in range(1, nb):
            wj = w[j]
            row = ms[j, t0 : t0 + m]
            for i in range(m):
                a[i] += wj * row[i]
        p = pan[t0 : t0 + m]
        for i in range(m):
            inten = a[i] * inv
            a[i] = p[i] / inten if inten != 0 else np.float32(np.nan)
        for j in range(nb):
            row = ms[j, t0 : t0 + m]
            orow = out[j, t0 : t0 + m]
            for i in range(m):
                orow[i] = row[i] * a[i]


def flat_chunks(func: Callable[[slice], None], n: int, *, cost: int = 1) -> None:
    """Run ``func(slice)`` over ``0..n`` in contiguous pieces on threads (see :func:`in_row_chunks`)."""
    in_row_chunks(lambda a, b: func(slice(a, b)), n, n * cost)


@numba.njit(cache=True, nogil=True)
def _minmax(x: np.ndarray, nodata: float, has_nodata: bool) -> tuple[float, float, int]:  # pragma: no cover
    lo, hi, n = np.inf, -np.inf, 0
    for i in range(x.size):
        v = np.float64(x[i])
        if v != v or (has_nodata and v == nodata):
            continue
        n += 1
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    return lo, hi, n


def valid_range(x: np.ndarray, nodata: float | None = None) -> tuple[float, float, bool]:
    """``(min, max, any_valid)`` of the values that are neither NaN nor ``nodata``.

    Without a nodata value this is numpy's SIMD ``fmin``/``fmax`` reductions (NaN-skipping);
    with one, a threaded compiled pass.
    """
    flat = np.ascontiguousarray(x).ravel()
    has = nodata is not None and not np.isnan(nodata)
    if flat.size == 0:
        return np.inf, -np.inf, False
    if not has:
        if flat.dtype.kind == "f":
            lo, hi = float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))
            return (np.inf, -np.inf, False) if np.isnan(lo) else (lo, hi, True)
        return float(flat.min()), float(flat.max()), True
    parts: list[tuple[float, float, int]] = []

    def run(s: slice) -> None:
        parts.append(_minmax(flat[s], float(nodata if nodata is not None else 0.0), True))

    flat_chunks(run, flat.size)
    count = sum(p[2] for p in parts)
    return min(p[0] for p in parts), max(p[1] for p in parts), count > 0
