"""Fused kernel-mean-ratio pansharpening kernel (numba; no files, no CRS).

One pass per band of output rows: the multispectral mean and the horizontal
box sums (values and valid counts, float64) for the band plus its halo rows go
into small scratch buffers, then running vertical box sums, the local means,
the gain and the sharpened bands are computed straight into the output.
Nothing image-sized is allocated besides the output.
"""

from __future__ import annotations

import numba
import numpy as np

from eokit.algorithms._kernels import in_row_chunks

__all__ = ["kernel_mean_ratio"]


@numba.njit(inline="always", error_model="numpy")
def _hbox(
    row: np.ndarray, h: int, fv: np.ndarray, fc: np.ndarray, s: np.ndarray, n: np.ndarray
) -> None:  # pragma: no cover
    """k = 2h+1 box sum of the finite values of ``row`` and their count (cut at the edges), vectorised."""
    cols = row.shape[0]
    for c in range(cols):
        v = np.float64(row[c])
        ok = np.isfinite(v)
        fv[c] = v if ok else 0.0
        fc[c] = 1.0 if ok else 0.0
    s[:] = 0.0
    n[:] = 0.0
    for j in range(-h, h + 1):
        c0 = max(0, -j)
        c1 = min(cols, cols - j)
        src_v = fv[c0 + j : c1 + j]
        src_c = fc[c0 + j : c1 + j]
        dst_s = s[c0:c1]
        dst_n = n[c0:c1]
        for c in range(c1 - c0):
            dst_s[c] += src_v[c]
            dst_n[c] += src_c[c]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sharpen_rows(
    ms: np.ndarray,
    pan: np.ndarray,
    h: int,
    out: np.ndarray,
    r0: int,
    r1: int,
    band: int,
    mean: np.ndarray,
    hs: np.ndarray,
    vs: np.ndarray,
) -> None:  # pragma: no cover - numba
    nb, rows, cols = ms.shape
    fnb = np.float32(nb)
    fv = np.empty(cols, dtype=np.float64)
    fc = np.empty(cols, dtype=np.float64)
    ratio = np.empty(cols, dtype=np.float64)
    for b0 in range(r0, r1, band):
        b1 = min(b0 + band, r1)
        lo = max(0, b0 - h)
        hi = min(rows, b1 + h)
        for q in range(lo, hi):
            mrow = mean[q - lo]
            mrow[:] = ms[0, q]
            for j in range(1, nb):
                src = ms[j, q]
                for c in range(cols):
                    mrow[c] += src[c]
            for c in range(cols):
                mrow[c] = mrow[c] / fnb  # as numpy's float32 mean
            _hbox(mrow, h, fv, fc, hs[0, q - lo], hs[1, q - lo])
            _hbox(pan[q], h, fv, fc, hs[2, q - lo], hs[3, q - lo])
        # vertical box sums: the full window for the band's first row, then running updates
        vs[:, :] = 0.0
        for q in range(max(lo, b0 - h), min(hi, b0 + h + 1)):
            for i in range(4):
                src = hs[i, q - lo]
                dst = vs[i]
                for c in range(cols):
                    dst[c] += src[c]
        for r in range(b0, b1):
            if r > b0:
                add, sub = r + h, r - h - 1
                for i in range(4):
                    dst = vs[i]
                    if add < hi:
                        src = hs[i, add - lo]
                        for c in range(cols):
                            dst[c] += src[c]
                    if sub >= lo:
                        src = hs[i, sub - lo]
                        for c in range(cols):
                            dst[c] -= src[c]
            mrow = mean[r - lo]
            prow = pan[r]
            sm, nm, sp, np_ = vs[0], vs[1], vs[2], vs[3]
            for c in range(cols):
                # (sm/nm) / (sp/np) * pan / mean with one division; an empty window gives 0/0 = NaN
                ratio[c] = (sm[c] * np_[c] * np.float64(prow[c])) / (nm[c] * sp[c] * np.float64(mrow[c]))
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
    band = 32

    def run(r0: int, r1: int) -> None:
        span = min(band + 2 * h, rows)
        mean = np.empty((span, cols), dtype=np.float32)
        hs = np.empty((4, span, cols), dtype=np.float64)
        vs = np.empty((4, cols), dtype=np.float64)
        _sharpen_rows(ms, pan, h, out, r0, r1, band, mean, hs, vs)

    in_row_chunks(run, rows, ms.size * (k + 4))
