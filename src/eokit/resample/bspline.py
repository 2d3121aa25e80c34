"""B-spline interpolation of odd orders 3 to 11, with gridr's truncated prefilter.

Interpolating with the B-spline basis of order ``n`` needs the image's
B-spline coefficients first. The exact prefilter is a cascade of ``n // 2``
causal + anti-causal first-order recursive filters, one per pole ``z_k`` of
the B-spline's sampled symbol. As CNES gridr 0.7.0 does (Briand & Monasse,
"Theory and practice of image B-spline interpolation", IPOL 2018,
Algorithm 4), each filter is initialised with a sum truncated after
``N_k(epsilon)`` terms, and the filters run on a domain shrinking by
``N_k`` at each pole, so that the coefficients of the centre of an array
are exact to ``epsilon`` given a margin ``L_0(n, epsilon)`` of samples
around them. The outer ``L_0 - n // 2`` samples of the array get no
reliable coefficient and are invalid.

A source pixel that is invalid influences the coefficients around it with
a weight decaying as ``|z_0|^d``; as in gridr, invalid pixels are dilated
(Manhattan distance) by ``ln(threshold) / ln|z_0|``, where
``threshold = mask_influence_threshold``.

This module holds the constants and the prefilter; the interpolation
kernels live in :mod:`eokit.resample._kernels`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from typing import Any, cast

import numpy as np
from numba import njit

from eokit.errors import InvalidInputError
from eokit.resample._placement import run_blocks

__all__ = [
    "BSPLINE_OPTIONS",
    "ORDERS",
    "bspline_options",
    "check_size",
    "domain_extension",
    "influence_radius",
    "poles",
    "prefilter",
    "prefilter_mask",
    "total_margin",
    "truncation_index",
]

#: B-spline orders available (gridr's BSpline3Interpolator ... BSpline11Interpolator).
ORDERS = (3, 5, 7, 9, 11)
#: gridr's interpolator keyword arguments for B-splines, with eokit's defaults.
BSPLINE_OPTIONS = {"epsilon": 1e-6, "mask_influence_threshold": 0.001}


def bspline_options(interp_kwargs: dict[str, Any] | None, name: str = "bspline3") -> dict[str, float]:
    """Validated ``epsilon`` (prefilter precision, 0 < e < 1) and ``mask_influence_threshold`` (0 < s <= 1)."""
    opts = dict(BSPLINE_OPTIONS)
    for key, value in (interp_kwargs or {}).items():
        if key not in opts:
            raise InvalidInputError(
                f"unknown option {key!r} for {name}; expected {sorted(BSPLINE_OPTIONS)}",
                param="interp_kwargs",
            )
        try:
            opts[key] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{key} must be a number, got {value!r}", param=key) from None
    if not 0.0 < opts["epsilon"] < 1.0:
        raise InvalidInputError(f"epsilon must be in (0, 1), got {opts['epsilon']!r}", param="epsilon")
    if not 0.0 < opts["mask_influence_threshold"] <= 1.0:
        raise InvalidInputError(
            f"mask_influence_threshold must be in (0, 1], got {opts['mask_influence_threshold']!r}",
            param="mask_influence_threshold",
        )
    return opts


def _bspline_at_integers(n: int) -> list[Fraction]:
    """Exact samples ``beta_n(k)``, k = -(n-1)/2 .. (n-1)/2, of the centred B-spline of odd order ``n``."""
    # beta_n(x) = 1/n! sum_j (-1)^j C(n+1, j) max(0, x + (n+1)/2 - j)^n, exact in rationals
    half = (n + 1) // 2
    out = []
    for k in range(-(n - 1) // 2, (n - 1) // 2 + 1):
        s = Fraction(0)
        for j in range(n + 2):
            d = k + half - j
            if d > 0:
                s += (-1) ** j * math.comb(n + 1, j) * Fraction(d) ** n
        out.append(s / math.factorial(n))
    return out


@cache
def poles(n: int) -> tuple[float, ...]:
    """Poles ``z_k`` (in (-1, 0), largest magnitude first) of the order-``n`` prefilter."""
    if n not in ORDERS:
        raise InvalidInputError(f"B-spline order must be one of {ORDERS}, got {n}", param="interp")
    coeffs = [float(c) for c in _bspline_at_integers(n)]
    roots = np.roots(coeffs[::-1])
    inside = sorted((float(r.real) for r in roots if abs(r) < 1.0), key=lambda z: -abs(z))
    return tuple(inside)


@cache
def truncation_index(n: int, epsilon: float) -> tuple[int, ...]:
    """Terms ``N_k`` kept in the initial sum of the filter of each pole for a precision ``epsilon``."""
    z = poles(n)
    nt = n // 2
    mu = [0.0] * nt
    acc = 0.0
    for k in range(1, nt):
        acc += 1.0 / math.log(-z[k - 1])
        lg = math.log(-z[k])
        mu[k] = lg * acc / (1.0 + lg * acc)
    rho = 1.0
    for k in range(nt):
        rho *= (1.0 + z[k]) / (1.0 - z[k])
    rho *= rho
    ln_eps = math.log(0.5 * rho * rho * epsilon)
    out = [0] * nt
    prod = 1.0
    for i in range(nt - 1, -1, -1):
        num = ln_eps + math.log((1.0 - z[i]) * (1.0 - mu[i]) * prod)
        out[i] = 1 + math.floor(num / math.log(-z[i]))
        prod *= mu[i]
    return tuple(out)


@cache
def domain_extension(n: int, epsilon: float) -> tuple[int, ...]:
    """Extents ``L_0 >= L_1 >= ... >= L_{n//2} = n // 2`` of the shrinking prefilter domains."""
    trunc = truncation_index(n, epsilon)
    nt = n // 2
    ext = [0] * (nt + 1)
    ext[nt] = nt
    for i in range(nt - 1, -1, -1):
        ext[i] = ext[i + 1] + trunc[i]
    return tuple(ext)


def total_margin(n: int, epsilon: float) -> int:
    """Source margin (pixels, each side) a B-spline of order ``n`` needs: prefilter and kernel (gridr's)."""
    return domain_extension(n, epsilon)[0]


def influence_radius(n: int, threshold: float) -> float:
    """Distance beyond which an invalid pixel's weight in the coefficients is below ``threshold``."""
    if threshold >= 1.0:
        return 0.0
    return math.log(threshold) / math.log(-poles(n)[0])


@njit(cache=True, nogil=True, inline="always")
def _filter_cols(a: np.ndarray, alpha: float, start: int, count: int, n0: int, c0: int, c1: int) -> None:
    """The truncated causal + anti-causal filter along axis 0 of ``a[start:start+count, c0:c1]``.

    The columns are independent recurrences run side by side (contiguous, vectorised inner loops).
    """
    s = start + n0
    e = start + count - 1 - n0
    right = np.zeros(c1 - c0)
    p = 1.0
    for i in range(1, n0 + 1):
        p *= alpha
        for c in range(c0, c1):
            a[s, c] += a[s - i, c] * p
            right[c - c0] += a[e + i, c] * p
    for i in range(s + 1, e + 1):
        for c in range(c0, c1):
            a[i, c] += alpha * a[i - 1, c]
    g = alpha / (alpha * alpha - 1.0)
    for c in range(c0, c1):
        a[e, c] = g * (a[e, c] + right[c - c0])
    for i in range(e - 1, s - 1, -1):
        for c in range(c0, c1):
            a[i, c] = alpha * (a[i + 1, c] - a[i, c])


@njit(cache=True, nogil=True, inline="always")
def _filter_rows(a: np.ndarray, alpha: float, start: int, count: int, n0: int, r0: int, r1: int) -> None:
    """The same filter along axis 1 of ``a[r0:r1, start:start+count]``.

    The rows' recurrences are interleaved (row index innermost), so several run at once instead of
    waiting on one another's latency; their cache lines stay in L1 from one column to the next.
    """
    s = start + n0
    e = start + count - 1 - n0
    nr = r1 - r0
    right = np.zeros(nr)
    p = 1.0
    for i in range(1, n0 + 1):
        p *= alpha
        for r in range(r0, r1):
            a[r, s] += a[r, s - i] * p
            right[r - r0] += a[r, e + i] * p
    for i in range(s + 1, e + 1):
        for r in range(r0, r1):
            a[r, i] += alpha * a[r, i - 1]
    g = alpha / (alpha * alpha - 1.0)
    for r in range(r0, r1):
        a[r, e] = g * (a[r, e] + right[r - r0])
    for i in range(e - 1, s - 1, -1):
        for r in range(r0, r1):
            a[r, i] = alpha * (a[r, i + 1] - a[r, i])


# Columns per block of the axis-0 filter (a block's passes stay in L2) and rows per block of the
# axis-1 filter (interleaved recurrences).
_COL_BLOCK = 128
_ROW_BLOCK = 16


@njit(cache=True, nogil=True)
def _load(
    src: np.ndarray, rows: np.ndarray, cols: np.ndarray, c_lo: int, gain: float, data: np.ndarray, first: int, last: int
) -> None:
    """``data[i, j] = gain * src[rows[i], cols[j]]`` as float64 for rows ``first..last-1``, 0 where an index
    is -1 (one pass, any dtype). The source's own columns (from ``c_lo`` on) are copied without the table."""
    nc = data.shape[1]
    c_hi = c_lo + src.shape[1]
    for i in range(first, last):
        r = rows[i]
        if r < 0:
            for j in range(nc):
                data[i, j] = 0.0
            continue
        for j in range(c_lo):
            data[i, j] = gain * src[r, cols[j]] if cols[j] >= 0 else 0.0
        for j in range(c_lo, c_hi):
            data[i, j] = gain * src[r, j - c_lo]
        for j in range(c_hi, nc):
            data[i, j] = gain * src[r, cols[j]] if cols[j] >= 0 else 0.0


@njit(cache=True, nogil=True)
def _filter_axis0(data: np.ndarray, z: np.ndarray, trunc: np.ndarray, ext: np.ndarray, first: int, last: int) -> None:
    """The filter along axis 0 of ``data`` (rows, cols), in place, for column blocks ``first..last-1``."""
    nr, nc = data.shape
    l0 = ext[0]
    for blk in range(first, last):
        c0 = blk * _COL_BLOCK
        c1 = min(c0 + _COL_BLOCK, nc)
        for k in range(z.shape[0]):
            jump = l0 - ext[k]
            _filter_cols(data, z[k], jump, nr - 2 * jump, trunc[k], c0, c1)


@njit(cache=True, nogil=True)
def _filter_axis1(
    data: np.ndarray,
    z: np.ndarray,
    trunc: np.ndarray,
    ext: np.ndarray,
    crop: np.ndarray,
    out: np.ndarray,
    first: int,
    last: int,
) -> None:
    """The filter along axis 1 for the row blocks ``first..last-1`` of the rows kept (a crop is at least
    the unreliable border), in place; ``out`` receives those rows without ``crop`` (top, bottom, left,
    right), copied while they are still in cache."""
    nr, nc = data.shape
    l0 = ext[0]
    ct, cl = crop[0], crop[2]
    for blk in range(first, last):
        r0 = ct + blk * _ROW_BLOCK
        r1 = min(r0 + _ROW_BLOCK, nr - crop[1])
        for k in range(z.shape[0]):
            jump = l0 - ext[k]
            _filter_rows(data, z[k], jump, nc - 2 * jump, trunc[k], r0, r1)
        for r in range(r0, r1):
            for c in range(out.shape[1]):
                out[r - ct, c] = data[r, cl + c]


def _pad_index(n: int, widths: tuple[int, int], mode: str | None) -> np.ndarray:
    """Index of the source position at every position of ``n`` positions padded by numpy.pad ``mode`` (-1: zero)."""
    if mode in (None, "constant"):
        return np.pad(np.arange(n), widths, mode="constant", constant_values=-1)
    return np.pad(np.arange(n), widths, mode=cast(Any, mode))


def check_size(shape: tuple[int, int], n: int, epsilon: float) -> None:
    """Refuse a (padded) array too small to prefilter: it needs more than twice ``total_margin`` each way."""
    l0 = total_margin(n, epsilon)
    if shape[0] <= 2 * l0 or shape[1] <= 2 * l0:
        raise InvalidInputError(
            f"a {shape[0]} x {shape[1]} array is too small to prefilter for bspline{n} "
            f"(needs more than {2 * l0} pixels each way at epsilon={epsilon:g})",
            param="array_in",
        )


def prefilter(
    src: np.ndarray,
    n: int,
    epsilon: float,
    *,
    pad: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
    mode: str | None = None,
    crop: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """float64 B-spline coefficients of order ``n`` of a (bands, rows, cols) source, padded, then cropped.

    The source (any numeric dtype) is padded by ``pad`` (numpy.pad widths along rows and columns)
    with the numpy.pad ``mode`` (``None``: zeros), in the same pass that converts it to float64.
    The outer ``total_margin(n, epsilon) - n // 2`` rows and columns of the padded array get no
    reliable coefficient (see :func:`prefilter_mask`): they are cropped, or more with ``crop``
    (top, bottom, left, right; each at least that border). The padded array must be larger than
    twice ``total_margin``. The coefficients are scaled so that the normalised B-spline weights
    apply (gridr scales its weights by n! instead).
    """
    ext = domain_extension(n, epsilon)
    l0 = ext[0]
    (top, bottom), (left, right) = pad
    nr, nc = src.shape[1] + top + bottom, src.shape[2] + left + right
    check_size((nr, nc), n, epsilon)
    border = l0 - n // 2
    cut = np.array((border,) * 4 if crop is None else crop, np.int64)
    if cut.min() < border or cut[0] + cut[1] >= nr or cut[2] + cut[3] >= nc:
        raise InvalidInputError(
            f"crop {tuple(cut)} must be at least the border {border} and leave something", param="crop"
        )
    # index of the source row/column at every padded position (-1: a constant zero)
    rows = _pad_index(src.shape[1], (top, bottom), mode)
    cols = _pad_index(src.shape[2], (left, right), mode)
    z = np.array(poles(n), np.float64)
    trunc = np.array(truncation_index(n, epsilon), np.int64)
    ext_a = np.array(ext, np.int64)
    gain = float(math.factorial(n)) ** 2
    data = np.empty((nr, nc))
    out = np.empty((src.shape[0], nr - cut[0] - cut[1], nc - cut[2] - cut[3]))
    # on threads (nogil kernels), blocks handed out dynamically: see _placement.run_blocks
    ncb = (nc + _COL_BLOCK - 1) // _COL_BLOCK
    nrb = (nr - cut[0] - cut[1] + _ROW_BLOCK - 1) // _ROW_BLOCK
    for band in range(src.shape[0]):
        run_blocks(_load, (src[band], rows, cols, left, gain, data), nr, 64)
        run_blocks(_filter_axis0, (data, z, trunc, ext_a), ncb, ncb)
        run_blocks(_filter_axis1, (data, z, trunc, ext_a, cut, out[band]), nrb, nrb)
    return out


def prefilter_mask(mask: np.ndarray, n: int, epsilon: float, threshold: float) -> np.ndarray:
    """uint8 validity of the coefficients: invalid pixels dilated by the influence radius, border invalid."""
    from scipy.ndimage import binary_erosion, generate_binary_structure

    radius = math.floor(influence_radius(n, threshold) + 1e-12)
    valid = mask != 0
    if radius > 0 and not valid.all():
        valid = binary_erosion(valid, generate_binary_structure(2, 1), iterations=radius, border_value=1)
    out = valid.astype(np.uint8)
    border = total_margin(n, epsilon) - n // 2
    out[:border] = 0
    out[out.shape[0] - border :] = 0
    out[:, :border] = 0
    out[:, out.shape[1] - border :] = 0
    return out
