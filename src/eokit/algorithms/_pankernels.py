"""Fused kernel-mean-ratio pansharpening kernel (numba; no files, no CRS).

One pass down each column strip: each input row's multispectral mean and the
horizontal box sums of that mean and of the pan band (float64) go into a ring of
2h+2 rows; running vertical box sums then give the local means, and the gain and
the sharpened bands are computed straight into the output. Strips of ~2048
columns keep the rings in L2; each input row is summed once per strip (plus the
2h halo columns), and nothing image-sized is allocated besides the output.

Valid-pixel counts are only summed for rows holding a non-finite value; for
all-finite windows the count is the (edge-cut) window area, known in closed form.
"""

from __future__ import annotations

import numba
import numpy as np

from eokit.algorithms._kernels import in_row_chunks

__all__ = ["kernel_mean_ratio"]

_STRIP = 2048  # output columns per strip


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _hbox(
    row: np.ndarray, a0: int, a1: int, h: int, fv: np.ndarray, s: np.ndarray, n: np.ndarray
) -> bool:  # pragma: no cover - numba
    """Box sums (width 2h+1, cut at a0/a1) of the finite values of ``row[a0:a1]`` into ``s``.

    Returns whether any value was non-finite; only then are the valid counts written to ``n``.
    """
    w = a1 - a0
    src = row[a0:a1]
    bad = 0
    zero = np.float32(0.0)
    for c in range(w):
        v = src[c]
        ok = np.isfinite(v)
        fv[c] = v if ok else zero
        bad += 0 if ok else 1
    s[:w] = zero
    j = -h
    while j + 1 <= h:  # two shifted copies per pass: half the loads and stores of the sums
        c0 = max(0, -j)
        c1 = min(w, w - j - 1)
        sa = fv[c0 + j : c1 + j]
        sb = fv[c0 + j + 1 : c1 + j + 1]
        ds = s[c0:c1]
        for c in range(c1 - c0):
            ds[c] += sa[c] + sb[c]
        ca = -j - 1  # the column whose first copy falls off the left edge
        if 0 <= ca < w:
            s[ca] += fv[0]
        cb = w - j - 1  # the column whose second copy falls off the right edge
        if 0 <= cb < w:
            s[cb] += fv[w - 1]
        j += 2
    if j == h:
        c0 = max(0, -j)
        c1 = min(w, w - j)
        sa = fv[c0 + j : c1 + j]
        ds = s[c0:c1]
        for c in range(c1 - c0):
            ds[c] += sa[c]
    if bad:
        n[:w] = zero
        for j in range(-h, h + 1):
            c0 = max(0, -j)
            c1 = min(w, w - j)
            sv = src[c0 + j : c1 + j]
            dn = n[c0:c1]
            for c in range(c1 - c0):
                dn[c] += np.float32(1.0) if np.isfinite(sv[c]) else zero
    return bad > 0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _add_row(
    ms: np.ndarray,
    pan: np.ndarray,
    q: int,
    a0: int,
    a1: int,
    h: int,
    slot: int,
    mean: np.ndarray,
    hs: np.ndarray,
    hn: np.ndarray,
    bad: np.ndarray,
    fv: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Band mean of row ``q`` (columns a0..a1) and the box sums of it and of pan into ring slot ``slot``."""
    nb = ms.shape[0]
    w = a1 - a0
    mrow = mean[slot]
    first = ms[0, q, a0:a1]
    for c in range(w):
        mrow[c] = first[c]
    for j in range(1, nb):
        src = ms[j, q, a0:a1]
        for c in range(w):
            mrow[c] += src[c]
    fnb = np.float32(nb)
    for c in range(w):
        mrow[c] = mrow[c] / fnb  # as numpy's float32 mean
    bad[0, slot] = _hbox(mrow, 0, w, h, fv, hs[0, slot], hn[0, slot])
    bad[1, slot] = _hbox(pan[q], a0, a1, h, fv, hs[1, slot], hn[1, slot])


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _window_row(hs, hn, bad, vs, vn, nbad, slot, w, sign):  # pragma: no cover - numba
    """Add (``sign`` 1) or remove (-1) ring row ``slot``'s horizontal sums (and valid counts) to the window's."""
    for i in range(2):
        sv, dv = hs[i, slot], vs[i]
        if sign > 0:
            for c in range(w):
                dv[c] += sv[c]
        else:
            for c in range(w):
                dv[c] -= sv[c]
        if bad[i, slot]:
            nbad[i] += sign
            sn, dn = hn[i, slot], vn[i]
            if sign > 0:
                for c in range(w):
                    dn[c] += sn[c]
            else:
                for c in range(w):
                    dn[c] -= sn[c]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sharpen_strip(
    ms: np.ndarray,
    pan: np.ndarray,
    h: int,
    out: np.ndarray,
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    mean: np.ndarray,
    hs: np.ndarray,
    hn: np.ndarray,
    bad: np.ndarray,
    vs: np.ndarray,
    vn: np.ndarray,
    fv: np.ndarray,
    ratio: np.ndarray,
    width: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Output rows r0..r1, columns c0..c1; rings of 2h+2 rows over input columns c0-h..c1+h."""
    nb, rows, cols = ms.shape
    ring = mean.shape[0]
    a0, a1 = max(0, c0 - h), min(cols, c1 + h)
    w = a1 - a0
    o0 = c0 - a0  # output column c0 in strip coordinates
    wo = c1 - c0
    for c in range(w):  # horizontal window widths, cut at the array edge
        width[c] = np.float64(min(a0 + c + h, cols - 1) - max(a0 + c - h, 0) + 1)
    vs[:, :w] = 0.0
    vn[:, :w] = 0.0
    nrows = 0  # rows in the vertical window
    nbad = np.zeros(2, np.int64)  # rows in the window with non-finite values (mean, pan)
    for q in range(max(0, r0 - h), min(rows, r0 + h + 1)):
        slot = q % ring
        _add_row(ms, pan, q, a0, a1, h, slot, mean, hs, hn, bad, fv)
        nrows += 1
        _window_row(hs, hn, bad, vs, vn, nbad, slot, w, 1)
    for r in range(r0, r1):
        if r > r0:  # slide the vertical window by one row
            old, new = r - h - 1, r + h
            if old >= 0:
                slot = old % ring
                nrows -= 1
                _window_row(hs, hn, bad, vs, vn, nbad, slot, w, -1)
            if new < rows:
                slot = new % ring
                _add_row(ms, pan, new, a0, a1, h, slot, mean, hs, hn, bad, fv)
                nrows += 1
                _window_row(hs, hn, bad, vs, vn, nbad, slot, w, 1)
        mrow = mean[r % ring]
        prow = pan[r, c0:c1]
        sm, sp = vs[0, o0 : o0 + wo], vs[1, o0 : o0 + wo]
        wd = width[o0 : o0 + wo]
        # valid counts: closed form (window area) unless a row in the window had non-finite values
        # (their counts were summed, and the all-finite rows' widths are added here)
        if nbad[0] == 0 and nbad[1] == 0:
            for c in range(wo):
                ratio[c] = (sm[c] * np.float64(prow[c])) / (sp[c] * np.float64(mrow[o0 + c]))
        else:
            fm = np.float64(nrows - nbad[0])
            fp = np.float64(nrows - nbad[1])
            nm, np_ = vn[0, o0 : o0 + wo], vn[1, o0 : o0 + wo]
            for c in range(wo):
                cm = nm[c] + fm * wd[c]
                cp = np_[c] + fp * wd[c]
                q = (sm[c] * cp * np.float64(prow[c])) / (cm * sp[c] * np.float64(mrow[o0 + c]))
                ratio[c] = q if (cm > 0.5 and cp > 0.5) else np.nan
        for j in range(nb):
            src = ms[j, r, c0:c1]
            dst = out[j, r, c0:c1]
            for c in range(wo):
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
        wmax = min(cols, _STRIP + 2 * h)
        mean = np.empty((ring, wmax), dtype=np.float32)
        hs = np.empty((2, ring, wmax), dtype=np.float32)  # horizontal sums: float32, 16 lanes
        hn = np.empty((2, ring, wmax), dtype=np.float32)
        bad = np.zeros((2, ring), dtype=np.bool_)
        vs = np.empty((2, wmax), dtype=np.float64)
        vn = np.empty((2, wmax), dtype=np.float64)
        fv = np.empty(wmax, dtype=np.float32)
        ratio = np.empty(wmax, dtype=np.float64)
        width = np.empty(wmax, dtype=np.float64)
        for c0 in range(0, cols, _STRIP):
            _sharpen_strip(ms, pan, h, out, r0, r1, c0, min(cols, c0 + _STRIP), mean, hs, hn, bad, vs, vn, fv,
                           ratio, width)  # fmt: skip

    in_row_chunks(run, rows, ms.size * (k + 4))
