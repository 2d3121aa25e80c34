"""Fused kernel-mean-ratio pansharpening kernel (numba; no files, no CRS).

One pass over the rows: each input row's multispectral mean and horizontal box
sums (values and valid counts, float64) go into a ring of 2h+2 rows; running
vertical box sums then give the local means, and the gain and the sharpened
bands are computed straight into the output. Each input row is summed once and
nothing image-sized is allocated besides the output.
"""

from __future__ import annotations

import numba
import numpy as np

from eokit.algorithms._kernels import in_row_chunks

__all__ = ["kernel_mean_ratio"]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _hbox(
    row: np.ndarray, h: int, fv: np.ndarray, fc: np.ndarray, s: np.ndarray, n: np.ndarray
) -> None:  # pragma: no cover
    """k = 2h+1 box sum of the finite values of ``row`` and their count (cut at the edges), vectorised."""
    cols = row.shape[0]
    bad = 0
    for c in range(cols):
        v = np.float64(row[c])
        ok = np.isfinite(v)
        fv[c] = v if ok else 0.0
        fc[c] = 1.0 if ok else 0.0
        bad += 0 if ok else 1
    s[:] = 0.0
    if bad == 0:  # all finite: the counts are the window widths cut at the edges
        for c in range(cols):
            n[c] = np.float64(min(c + h, cols - 1) - max(c - h, 0) + 1)
    else:
        n[:] = 0.0
    for j in range(-h, h + 1):
        c0 = max(0, -j)
        c1 = min(cols, cols - j)
        src_v = fv[c0 + j : c1 + j]
        dst_s = s[c0:c1]
        for c in range(c1 - c0):
            dst_s[c] += src_v[c]
        if bad:
            src_c = fc[c0 + j : c1 + j]
            dst_n = n[c0:c1]
            for c in range(c1 - c0):
                dst_n[c] += src_c[c]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _add_row(
    ms: np.ndarray,
    pan: np.ndarray,
    q: int,
    h: int,
    slot: int,
    mean: np.ndarray,
    hs: np.ndarray,
    fv: np.ndarray,
    fc: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Mean of the bands of row ``q`` and its horizontal box sums into ring slot ``slot``."""
    nb, _, cols = ms.shape
    mrow = mean[slot]
    mrow[:] = ms[0, q]
    for j in range(1, nb):
        src = ms[j, q]
        for c in range(cols):
            mrow[c] += src[c]
    fnb = np.float32(nb)
    for c in range(cols):
        mrow[c] = mrow[c] / fnb  # as numpy's float32 mean
    _hbox(mrow, h, fv, fc, hs[0, slot], hs[1, slot])
    _hbox(pan[q], h, fv, fc, hs[2, slot], hs[3, slot])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _accumulate(vs: np.ndarray, hs: np.ndarray, slot: int, sign: float) -> None:  # pragma: no cover - numba
    cols = vs.shape[1]
    for i in range(4):
        src = hs[i, slot]
        dst = vs[i]
        for c in range(cols):
            dst[c] += sign * src[c]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sharpen_rows(
    ms: np.ndarray,
    pan: np.ndarray,
    h: int,
    out: np.ndarray,
    r0: int,
    r1: int,
    mean: np.ndarray,
    hs: np.ndarray,
    vs: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Output rows r0..r1; ``mean``/``hs`` are rings of 2h+2 rows, so each input row is summed once."""
    nb, rows, cols = ms.shape
    ring = mean.shape[0]
    fv = np.empty(cols, dtype=np.float64)
    fc = np.empty(cols, dtype=np.float64)
    ratio = np.empty(cols, dtype=np.float64)
    vs[:, :] = 0.0
    for q in range(max(0, r0 - h), min(rows, r0 + h + 1)):
        _add_row(ms, pan, q, h, q % ring, mean, hs, fv, fc)
        _accumulate(vs, hs, q % ring, 1.0)
    for r in range(r0, r1):
        if r > r0:  # slide the vertical window by one row
            old, new = r - h - 1, r + h
            if old >= 0:
                _accumulate(vs, hs, old % ring, -1.0)
            if new < rows:
                _add_row(ms, pan, new, h, new % ring, mean, hs, fv, fc)
                _accumulate(vs, hs, new % ring, 1.0)
        mrow = mean[r % ring]
        prow = pan[r]
        sm, nm, sp, np_ = vs[0], vs[1], vs[2], vs[3]
        for c in range(cols):
            # (sm/nm) / (sp/np) * pan / mean with one division; NaN for an empty window
            q = (sm[c] * np_[c] * np.float64(prow[c])) / (nm[c] * sp[c] * np.float64(mrow[c]))
            ratio[c] = q if (nm[c] > 0.5 and np_[c] > 0.5) else np.nan
        for j in range(nb):
            src = ms[j, r]
            dst = out[j, r]
            for c in range(cols):
                o = np.float32(np.float64(src[c]) * ratio[c])
                dst[c] = o if np.isfinite(o) else np.float32(np.nan)


def kernel_mean_ratio(ms: np.ndarray, pan: np.ndarray, k: int, out: np.ndarray) -> None:
    """``out = ms / mean(ms) * pan * boxmean(mean(ms)) / boxmean(pan)`` over a k x k window (NaN-aware).

    ``ms`` (bands, rows, cols) and ``pan`` (rows, cols) float32; ``out`` like ``ms``.
    Box means ignore non-finite pixels and are cut at the array edge; non-finite
    results become NaN.
    """
    ms = np.ascontiguousarray(ms, dtype=np.float32)
    pan = np.ascontiguousarray(pan, dtype=np.float32)
    rows, cols = pan.shape
    h = k // 2

    def run(r0: int, r1: int) -> None:
        ring = 2 * h + 2
        mean = np.empty((ring, cols), dtype=np.float32)
        hs = np.empty((4, ring, cols), dtype=np.float64)
        vs = np.empty((4, cols), dtype=np.float64)
        _sharpen_rows(ms, pan, h, out, r0, r1, mean, hs, vs)

    in_row_chunks(run, rows, ms.size * (k + 4))
