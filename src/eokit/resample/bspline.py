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
from typing import Any

import numpy as np
from numba import njit, prange

from eokit.errors import InvalidInputError

__all__ = [
    "BSPLINE_OPTIONS",
    "ORDERS",
    "bspline_options",
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


@njit(cache=True, nogil=True)
def _filter_cols(a: np.ndarray, alpha: float, start: int, count: int, n0: int) -> None:
    """The truncated causal + anti-causal filter along axis 0 of ``a[start:start+count]``, all columns at once."""
    nc = a.shape[1]
    s = start + n0
    e = start + count - 1 - n0
    right = np.zeros(nc)
    p = 1.0
    for i in range(1, n0 + 1):
        p *= alpha
        for c in range(nc):
            a[s, c] += a[s - i, c] * p
            right[c] += a[e + i, c] * p
    for i in range(s + 1, e + 1):
        for c in range(nc):
            a[i, c] += alpha * a[i - 1, c]
    g = alpha / (alpha * alpha - 1.0)
    for c in range(nc):
        a[e, c] = g * (a[e, c] + right[c])
    for i in range(e - 1, s - 1, -1):
        for c in range(nc):
            a[i, c] = alpha * (a[i + 1, c] - a[i, c])


@njit(cache=True, nogil=True, inline="always")
def _filter_line(a: np.ndarray, alpha: float, start: int, count: int, n0: int) -> None:
    """The truncated causal + anti-causal filter on ``a[start:start+count]`` (1-D)."""
    s = start + n0
    e = start + count - 1 - n0
    left = a[s]
    right = 0.0
    p = 1.0
    for i in range(1, n0 + 1):
        p *= alpha
        left += a[s - i] * p
        right += a[e + i] * p
    a[s] = left
    for i in range(s + 1, e + 1):
        left = a[i] + alpha * left
        a[i] = left
    right = alpha / (alpha * alpha - 1.0) * (left + right)
    a[e] = right
    for i in range(e - 1, s - 1, -1):
        right = alpha * (right - a[i])
        a[i] = right


@njit(cache=True, nogil=True, parallel=True)
def _prefilter(
    data: np.ndarray, z: np.ndarray, trunc: np.ndarray, ext: np.ndarray, gain: float, col_blocks: int
) -> None:
    """In place on float64 (bands, rows, cols): rows of every column, then columns of the inner rows."""
    nb, nr, nc = data.shape
    nt = z.shape[0]
    l0 = ext[0]
    inner = l0 - ext[nt]
    for b in range(nb):
        band = data[b]
        # along axis 0, column blocks in parallel (contiguous rows inside each block)
        for blk in prange(col_blocks):
            c0 = blk * nc // col_blocks
            c1 = (blk + 1) * nc // col_blocks
            view = band[:, c0:c1]
            for k in range(nt):
                jump = l0 - ext[k]
                _filter_cols(view, z[k], jump, nr - 2 * jump, trunc[k])
        for r in prange(inner, nr - inner):
            row = band[r]
            for k in range(nt):
                jump = l0 - ext[k]
                _filter_line(row, z[k], jump, nc - 2 * jump, trunc[k])
            for c in range(nc):
                row[c] *= gain
        for r in range(0, inner):
            band[r] *= gain
        for r in range(nr - inner, nr):
            band[r] *= gain


def prefilter(src: np.ndarray, n: int, epsilon: float) -> np.ndarray:
    """float64 B-spline coefficients of order ``n`` of a (bands, rows, cols) source (a new array).

    The outer ``total_margin(n, epsilon) - n // 2`` rows and columns are not
    reliable (see :func:`prefilter_mask`); the array must be larger than
    twice ``total_margin``. The coefficients are scaled so that the
    normalised B-spline weights apply (gridr scales its weights by n! instead).
    """
    ext = domain_extension(n, epsilon)
    l0 = ext[0]
    if src.shape[1] <= 2 * l0 or src.shape[2] <= 2 * l0:
        raise InvalidInputError(
            f"a {src.shape[1]} x {src.shape[2]} array is too small to prefilter for bspline{n} "
            f"(needs more than {2 * l0} pixels each way at epsilon={epsilon:g})",
            param="array_in",
        )
    data = np.array(src, dtype=np.float64, order="C", copy=True)
    z = np.array(poles(n), np.float64)
    trunc = np.array(truncation_index(n, epsilon), np.int64)
    _prefilter(data, z, trunc, np.array(ext, np.int64), float(math.factorial(n)) ** 2, 8)
    return data


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
