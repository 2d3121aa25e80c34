"""Cubic B-spline interpolation with an exact prefilter (gridr's ``bspline3``).

Interpolating with the cubic B-spline basis needs the image's B-spline
coefficients first: the prefilter (Unser's recursive filter, here
:func:`scipy.ndimage.spline_filter`, exact to rounding; gridr truncates it
at a precision ``epsilon``). The coefficients of a symmetric or periodic
extension of the image are the same extension of the coefficients, so a
boundary condition extends the coefficient array like numpy.pad would; for
``edge`` and ``constant`` the image is padded before filtering, as scipy does.
The result equals ``scipy.ndimage.map_coordinates(order=3, prefilter=True)``
with the matching mode.

A masked source pixel influences coefficients around it with a weight that
decays as ``|z|^d`` (``z = sqrt(3) - 2``); as in gridr, invalid pixels are
dilated (Manhattan distance) by the radius where that weight falls below
``mask_influence_threshold``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from eokit.errors import InvalidInputError

__all__ = [
    "BSPLINE_OPTIONS",
    "SCIPY_MODES",
    "bspline_options",
    "influence_radius",
    "prefilter",
    "spread_invalid",
]

#: Dominant pole of the cubic B-spline prefilter.
POLE = math.sqrt(3.0) - 2.0
#: gridr's interpolator keyword arguments for B-splines, with eokit's defaults.
BSPLINE_OPTIONS = {"epsilon": 1e-6, "mask_influence_threshold": 0.001}
#: scipy.ndimage mode equivalent to each boundary condition (numpy.pad mode); None = outside invalid.
SCIPY_MODES = {
    None: "mirror",
    "reflect": "mirror",
    "symmetric": "reflect",
    "wrap": "grid-wrap",
    "edge": "nearest",
    "constant": "grid-constant",
}
# image padding before filtering for the modes whose extension is not inherited by the coefficients
# (scipy pads by 12 as well)
_PREPAD = 12


def bspline_options(interp_kwargs: dict[str, Any] | None) -> dict[str, float]:
    """Validated ``epsilon`` (prefilter precision, 0 < e < 1) and ``mask_influence_threshold`` (0 < s <= 1)."""
    opts = dict(BSPLINE_OPTIONS)
    for key, value in (interp_kwargs or {}).items():
        if key not in opts:
            raise InvalidInputError(
                f"interp_kwargs: unknown option {key!r} for bspline3; expected {sorted(BSPLINE_OPTIONS)}"
            )
        try:
            opts[key] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"interp_kwargs: {key} must be a number, got {value!r}") from None
    if not 0.0 < opts["epsilon"] < 1.0:
        raise InvalidInputError(f"interp_kwargs: epsilon must be in (0, 1), got {opts['epsilon']!r}")
    if not 0.0 < opts["mask_influence_threshold"] <= 1.0:
        raise InvalidInputError(
            f"interp_kwargs: mask_influence_threshold must be in (0, 1], got {opts['mask_influence_threshold']!r}"
        )
    return opts


def influence_radius(threshold: float) -> int:
    """Distance beyond which a pixel's weight in the coefficients is below ``threshold`` (ln s / ln |z|)."""
    if threshold >= 1.0:
        return 0
    return math.ceil(math.log(threshold) / math.log(abs(POLE)) - 1e-12)


def spread_invalid(mask: np.ndarray, radius: int) -> np.ndarray:
    """uint8 validity with invalid pixels dilated by ``radius`` (Manhattan distance)."""
    if radius <= 0 or mask.all():
        return mask
    from scipy.ndimage import binary_erosion, generate_binary_structure

    valid = binary_erosion(mask != 0, generate_binary_structure(2, 1), iterations=radius, border_value=1)
    return valid.astype(np.uint8)


def prefilter(src: np.ndarray, boundary_condition: str | None, pad: int) -> np.ndarray:
    """float64 B-spline coefficients of a (bands, rows, cols) source, extended by ``pad`` on each side."""
    from scipy.ndimage import spline_filter

    mode = SCIPY_MODES[boundary_condition]
    out = np.empty((src.shape[0], src.shape[1] + 2 * pad, src.shape[2] + 2 * pad), np.float64)
    for b in range(src.shape[0]):
        band = np.asarray(src[b], dtype=np.float64)
        if mode in ("nearest", "grid-constant"):
            p = _PREPAD + pad
            padded = np.pad(band, p, mode="edge" if mode == "nearest" else "constant")
            coef = spline_filter(padded, order=3, output=np.float64, mode=mode)
            out[b] = coef[_PREPAD : coef.shape[0] - _PREPAD, _PREPAD : coef.shape[1] - _PREPAD]
        else:
            coef = spline_filter(band, order=3, output=np.float64, mode=mode)
            out[b] = np.pad(coef, pad, mode=boundary_condition) if pad else coef
    return out
